"""The Models pane: what is installed, what the Hub has, what is downloading, and which model knows your text best.

Every Hub call and every scan runs in the background; the pane only shows and asks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import HubOffline, HubUnreachable, InklingError
from app.core.model_list import ModelList, ModelListChange
from app.core.ports import ModelEntry, ModelManagerPort
from app.core.storage import Storage
from app.ui.flow_layout import flow_row, scrolling
from app.ui.jobs import run_in_background
from app.ui.models.connections_view import ConnectionsView
from app.ui.models.downloads_view import DownloadsView
from app.ui.widgets import human_size

SORTS = {"Most downloads": "downloads", "Most likes": "likes", "Recently updated": "last_modified"}
Compare = Callable[[list[str], str, Callable[[int, Any], None]], list[Any]]


class _DownloadRelay(QObject):
    """Carries download updates from worker threads to the GUI thread."""

    changed = Signal(object)
    """A download changed (emitted from a worker thread, delivered queued)."""


class ModelsPane(QWidget):
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
    """Perplexity rows are shown."""
    download_finished = Signal(object)
    """A download reached done / failed / cancelled."""
    session_changed = Signal()
    """(Pane protocol) never emitted: this pane has no session with sampling settings."""
    preview_changed = Signal()
    """(Pane protocol) never emitted: there is no text to continue here."""

    def __init__(self, manager: ModelManagerPort, storage: Storage, compare: Compare, n_ctx: Callable[[], int],
                 free_vram: Callable[[], int] = lambda: 0, connections: ConnectionsView | None = None,
                 parent: QWidget | None = None, *, model_list: ModelList | None = None) -> None:
        super().__init__(parent)
        self.connections = connections
        self.manager = manager
        self.storage = storage
        self.compare_fn = compare
        self.n_ctx = n_ctx
        self.free_vram = free_vram
        self.model_list = model_list if model_list is not None else ModelList()  # the one list of models
        self.repo_files: Any = None
        self.ask_copy: Callable[[Path], bool | None] = self._ask_copy
        self._relay = _DownloadRelay()
        self._search_serial = 0
        self._search_busy_id = 0  # the search being waited for; 0 when none
        self._unreachable = False
        self.setAcceptDrops(True)
        self._build()
        self._connect_signals()
        self.manager.on_download_update = self._relay.changed.emit
        self.model_list.subscribe(self._on_model_list_changed)
        self._show_entries()  # what the list holds already; the scan below announces what changed
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
        pass  # nothing here is generated (downloads have their own Pause)

    # -- layout -----------------------------------------------------------------------------

    def _build(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setObjectName("modelsTabs")

        lib = QWidget()
        lib_layout = QVBoxLayout(lib)
        self.library_view = QTableWidget(0, 8)
        self.library_view.setObjectName("modelLibraryView")
        self.library_view.setHorizontalHeaderLabels(
            ["Name", "Architecture", "Parameters", "Quantization", "Size", "Context", "Chat template", "File"])
        self.library_view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.library_view.horizontalHeader().setSectionResizeMode(7, QHeaderView.ResizeMode.Stretch)
        self.library_view.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.library_view.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.library_view.verticalHeader().hide()
        self.use_button = QPushButton("Use this model")
        self.use_button.setObjectName("useModelButton")
        self.import_button = QPushButton("Import GGUF file…")
        self.folder_button = QPushButton("Add folder…")
        self.discover_button = QPushButton("Find models from other apps…")
        self.discover_button.setObjectName("discoverModelsButton")
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setObjectName("deleteModelButton")
        row = flow_row(self.use_button, self.import_button, self.folder_button, self.discover_button,
                       self.delete_button)  # wraps in a narrow window instead of cutting buttons
        hint = QLabel("Drop .gguf files here to add them. Files are read from the GGUF header, without loading them.")
        hint.setObjectName("settingHelp")
        hint.setWordWrap(True)
        lib_layout.addWidget(row)
        lib_layout.addWidget(self.library_view, 1)
        lib_layout.addWidget(hint)
        self.tabs.addTab(lib, "Library")

        hub = QWidget()
        hub_layout = QVBoxLayout(hub)
        self.offline_label = QLabel()
        self.offline_label.setObjectName("offlineState")
        self.offline_label.setWordWrap(True)
        self.hub_import_button = QPushButton("Import a GGUF file…")
        self.hub_import_button.setObjectName("hubImportButton")
        self.offline_row = QWidget()
        offline_layout = QHBoxLayout(self.offline_row)
        offline_layout.setContentsMargins(0, 0, 0, 0)
        offline_layout.addWidget(self.offline_label, 1)
        offline_layout.addWidget(self.hub_import_button)
        self.offline_row.hide()
        self.search_busy = QProgressBar()
        self.search_busy.setObjectName("hubSearchBusy")
        self.search_busy.setRange(0, 0)  # a busy indicator: how long the Hub takes is not known
        self.search_busy.setMaximumWidth(90)
        self.search_busy.setTextVisible(False)
        self.search_busy.hide()
        self.search_cancel_button = QPushButton("Cancel")
        self.search_cancel_button.setObjectName("hubSearchCancelButton")
        self.search_cancel_button.hide()
        search_row = QHBoxLayout()
        self.search_input = QLineEdit()
        self.search_input.setObjectName("hubSearchInput")
        self.search_input.setPlaceholderText("Search GGUF models on Hugging Face, e.g. “llama 3 instruct”")
        self.sort_combo = QComboBox()
        self.sort_combo.setObjectName("hubSortCombo")
        self.sort_combo.addItems(list(SORTS))
        self.search_button = QPushButton("Search")
        self.search_button.setObjectName("hubSearchButton")
        search_row.addWidget(self.search_input, 1)
        search_row.addWidget(self.sort_combo)
        search_row.addWidget(self.search_button)
        search_row.addWidget(self.search_busy)
        search_row.addWidget(self.search_cancel_button)
        self.results_view = QListWidget()
        self.results_view.setObjectName("hubResultsView")
        self.files_view = QTreeWidget()
        self.files_view.setObjectName("hubFilesView")
        self.files_view.setHeaderLabels(["Quantization", "Size", "Fits this computer?", ""])
        for column in range(3):
            self.files_view.header().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.repo_label = QLabel("Pick a model on the left to see its files.")
        self.repo_label.setWordWrap(True)
        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("downloadButton")
        self.download_button.setEnabled(False)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.repo_label)
        right_layout.addWidget(self.files_view, 1)
        right_layout.addWidget(self.download_button)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.results_view)
        split.addWidget(right)
        split.setSizes([380, 520])
        self.downloads_view = DownloadsView()
        vsplit = QSplitter(Qt.Orientation.Vertical)
        vsplit.addWidget(split)
        vsplit.addWidget(self.downloads_view)
        vsplit.setSizes([420, 180])
        hub_layout.addWidget(self.offline_row)
        hub_layout.addLayout(search_row)
        hub_layout.addWidget(vsplit, 1)
        hub.setObjectName("hubTab")
        self.hub_tab = hub
        self.tabs.addTab(hub, "Get models")

        cmp = QWidget()
        cmp_layout = QVBoxLayout(cmp)
        intro = QLabel("Which model knows your subject best? Perplexity is how surprised a model is by your text, on "
                       "average (lower is better) — the validation loss of the GPT papers, on your own writing.")
        intro.setWordWrap(True)
        self.compare_source = QComboBox()
        self.compare_source.setObjectName("compareSource")
        self.compare_text = QPlainTextEdit()
        self.compare_text.setObjectName("compareText")
        self.compare_text.setPlaceholderText("…or paste text here")
        self.compare_text.setMaximumHeight(120)
        self.compare_models = QListWidget()
        self.compare_models.setObjectName("compareModels")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setObjectName("compareButton")
        self.compare_progress = QProgressBar()
        self.compare_progress.setObjectName("compareProgress")
        self.compare_progress.setFormat("%v of %m models")
        self.compare_progress.hide()
        self.compare_table = QTableWidget(0, 4)
        self.compare_table.setObjectName("compareTable")
        self.compare_table.setHorizontalHeaderLabels(["Model", "Perplexity", "Bits per token", "Tokens"])
        self.compare_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.compare_table.verticalHeader().hide()
        self.compare_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)  # results, not a form
        cmp_layout.addWidget(intro)
        cmp_layout.addWidget(QLabel("Text: a document from Write"))
        cmp_layout.addWidget(self.compare_source)
        cmp_layout.addWidget(self.compare_text)
        cmp_layout.addWidget(QLabel("Models:"))
        cmp_layout.addWidget(self.compare_models)
        cmp_layout.addWidget(self.compare_button)
        cmp_layout.addWidget(self.compare_progress)
        cmp_layout.addWidget(self.compare_table, 1)
        self.compare_tab = scrolling(cmp)  # scrolls in a low window rather than setting its height
        self.compare_tab.setObjectName("compareTab")
        self.tabs.addTab(self.compare_tab, "Compare")
        if self.connections is not None:
            self.tabs.addTab(self.connections, "Servers")  # its form scrolls on its own, beside the list

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.tabs)

    def _connect_signals(self) -> None:
        self.use_button.clicked.connect(self._on_use_button_clicked)
        self.library_view.cellDoubleClicked.connect(self._on_library_double_clicked)
        self.import_button.clicked.connect(self._on_import_button_clicked)
        self.folder_button.clicked.connect(self._on_folder_button_clicked)
        self.discover_button.clicked.connect(self.discover)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.search_button.clicked.connect(self.search)
        self.search_input.returnPressed.connect(self.search)
        self.search_cancel_button.clicked.connect(self.cancel_search)
        self.hub_import_button.clicked.connect(self._on_import_button_clicked)
        self.results_view.currentItemChanged.connect(self._on_results_current_item_changed)
        self.files_view.currentItemChanged.connect(self._on_files_current_item_changed)
        self.download_button.clicked.connect(self.download_selected)
        self.downloads_view.action_requested.connect(self._on_download_action)
        self._relay.changed.connect(self._on_download_changed)
        self.compare_button.clicked.connect(self.compare)
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)

    # -- library ---------------------------------------------------------------------------------

    @property
    def entries(self) -> list[ModelEntry]:
        """The local models, as the one model list has them (the library table's rows)."""
        return self.model_list.local

    def refresh_library(self) -> None:
        """Scan the library in the background into the model list (which tells every view)."""
        run_in_background(self.manager.entries, self._on_library_scanned)

    def _on_library_scanned(self, entries: list[ModelEntry]) -> None:
        self.model_list.set_local(entries)  # announces what changed, if anything did
        self.library_changed.emit()  # after every scan: a folder added with no models in it is still remembered

    def _on_model_list_changed(self, _change: ModelListChange) -> None:
        self._show_entries()

    def _show_entries(self) -> None:
        entries = self.entries
        view = self.library_view
        view.setRowCount(len(entries))
        n_ctx, vram = self.n_ctx(), self.free_vram()
        for r, e in enumerate(entries):
            name = ("★ " if e.builtin else "") + e.name
            size = human_size(e.size)
            if not e.error:  # the same estimate the engine's load refusal uses
                fit = self.manager.fit_entry(e, n_ctx, vram)
                size = f"{size} — {fit.badge}"
            values = [name, e.architecture, f"{e.parameters / 1e6:,.0f}M" if e.parameters else "", e.quantization,
                      size, f"{e.context_length:,}" if e.context_length else "",
                      "yes" if e.has_chat_template else ("no" if not e.error else ""),
                      e.path if not e.error else f"⚠ {e.error} — {e.path}"]
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(e.path if not e.error else e.error)
                if e.error:
                    item.setForeground(Qt.GlobalColor.darkRed)
                view.setItem(r, c, item)
        unchecked = {self.compare_models.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.compare_models.count())
                     if self.compare_models.item(i).checkState() == Qt.CheckState.Unchecked}
        self.compare_models.clear()
        for e in entries:
            if not e.error:
                item = QListWidgetItem(e.name)
                item.setData(Qt.ItemDataRole.UserRole, e.path)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)  # new: checked; unchecked: stays so
                item.setCheckState(Qt.CheckState.Unchecked if e.path in unchecked else Qt.CheckState.Checked)
                self.compare_models.addItem(item)

    def selected_entry(self) -> ModelEntry | None:
        row = self.library_view.currentRow()
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def _on_use_button_clicked(self) -> None:
        entry = self.selected_entry()
        if entry is not None and not entry.error:
            self.use_model_requested.emit(entry.path)

    def _on_library_double_clicked(self, row: int, _column: int) -> None:
        self.library_view.selectRow(row)
        self._on_use_button_clicked()

    def import_files(self, paths: list[Path]) -> None:
        for path in paths:
            copy = self.ask_copy(path)
            if copy is None:
                continue
            run_in_background(lambda p=path, c=copy: self.manager.import_file(p, c),
                              lambda target: (self.status_message.emit(f"Added {Path(target).name}"),
                                              self.refresh_library()), context=self)

    def _on_import_button_clicked(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Import GGUF models", str(Path.home()), "GGUF models (*.gguf)")
        self.import_files([Path(p) for p in paths])

    def _on_folder_button_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of models", str(Path.home()))
        if folder:
            self.manager.add_folder(Path(folder))
            self.refresh_library()

    def _ask_copy(self, path: Path) -> bool | None:
        box = QMessageBox(QMessageBox.Icon.Question, "Add model",
                          f"Add {path.name}?\n\nUse it where it is, or copy it into Inkling's models folder?", parent=self)
        in_place = box.addButton("Use in place", QMessageBox.ButtonRole.AcceptRole)
        copy = box.addButton("Copy", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() is in_place:
            return False
        if box.clickedButton() is copy:
            return True
        return None

    def _on_delete_button_clicked(self) -> None:
        entry = self.selected_entry()
        if entry is None or entry.builtin:
            return
        answer = QMessageBox.question(self, "Delete model", f"Delete {Path(entry.path).name} from disk?")
        if answer == QMessageBox.StandardButton.Yes:
            self.delete_model(Path(entry.path))

    def delete_model(self, path: Path) -> None:
        try:
            self.manager.delete(path)
        except (InklingError, OSError) as exc:
            self.status_message.emit(f"Not deleted: {exc}")
            return
        self.refresh_library()

    def discover(self) -> None:
        def done(found: list[tuple[str, Path]]) -> None:
            if not found:
                self.status_message.emit("No GGUF models from LM Studio, GPT4All, Jan or the Hugging Face cache found")
                return
            listing = "\n".join(f"{app}: {path}" for app, path in found[:20])
            answer = QMessageBox.question(self, "Models from other apps",
                                          f"Found {len(found)} model files:\n\n{listing}\n\nAdd their folders to Inkling "
                                          "(the files stay where they are)?")
            if answer == QMessageBox.StandardButton.Yes:
                for folder in {path.parent for _, path in found}:
                    self.manager.add_folder(folder)
                self.refresh_library()

        run_in_background(self.manager.discover, done, context=self)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if any(u.toLocalFile().lower().endswith(".gguf") for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.toLocalFile().lower().endswith(".gguf")]
        event.acceptProposedAction()
        self.import_files(paths)

    # -- hub ---------------------------------------------------------------------------------------

    def _show_offline_state(self) -> None:
        off = self.manager.offline()
        if off:
            self._show_offline_notice("Offline mode (HF_HUB_OFFLINE is set): the Hub is not contacted. Your installed "
                                      "models work as usual; unset HF_HUB_OFFLINE to search and download.")
        elif self._search_busy_id == 0 and not self._unreachable:
            self.offline_row.hide()
        for w in (self.search_input, self.search_button, self.download_button):
            w.setEnabled(not off and (w is not self.download_button or self.files_view.currentItem() is not None))

    def _show_offline_notice(self, text: str) -> None:
        self.offline_label.setText(text)
        self.offline_row.show()

    def _show_catalog(self) -> None:
        self.results_view.clear()
        for entry in self.manager.catalog():
            item = QListWidgetItem(f"★ {entry.name} ({entry.params}) — {entry.why}")
            item.setData(Qt.ItemDataRole.UserRole, entry.repo_id)
            item.setToolTip(f"{entry.repo_id}\n{entry.why}")
            self.results_view.addItem(item)

    def search(self) -> None:
        """Ask the Hub in the background; a busy sign and Cancel show until it answers."""
        if self.manager.offline():
            self._show_offline_state()
            return
        query = self.search_input.text().strip()
        sort = SORTS[self.sort_combo.currentText()]
        self.status_message.emit(f"Searching the Hub for “{query}”…")
        self._search_serial += 1
        serial = self._search_serial
        self._search_busy_id = serial
        self._set_searching(True)
        run_in_background(lambda: self.manager.search(query, sort),
                          lambda results: self._on_search_answered(serial, results),
                          lambda exc: self._on_search_failed(serial, exc), context=self)

    def cancel_search(self) -> None:
        """Stop waiting for the Hub (its answer, if it comes, is dropped)."""
        if not self._search_busy_id:
            return
        self._search_busy_id = 0
        self._set_searching(False)
        self.status_message.emit("Search cancelled")

    def _set_searching(self, busy: bool) -> None:
        self.search_busy.setVisible(busy)
        self.search_cancel_button.setVisible(busy)
        self.search_button.setEnabled(not busy and not self.manager.offline())

    def _on_search_answered(self, serial: int, results: list[Any]) -> None:
        if serial != self._search_busy_id:
            return  # cancelled, or a newer search is running
        self._search_busy_id = 0
        self._unreachable = False
        self._set_searching(False)
        self._show_offline_state()
        self._show_results(results)

    def _on_search_failed(self, serial: int, exc: BaseException) -> None:
        if serial != self._search_busy_id:
            return
        self._search_busy_id = 0
        self._set_searching(False)
        self._on_hub_failed(exc)
        self.search_finished.emit()

    def _show_results(self, results: list[Any]) -> None:
        self.search_button.setEnabled(True)
        self._show_catalog()
        for r in results:
            item = QListWidgetItem(f"{r.repo_id}   ↓{r.downloads:,}  ♥{r.likes:,}" + ("  (gated)" if r.gated else ""))
            item.setData(Qt.ItemDataRole.UserRole, r.repo_id)
            self.results_view.addItem(item)
        self.status_message.emit(f"{len(results)} repositories found")
        self.search_finished.emit()

    def _on_hub_failed(self, exc: BaseException) -> None:
        self.search_button.setEnabled(not self.manager.offline())
        if isinstance(exc, (HubUnreachable, HubOffline)):
            self._unreachable = isinstance(exc, HubUnreachable)
            self._show_offline_notice(str(exc))
        else:
            self.repo_label.setText(f"⚠ {exc}")
        self.status_message.emit(str(exc))

    def _on_results_current_item_changed(self, current: QListWidgetItem | None, _prev: object) -> None:
        if current is not None:
            self.show_repo(str(current.data(Qt.ItemDataRole.UserRole)))

    def show_repo(self, repo_id: str) -> None:
        self.files_view.clear()
        self.download_button.setEnabled(False)
        self.repo_label.setText(f"Loading the files of {repo_id}…")
        run_in_background(lambda: self.manager.repo_files(repo_id), self._show_files,
                          lambda exc: self._on_repo_files_failed(repo_id, exc), context=self)

    def _on_repo_files_failed(self, repo_id: str, exc: BaseException) -> None:
        """The files could not be listed: the label says so in place of "Loading…" (and offline says offline)."""
        self._on_hub_failed(exc)
        if isinstance(exc, (HubUnreachable, HubOffline)):
            self.repo_label.setText(f"The files of {repo_id} can't be listed while the Hub can't be reached. "
                                    "Models you already have work as usual.")
        else:
            self.repo_label.setText(f"⚠ The files of {repo_id} can't be listed: {exc}")

    def _show_files(self, files: Any) -> None:
        self.repo_files = files
        self.files_view.clear()
        n_ctx, vram = self.n_ctx(), self.free_vram()
        best = self.manager.recommend(files.groups, n_ctx, vram)
        for group in files.groups:
            fit = self.manager.fit(group, n_ctx, vram)
            item = QTreeWidgetItem([group.quant, human_size(group.size), f"{fit.badge} — needs {human_size(fit.needed)}",
                                    "★ recommended" if group.quant == best else ""])
            item.setToolTip(2, f"Weights + the memory for a {n_ctx:,}-token context + runtime, on the {fit.where}")
            item.setData(0, Qt.ItemDataRole.UserRole, group)
            for path in group.files:
                QTreeWidgetItem(item, [path, human_size(files.file(path).size), "", ""])
            self.files_view.addTopLevelItem(item)
            if group.quant == best:
                self.files_view.setCurrentItem(item)
        gated = " This repo is gated: log in with `hf auth login` after accepting its terms." if files.gated else ""
        self.repo_label.setText(f"<b>{files.repo_id}</b> — {len(files.files)} GGUF files in {len(files.groups)} "
                                f"quantizations. Smaller is faster, larger is closer to the original.{gated}")
        self.files_shown.emit()

    def _on_files_current_item_changed(self, current: QTreeWidgetItem | None, _prev: object) -> None:
        while current is not None and current.parent() is not None:
            current = current.parent()
        self.download_button.setEnabled(current is not None and not self.manager.offline())

    def select_quant(self, quant: str) -> None:
        for i in range(self.files_view.topLevelItemCount()):
            item = self.files_view.topLevelItem(i)
            if item.text(0) == quant:
                self.files_view.setCurrentItem(item)

    def download_selected(self) -> None:
        item = self.files_view.currentItem()
        while item is not None and item.parent() is not None:
            item = item.parent()
        if item is None or self.repo_files is None:
            return
        group = item.data(0, Qt.ItemDataRole.UserRole)
        try:
            for d in self.manager.download(self.repo_files, group):
                self.downloads_view.update_download(d)
        except InklingError as exc:
            self.status_message.emit(str(exc))
            self.repo_label.setText(f"⚠ {exc}")

    def _on_download_action(self, download_id: int, action: str) -> None:
        self.manager.control(download_id, action)

    def _on_download_changed(self, download: Any) -> None:
        self.downloads_view.update_download(download)
        if download.status in ("done", "failed", "cancelled"):
            if download.status == "done":
                self.status_message.emit(f"Downloaded and verified {download.filename}")
                self.refresh_library()
            self.download_finished.emit(download)

    # -- compare -------------------------------------------------------------------------------------

    def _on_tabs_current_changed(self, index: int) -> None:
        page = self.tabs.widget(index)
        if page is self.hub_tab:
            self._show_offline_state()
        if page is self.compare_tab:
            self.refresh_compare_sources()

    def refresh_compare_sources(self) -> None:
        """The documents by their titles (as Write lists them), keeping the one chosen."""
        chosen = self.compare_source.currentData()
        self.compare_source.clear()
        self.compare_source.addItem("(the text below)", None)
        for doc in self.storage.documents():
            self.compare_source.addItem(doc.title, doc.id)
        self.compare_source.setCurrentIndex(max(self.compare_source.findData(chosen), 0))

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self.tabs.currentWidget() is self.compare_tab:  # documents may have been renamed meanwhile
            self.refresh_compare_sources()

    def compare(self) -> None:
        doc_id = self.compare_source.currentData()
        doc = self.storage.document(doc_id) if doc_id is not None else None
        text = doc.content if doc is not None else self.compare_text.toPlainText()
        paths = [self.compare_models.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.compare_models.count())
                 if self.compare_models.item(i).checkState() == Qt.CheckState.Checked]
        if not text.strip() or not paths:
            self.status_message.emit("Choose a text and at least one model to compare")
            return
        self.compare_button.setEnabled(False)
        self.compare_progress.setRange(0, len(paths))
        self.compare_progress.setValue(0)
        self.compare_progress.show()
        self.compare_table.setRowCount(0)
        # each model measured moves the bar
        run_in_background(lambda progress: self.compare_fn(paths, text, lambda i, _row: progress(i)),
                          self._show_comparison, self._on_compare_failed, context=self,
                          on_progress=self._on_compare_progressed)

    def _on_compare_progressed(self, index: int) -> None:
        self.compare_progress.setValue(index + 1)

    def _show_comparison(self, rows: list[Any]) -> None:
        self.compare_button.setEnabled(True)
        self.compare_progress.setValue(self.compare_progress.maximum())
        self.compare_progress.hide()
        self.compare_table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            ok = not math.isnan(row.perplexity)
            name = self._library_name(row.path) or row.name  # the name the Library shows, not the GGUF's own
            values = [name + ("" if ok else f" — {row.error}"), f"{row.perplexity:.2f}" if ok else "—",
                      f"{row.bits_per_token:.2f}" if ok else "—", str(row.tokens)]
            for c, v in enumerate(values):
                self.compare_table.setItem(r, c, QTableWidgetItem(v))
        self.comparison_finished.emit(rows)

    def _library_name(self, path: str) -> str:
        return next((e.name for e in self.entries if e.path == path), "")

    def _on_compare_failed(self, exc: BaseException) -> None:
        self.compare_button.setEnabled(True)
        self.compare_progress.hide()
        self.status_message.emit(f"Comparison failed: {exc}")
