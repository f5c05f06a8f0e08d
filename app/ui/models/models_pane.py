"""The Models pane: what is installed, what the Hub has, what is downloading, and which model knows your text best.

Every Hub call and every scan runs in the background; the pane only shows and asks.
Its tabs live in their own modules: ``library_view.py`` (Library), ``hub_view.py``
(Get models, mixed in), ``compare_view.py`` (Compare) and the servers' view; the
library table and Compare's list show the one ``ModelListModel`` over the ``ModelList``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QShowEvent
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from app.core.model_list import ModelList, ModelListChange
from app.core.ports import JobRunnerPort, ModelEntry, ModelManagerPort
from app.core.storage import Storage
from app.ui.flow_layout import scrolling
from app.ui.jobs import run_in_background
from app.ui.model_list_model import ComparableModels, LocalModels, ModelListModel
from app.ui.models.compare_view import CompareView
from app.ui.models.connections_view import ConnectionsView
from app.ui.models.embedding_view import EmbeddingPicker
from app.ui.models.hub_view import SORTS, HubTab
from app.ui.models.library_view import LibraryView

__all__ = ["SORTS", "ModelsPane"]


class ModelsPane(HubTab, QWidget):
    """Library, Hub, downloads, compare, and the remote servers (``connections``) when given."""

    library_changed = Signal()
    """The library was scanned (the models themselves are announced by the model list)."""
    use_model_requested = Signal(str)
    """Load this model file."""
    status_message = Signal(str)
    """A short line for the status bar."""
    search_finished = Signal()
    """A Hub search ended: its results, or why there are none, are shown."""
    files_shown = Signal()
    """A repo's files are shown."""
    comparison_finished = Signal(list)
    """Perplexity rows are shown (a comparison ended, done or cancelled)."""
    download_finished = Signal(object)
    """A download reached done / failed / cancelled."""
    embedding_choice_changed = Signal()
    """The embedding model sources use was chosen (saved already)."""
    session_changed = Signal()
    """(Pane protocol) never emitted: this pane has no session with sampling settings."""
    preview_changed = Signal()
    """(Pane protocol) never emitted: there is no text to continue here."""

    def __init__(self, manager: ModelManagerPort, storage: Storage, jobs: JobRunnerPort, n_ctx: Callable[[], int],
                 free_vram: Callable[[], int] = lambda: 0, connections: ConnectionsView | None = None,
                 parent: QWidget | None = None, *, model_list: ModelList | None = None,
                 list_model: ModelListModel | None = None) -> None:
        super().__init__(parent)
        self.connections = connections
        self.manager = manager
        self.storage = storage
        self.jobs = jobs
        self.n_ctx = n_ctx
        self.free_vram = free_vram
        self.model_list = model_list if model_list is not None else ModelList()  # the one list of models
        # the one Qt model of the list (the window's, which its model selector shows); the Size column's fit badge is ours
        self.list_model = list_model if list_model is not None else ModelListModel(self.model_list, parent=self)
        self.list_model.size_note = self._fit_badge
        self.setAcceptDrops(True)
        self._build()
        self._connect_signals()
        self.model_list.subscribe(self._on_model_list_changed)
        self.refresh_library()
        self._show_catalog()
        for d in self.manager.restore_downloads():
            self.downloads_view.update_download(d)
        self._show_offline_state()

    # -- the Pane protocol: nothing to edit or preview here ----------------------------------

    def sampling_owner(self) -> None:
        return None

    def preview_request(self) -> None:
        return None

    def flush(self) -> None:
        pass

    def stop(self) -> None:
        pass  # nothing here is generated (downloads have their own Pause; Compare its Cancel)

    # -- layout -----------------------------------------------------------------------------

    def _build(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setObjectName("modelsTabs")
        local = LocalModels(self)
        local.setSourceModel(self.list_model)
        self.library = LibraryView(self.manager, local)
        self.tabs.addTab(self.library, "Library")
        self.hub_tab = self._build_hub()
        self.tabs.addTab(self.hub_tab, "Get models")
        comparable = ComparableModels(self)
        comparable.setSourceModel(self.list_model)
        self.compare_view = CompareView(self.storage, comparable, self.jobs, self.n_ctx, self._library_name)
        self.compare_tab = scrolling(self.compare_view)  # scrolls in a low window rather than setting its height
        self.compare_tab.setObjectName("compareTab")
        self.tabs.addTab(self.compare_tab, "Compare")
        if self.connections is not None:
            self.tabs.addTab(self.connections, "Servers")  # its form scrolls on its own, beside the list
        conns = self.connections
        self.embedding_picker = EmbeddingPicker(self.manager, lambda: self.model_list.entries,
                                                conns.store.get if conns is not None else lambda _id: None)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.tabs)
        layout.addWidget(self.embedding_picker)
        # the widgets tests and accessibility tools reach by their old names
        self.library_view = self.library.table
        self.use_button, self.import_button = self.library.use_button, self.library.import_button
        self.folder_button, self.delete_button = self.library.folder_button, self.library.delete_button
        self.discover_button = self.library.discover_button
        self.compare_source, self.compare_text = self.compare_view.source, self.compare_view.text
        self.compare_models, self.compare_button = self.compare_view.model_view, self.compare_view.button
        self.compare_progress, self.compare_table = self.compare_view.progress, self.compare_view.table
        self.compare_cancel_button = self.compare_view.cancel_button

    def _connect_signals(self) -> None:
        self.library.use_model_requested.connect(self.use_model_requested)
        self.library.rescan_requested.connect(self.refresh_library)
        self.library.status_message.connect(self.status_message)
        self.hub_import_button.clicked.connect(self.library._on_import_button_clicked)
        self._connect_hub_signals()
        self.compare_view.status_message.connect(self.status_message)
        self.compare_view.comparison_finished.connect(self.comparison_finished)
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        self.embedding_picker.status_message.connect(self.status_message)
        self.embedding_picker.choice_changed.connect(self.embedding_choice_changed)
        self.embedding_choice_changed.connect(self.embedding_picker.refill)

    # -- library ---------------------------------------------------------------------------------

    @property
    def entries(self) -> list[ModelEntry]:
        """The local models, as the one model list has them (the library table's rows)."""
        return self.model_list.local

    @property
    def ask_copy(self) -> Callable[[Path], bool | None]:
        return self.library.ask_copy

    @ask_copy.setter
    def ask_copy(self, ask: Callable[[Path], bool | None]) -> None:
        self.library.ask_copy = ask

    def import_files(self, paths: list[Path]) -> None:
        self.library.import_files(paths)

    def delete_model(self, path: Path) -> None:
        self.library.delete_model(path)

    def discover(self) -> None:
        self.library.discover()

    def selected_entry(self) -> ModelEntry | None:
        return self.library.selected_entry()

    def refresh_library(self) -> None:
        """Scan the library in the background into the model list (which tells every view)."""
        run_in_background(self.manager.entries, self._on_library_scanned)

    def _on_library_scanned(self, entries: list[ModelEntry]) -> None:
        self.model_list.set_local(entries)  # announces what changed, if anything did
        self.library_changed.emit()  # after every scan: a folder added with no models in it is still remembered

    def _on_model_list_changed(self, _change: ModelListChange) -> None:
        self.list_model.refresh()  # the fit badges follow the context size
        self.embedding_picker.refill()  # a new embedding model, a server's models

    def _fit_badge(self, entry: ModelEntry) -> str:
        """The same estimate the engine's load refusal uses."""
        return self.manager.fit_entry(entry, self.n_ctx(), self.free_vram()).badge

    def _library_name(self, path: str) -> str:
        return next((e.name for e in self.entries if e.path == path), "")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if any(u.toLocalFile().lower().endswith(".gguf") for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.toLocalFile().lower().endswith(".gguf")]
        event.acceptProposedAction()
        self.import_files(paths)

    # -- compare -------------------------------------------------------------------------------------

    def _on_tabs_current_changed(self, index: int) -> None:
        page = self.tabs.widget(index)
        if page is self.hub_tab:
            self._show_offline_state()
        if page is self.compare_tab:
            self.refresh_compare_sources()

    def refresh_compare_sources(self) -> None:
        """The documents by their titles (as Write lists them), keeping the one chosen."""
        self.compare_view.refresh_sources()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self.tabs.currentWidget() is self.compare_tab:  # documents may have been renamed meanwhile
            self.refresh_compare_sources()

    def compare(self) -> None:
        self.compare_view.compare()
