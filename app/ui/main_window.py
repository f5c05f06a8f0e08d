"""The main window: model selector and status on top, Chat / Write / Models tabs, Sampling docked.

It receives its panes from ``app.main``: Chat ready-made, the others ready-made or
as factories that build them when first needed (``app.ui.lazy_tabs``: after the
window is on screen, or at once when their tab is chosen or they are asked for).
It wires each pane through the ``Pane`` protocol (app.ui.pane) when it exists:
every pane reports status lines, the session whose settings the Sampling panel
edits, and what the next-token chart should look at. Each pane keeps its own
behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QKeySequence,
    QPaintEvent,
    QResizeEvent,
    QShowEvent,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.core.engine_status import EnginePhase
from app.core.errors import FeatureUnavailable, InklingError, Interrupted
from app.core.events import ModelInfo
from app.core.model_list import ModelList
from app.core.paths import AppPaths, file_stem
from app.core.ports import EnginePort, ModelCatalogPort, ModelEntry, ModelManagerPort, PeekResult
from app.core.preferences import Preferences
from app.core.presets import PresetChange, PresetStore
from app.core.sampling import SamplingSettings
from app.core.storage import Storage
from app.ui.adapter_wiring import AdapterWiring
from app.ui.chat.chat_pane import ChatPane
from app.ui.chat.welcome import install_welcome
from app.ui.engine_bridge import EngineBridge
from app.ui.engine_status_words import engine_status_words
from app.ui.errors import ErrorPresenter, NoticeBar
from app.ui.jobs import set_default_failure_handler, when_done
from app.ui.lazy_tabs import LazyTabs
from app.ui.model_choice import OPEN_FILE, ModelChoiceMixin
from app.ui.model_list_model import ModelListModel, selector_model
from app.ui.pane import Pane
from app.ui.sampling.panel import SamplingPanel
from app.ui.write.formats import EXPORT_NAMES

if TYPE_CHECKING:  # built when first needed, and imported then (a faster start)
    from app.ui.models.connections_view import ConnectionsView
    from app.ui.models.models_pane import ModelsPane
    from app.ui.write.write_pane import WritePane

DEFAULT_SIZE = (1280, 820)
DOCK_WIDTH = 400  # px, the Sampling dock's first width
PREVIEW_NONE = "The chart shows what the model could write next in Chat and Write; this pane has no text."
PREVIEW_WAIT = "The chart follows the cursor again when the model has finished writing."
PREVIEW_NO_MODEL = "Load a model to see which tokens could come next."
PREVIEW_ASKING = "Asking the model what could come next…"
DOCK_SHARE = 0.42  # a narrowed window gives the panes at least the rest: the dock shrinks first
SHORTCUTS = [
    ("Esc", "Stop generating, in any pane (Write keeps the text so far as a suggestion)"),
    ("<i>Chat</i>", ""), ("Enter", "Send the message (while a reply is written, it waits its turn)"),
    ("Shift+Enter", "New line in the message"), ("Ctrl+R", "Regenerate the last reply"), ("Ctrl+N", "New chat"),
    ("Ctrl+F", "Search chats"), ("F2", "Rename the chat"), ("Ctrl+E", "Export the chat"),
    ("<i>Write</i>", ""), ("Ctrl+Space", "Continue at the cursor"), ("Tab", "Accept the suggestion"),
    ("Esc", "Reject the suggestion (once it has stopped)"), ("Ctrl+S", "Save a revision"),
    ("Ctrl+Shift+N", "New document"),
    ("<i>Anywhere</i>", ""), ("Ctrl+O", "Open a model file"), ("Ctrl+1 / 2 / 3", "Chat / Write / Models"),
    ("F1", "This list"),
]
STOP_KEY = "Esc"


class MainWindow(ModelChoiceMixin, QMainWindow):
    """Inkling's window over its panes: Chat and Write (sessions with settings), and Models if there is one.

    Write and Models may be given as factories (built when first needed); ``write``,
    ``models`` and ``connections`` build them when asked for.
    """

    def __init__(self, *, paths: AppPaths, prefs: Preferences, storage: Storage, bridge: EngineBridge,
                 catalog: ModelCatalogPort, presets: PresetStore, chat: ChatPane,
                 write: WritePane | Callable[[], WritePane],
                 models: ModelsPane | Callable[[], ModelsPane] | None = None,
                 on_close: Callable[[], None] | None = None, model_list: ModelList | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("Inkling")
        self.paths, self.prefs, self.storage, self.bridge, self.catalog = paths, prefs, storage, bridge, catalog
        self.presets, self.chat = presets, chat
        self.model_list = model_list if model_list is not None else ModelList()  # what the selector lists
        self.list_model = ModelListModel(self.model_list, parent=self)  # the one Qt model every list of models shows
        self._selector_extras = QStandardItemModel(self)  # a file opened by hand, then "Open a GGUF file…"
        self._sampling_pane: Pane = cast(Pane, chat)  # whose session the Sampling panel shows and edits
        self._pages: list[tuple[str, str, object]] = [("chat", "Chat", chat), ("write", "Write", write)] + (
            [("models", "Models", models)] if models else [])
        self._on_close = on_close
        self._painted = False
        self._fitted_on_show = False
        self._dock_wanted = 0  # the Sampling dock's width before a narrow window took it in (0: never narrowed)
        self._build()
        self._connect_signals()
        self._show_pane_settings()
        self.update_title()
        self.refresh_models()
        self._restore_geometry()

    @property
    def entries(self) -> list[ModelEntry]:
        """The models the selector lists (the one model list: local, then each server's)."""
        return self.model_list.entries

    @property
    def write(self) -> WritePane:
        """The Write pane (built now if it was not yet)."""
        return cast("WritePane", self.lazy.page("write"))

    @property
    def models(self) -> ModelsPane | None:
        """The Models pane, if the window has one (built now if it was not yet)."""
        return cast("ModelsPane | None", self.lazy.page("models"))

    @property
    def connections(self) -> ConnectionsView | None:
        """The remote servers, shown inside the Models pane (built now if it was not yet)."""
        return self.models.connections if self.models is not None else None

    @property
    def panes(self) -> list[tuple[str, Pane]]:
        """The panes that exist, with their keys (one never built has nothing to stop, save or show)."""
        return cast("list[tuple[str, Pane]]", self.lazy.built())

    @property
    def engine(self) -> EnginePort:
        """The engine behind the bridge (for tools and tests: its pid, its model)."""
        return self.bridge.engine

    @property
    def library(self) -> ModelManagerPort | None:
        """The model manager behind the Models pane (library, folders, downloads), if there is one."""
        return self.models.manager if self.models is not None else None

    # -- layout -------------------------------------------------------------------------

    def _build(self) -> None:
        bar = QToolBar("Model")
        bar.setObjectName("modelToolbar")
        bar.setMovable(False)
        self.model_selector = QComboBox()
        self.model_selector.setObjectName("modelSelector")
        # sized by a name length, not by the longest entry: a small window keeps the selector and its status
        self.model_selector.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_selector.setMinimumContentsLength(22)
        self.model_selector.setToolTip("The model that answers. Open any .gguf file, or get more in Models.")
        open_file = QStandardItem("Open a GGUF file…")
        open_file.setData(OPEN_FILE, Qt.ItemDataRole.UserRole)
        self._selector_extras.appendRow(open_file)
        self.model_selector.setModel(selector_model(self.list_model, self._selector_extras, self))
        self.load_progress = QProgressBar()
        self.load_progress.setObjectName("loadProgress")
        self.load_progress.setRange(0, 0)
        self.load_progress.setMaximumWidth(120)
        self.engine_status = QLabel("No model")
        self.engine_status.setObjectName("engineStatus")
        bar.addWidget(QLabel(" Model: "))
        bar.addWidget(self.model_selector)
        # a toolbar's widget shows and hides through its action (QWidget.setVisible does nothing there)
        self._load_progress_action = bar.addWidget(self.load_progress)
        self._load_progress_action.setVisible(False)
        bar.addSeparator()
        bar.addWidget(self.engine_status)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)

        self.notice = NoticeBar()
        self.presenter = ErrorPresenter(self.notice)
        set_default_failure_handler(self.presenter.present)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("paneTabs")
        self.tabs.setDocumentMode(True)
        self.lazy = LazyTabs(self.tabs)  # first: a pane is built before anyone hears its tab was chosen
        for key, title, page in self._pages:
            self.lazy.add(key, title, cast("QWidget | Callable[[], QWidget]", page))
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.notice)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.sampling = SamplingPanel(self.presets, adapters_folder=self.paths.models / "adapters")
        self.sampling_dock = QDockWidget("Sampling", self)
        self.sampling_dock.setObjectName("samplingDock")
        self.sampling_dock.setWidget(self.sampling)
        self.sampling_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable |
                                       QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.sampling_dock)
        self.resizeDocks([self.sampling_dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)

        self.context_status = QLabel()
        self.context_status.setObjectName("contextStatus")
        self.speed_status = QLabel()
        self.speed_status.setObjectName("speedStatus")
        self.statusBar().addPermanentWidget(self.context_status)
        self.statusBar().addPermanentWidget(self.speed_status)
        self._build_menus()
        self.welcome = install_welcome(self.chat, self.storage)
        if self.welcome is not None:
            self.welcome.models_requested.connect(lambda: self.tabs.setCurrentIndex(max(self.lazy.index_of("models"), 0)))
            self.welcome.open_file_requested.connect(self.open_model_file)
        self._preview_serial = 0  # the latest chart request; an older answer is not shown
        self._preview_shown: tuple[object, object] | None = None  # the context the chart's bars are about
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(400)

    def _build_menus(self) -> None:
        def action(menu: object, text: str, slot: Callable[[], object], shortcut: str | QKeySequence = "") -> QAction:
            act = QAction(text, self)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            def trigger(*_: object) -> None:
                slot()  # PySide6 mishandles a slot's return value (refcount abort at exit): return nothing

            act.triggered.connect(trigger)
            menu.addAction(act)  # type: ignore[attr-defined]
            return act

        file_menu = self.menuBar().addMenu("&File")
        action(file_menu, "New chat", self.chat.new_conversation, "Ctrl+N")
        action(file_menu, "New document", self._on_new_document, "Ctrl+Shift+N")
        action(file_menu, "Import chat (JSON)…", self._on_import_chat)
        action(file_menu, "Export chat…", self._on_export_chat, "Ctrl+E")
        self.export_thinking = QAction("Include thinking in chat exports", self, checkable=True)
        self.export_thinking.setObjectName("exportThinkingAction")  # a reply's reasoning is left out unless chosen
        file_menu.addAction(self.export_thinking)
        export_menu = file_menu.addMenu("Export document")  # the Write pane's open document
        export_menu.setObjectName("exportDocumentMenu")
        for suffix, name in EXPORT_NAMES.items():
            action(export_menu, f"as {name} ({suffix})…", lambda suffix=suffix: self._on_export_document(suffix))
        file_menu.addSeparator()
        action(file_menu, "Quit", self.close, "Ctrl+Q")
        chat_menu = self.menuBar().addMenu("&Chat")
        action(chat_menu, "Regenerate last reply", self.chat.regenerate_last, "Ctrl+R")
        # one Stop for every pane; enabled only while something is generated, so that otherwise Esc
        # reaches the widget with focus (in Write it rejects a suggestion that has stopped)
        self.stop_action = action(chat_menu, "Stop generating", self.stop_generating, STOP_KEY)
        self.stop_action.setObjectName("stopAction")
        self.stop_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.stop_action.setEnabled(False)
        action(chat_menu, "Search chats", self._focus_search, "Ctrl+F")
        action(chat_menu, "Rename chat…", self._on_rename_chat, "F2")
        model_menu = self.menuBar().addMenu("&Model")
        action(model_menu, "Open model file…", self.open_model_file, "Ctrl+O")
        action(model_menu, "Reload model", self.reload_model)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.sampling_dock.toggleViewAction())
        for i in range(min(self.tabs.count(), 9)):
            action(view_menu, self.tabs.tabText(i), lambda i=i: self.tabs.setCurrentIndex(i), f"Ctrl+{i + 1}")
        help_menu = self.menuBar().addMenu("&Help")
        action(help_menu, "Keyboard shortcuts", self.show_shortcuts, "F1")
        action(help_menu, "Check this computer…", self.check_computer)
        action(help_menu, "About Inkling", self.show_about)

    def _on_new_document(self) -> None:
        self.tabs.setCurrentWidget(self.write)
        self.write.new_document()

    def _on_export_document(self, suffix: str) -> None:
        self.tabs.setCurrentWidget(self.write)
        self.write.export_as(suffix)

    def _connect_signals(self) -> None:
        self.model_selector.activated.connect(self._on_model_selector_activated)
        self.bridge.status_changed.connect(self._show_engine_status)
        self.bridge.model_loaded.connect(self._show_engine_status)
        self.bridge.model_failed.connect(self._show_engine_status)
        self.bridge.model_loaded.connect(self._on_bridge_model_loaded)
        self.bridge.model_failed.connect(self._on_bridge_model_failed)
        self.bridge.deviation_noted.connect(self._on_bridge_deviation_noted)
        self.bridge.busy_changed.connect(self._on_bridge_busy_changed)
        self.sampling.settings_changed.connect(self._on_sampling_settings_changed)
        self.sampling.reload_requested.connect(self._on_sampling_reload_requested)
        self.adapters = AdapterWiring(self)  # the panel's adapter picker: switched on the loaded model, no reload
        self.presets.subscribe(self._on_presets_changed)
        self.model_list.subscribe(self._on_model_list_changed)
        for key, pane in self.panes:
            self._on_lazy_page_built(key, cast(QWidget, pane))
        self.lazy.page_built.connect(self._on_lazy_page_built)
        self.chat.model_wanted.connect(self._on_chat_model_wanted)
        self.chat.context_changed.connect(self._on_chat_context_changed)
        self.chat.speed_changed.connect(self._on_chat_speed_changed)
        self.chat.choose_model_requested.connect(self._on_choose_model_requested)
        self.chat.reload_model_requested.connect(self.reload_model)
        self.chat.title_changed.connect(self.update_title)  # renamed, or named after its first question
        self._preview_timer.timeout.connect(self.refresh_preview)
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        self.sampling_dock.visibilityChanged.connect(self._on_sampling_dock_visibility_changed)

    def _on_lazy_page_built(self, key: str, page: QWidget) -> None:
        """Wire a pane as soon as it exists (at start, or when a lazily built one is first needed)."""
        pane = cast(Pane, page)
        pane.status_message.connect(self._on_pane_status_message)
        pane.session_changed.connect(self._on_pane_session_changed)
        pane.preview_changed.connect(self._preview_timer.start)
        pane.session_changed.connect(self.update_title)
        if key == "write":
            page = cast("WritePane", page)
            page.saved.connect(self.update_title)
            page.title_changed.connect(self.update_title)  # titled from its first line, or renamed
            page.doc_list.model().rowsInserted.connect(self.update_title)  # the list is refilled after a rename

    def _on_sampling_dock_visibility_changed(self, visible: bool) -> None:
        if visible:
            self._preview_timer.start()

    def _show_engine_status(self, *_: object) -> None:
        """The status bar says what the bridge's one status and its model say (app.ui.engine_status_words)."""
        words = engine_status_words(self.bridge, self.entries)
        self._load_progress_action.setVisible(words.loading)
        self.engine_status.setText(words.text)
        self.engine_status.setToolTip(words.tip)
        self.engine_status.setProperty("state", words.kind)
        if self.bridge.free:  # the engine is free again: the chart may ask it
            self._preview_timer.start()

    def _on_bridge_model_loaded(self, info: ModelInfo) -> None:
        self.notice.clear("model")  # the problem a banner was about is gone
        self.notice.clear("model-file")
        self._select_loaded_model()
        self.prefs.model_path = info.path
        self._save_prefs()
        self.sampling.show_load_options(self.bridge.options, info.gpu_offload_supported)
        if not info.has_chat_template:
            self.notice.show_message(info.chat_template_note, level="info", timeout_ms=10_000)
        self.statusBar().showMessage(f"Loaded {info.name} ({info.quantization}, {info.parameters / 1e6:.0f}M parameters)", 5000)

    def _on_bridge_deviation_noted(self, text: str) -> None:
        self.notice.show_message(text, level="info", timeout_ms=8000)

    def _on_bridge_model_failed(self, exc: BaseException) -> None:
        self.presenter.present(exc)
        kept = f" {self.bridge.info.name} is still the model." if self.bridge.info is not None else ""
        self.notice.show_message(f"<b>The model could not be loaded.</b> {escape(str(exc))}{escape(kept)}",
                                 action="Choose another model", callback=self._on_choose_model_requested, topic="model")
        if not self.bridge.load_pending:  # a newer load goes on: the selector shows it
            self._select_loaded_model()

    def _on_bridge_busy_changed(self, busy: bool) -> None:
        self.stop_action.setEnabled(busy)

    def stop_generating(self) -> None:
        """The one Stop: every pane stops what it is generating and keeps what was written."""
        for _key, pane in self.panes:
            pane.stop()

    def update_title(self) -> None:
        """The title names what is in view: "<chat or document> — Inkling"."""
        owner = self._current_pane().sampling_owner()
        name = getattr(owner, "title", "") if owner is not None else self.tabs.tabText(self.tabs.currentIndex())
        self.setWindowTitle(f"{name} — Inkling" if name else "Inkling")

    def _on_sampling_reload_requested(self, options: object) -> None:
        self.bridge.options = options  # type: ignore[assignment]
        self.prefs.n_ctx = self.bridge.options.n_ctx
        self.prefs.n_gpu_layers = self.bridge.options.n_gpu_layers
        self.prefs.n_threads = self.bridge.options.n_threads or 0
        self._save_prefs()
        self.reload_model()

    def _on_chat_model_wanted(self, path: str) -> None:
        loaded = self.bridge.loading_path or (self.bridge.info.path if self.bridge.info else "")
        if path and path != loaded and (self.model_list.get(path) is not None or Path(path).is_file()):
            self.load_model(path)

    # -- sampling -------------------------------------------------------------------------

    def _current_pane(self) -> Pane:
        return cast(Pane, self.tabs.currentWidget())

    def _on_sampling_settings_changed(self, settings: SamplingSettings, preset: str) -> None:
        """The Sampling panel edits the session whose settings it shows (each chat and document keeps its own)."""
        owner = self._sampling_pane.sampling_owner()
        if owner is not None:
            owner.set_sampling(settings, preset)

    def _on_presets_changed(self, change: PresetChange) -> None:
        """A renamed preset keeps its chats and documents: each open one takes the new name (storage already has)."""
        if change.kind != "renamed":
            return
        for _key, pane in self.panes:
            owner = pane.sampling_owner()
            if owner is not None and owner.preset == change.old:
                owner.set_sampling(owner.sampling, change.names[0])

    def _show_pane_settings(self) -> None:
        """The Sampling panel shows the settings of the session in view (they were resolved when it opened).

        A pane without one (Models) leaves the panel on the session it showed last, and a change made
        there goes to that session: what the panel shows is always what it edits.
        """
        if self._current_pane().sampling_owner() is not None:
            self._sampling_pane = self._current_pane()
        owner = self._sampling_pane.sampling_owner()
        if owner is not None:
            self.sampling.show_settings(owner.sampling, owner.preset)

    def _on_pane_session_changed(self) -> None:
        if self.sender() in (self.tabs.currentWidget(), self._sampling_pane):
            self._show_pane_settings()

    def _on_tabs_current_changed(self, _index: int) -> None:
        """The Sampling pane follows the visible pane's own settings."""
        self._show_pane_settings()
        self.update_title()
        self._show_chat_status()
        self._preview_timer.start()

    def refresh_preview(self) -> None:
        """Fetch the next-token candidates for what the pane in view would continue (when the engine is free).

        The chart always answers for the pane in view and its cursor: a pane with nothing to continue
        (Models, a chat with no message typed) clears it with a note, and an answer that comes back after
        the context moved on is dropped.
        """
        if not self.sampling_dock.isVisible():
            return
        request = self._current_pane().preview_request()
        self._preview_serial += 1
        if request is None or request.empty:
            self._preview_shown = None
            self.sampling.show_preview_context("")
            self.sampling.clear_candidates(request.about if request is not None else PREVIEW_NONE)
            return
        self.sampling.show_preview_context(request.about)
        context = (request.messages, request.prompt)
        if not self.bridge.free:  # asked again when the engine is free (_show_engine_status)
            if context != self._preview_shown:  # what is on the chart is about another context
                self._preview_shown = None
                waits = self.bridge.info is not None and self.bridge.status.phase is not EnginePhase.LOADING
                self.sampling.clear_candidates(PREVIEW_WAIT if waits else PREVIEW_NO_MODEL)
            return
        serial = self._preview_serial
        if context != self._preview_shown:  # not the note or bars of another pane while the model is asked
            self.sampling.clear_candidates(PREVIEW_ASKING)

        def show(result: PeekResult) -> None:
            if serial == self._preview_serial:
                self._preview_shown = context
                self.sampling.set_candidates(result.candidates, result.log_normaliser, result.spread)

        when_done(self.bridge.peek_async(messages=request.messages, prompt=request.prompt, top=64),
                  show, self._on_preview_failed, context=self)

    def _on_preview_failed(self, exc: BaseException) -> None:
        if isinstance(exc, FeatureUnavailable):  # a server without probabilities: say why the chart is empty
            self.sampling.clear_candidates(str(exc))
        elif not isinstance(exc, Interrupted):  # never leave bars or a note about another context
            self._preview_shown = None
            self.sampling.clear_candidates(f"The chart could not be drawn here: {exc}")

    # -- chat files -----------------------------------------------------------------------

    def _focus_search(self) -> None:
        self.tabs.setCurrentWidget(self.chat)
        self.chat.search_edit.setFocus()
        self.chat.search_edit.selectAll()

    def _on_rename_chat(self) -> None:
        row = self.chat.list_model.row_of(self.chat.session.id) if self.chat.session else -1
        if row >= 0:
            self.chat.list_view.edit(self.chat.list_model.index(row))

    def _on_export_chat(self) -> None:
        if self.chat.session is None:
            return
        name = file_stem(self.chat.session.title.rstrip("…"), "chat")
        path, _ = QFileDialog.getSaveFileName(self, "Export chat", str(Path.home() / f"{name}.md"),
                                              "Markdown (*.md);;JSON (*.json)")
        if path:
            try:
                self.chat.export_to(Path(path), thinking=self.export_thinking.isChecked())
            except OSError as exc:
                self.presenter.present(InklingError(f"Could not write {path}: {exc.strerror or exc}"))

    def _on_import_chat(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import chat", str(Path.home()), "Inkling chat (*.json)")
        if path:
            try:
                self.chat.import_from(Path(path))
            except (OSError, ValueError) as exc:
                self.presenter.present(InklingError(f"Could not import {Path(path).name}: {exc}"))

    def _on_pane_status_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 5000)

    def _on_chat_speed_changed(self, tokens_per_second: float) -> None:
        self.speed_status.setText(f"{tokens_per_second:.1f} tok/s" if tokens_per_second else "")

    def _on_chat_context_changed(self, used: int, total: int) -> None:
        self.context_status.setText(f"Context {used:,}/{total:,} ({used * 100 // max(total, 1)}%)" if total else "")

    def _show_chat_status(self) -> None:
        """The chat's context and speed are shown beside the Chat pane only (not stale on Write or Models)."""
        in_chat = self.tabs.currentWidget() is self.chat
        self.context_status.setVisible(in_chat)
        self.speed_status.setVisible(in_chat)

    # -- help and lifecycle -------------------------------------------------------------------

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" if v else
                       f"<tr><td colspan=2><br>{k}</td></tr>" for k, v in SHORTCUTS)
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", f"<table>{rows}</table>", parent=self)
        box.setObjectName("shortcutsHelp")
        box.open()

    def show_about(self) -> None:
        from app.ui.about import AboutDialog  # imported when first shown (a faster start)

        info = self.bridge.info
        entry = next((e for e in self.entries if info is not None and e.path == info.path), None)
        dialog = AboutDialog(self.paths, info, self, model_name=entry.name if entry else "")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def check_computer(self) -> None:
        from app.ui.about import CheckDialog  # imported when first shown (a faster start)

        dialog = CheckDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _save_prefs(self) -> None:
        try:
            self.prefs.save(self.paths.preferences)
        except OSError as exc:
            self.statusBar().showMessage(f"Could not save preferences: {exc}", 5000)

    def _restore_geometry(self) -> None:
        settings = QSettings(str(self.paths.config / "window.ini"), QSettings.Format.IniFormat)
        geometry = settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)  # type: ignore[arg-type]
            self.restoreState(settings.value("state"))  # type: ignore[arg-type]
            splitter = settings.value("chatSplitter")
            if splitter is not None:
                self.chat.splitter.restoreState(splitter)  # type: ignore[arg-type]
        else:
            self.resize(*DEFAULT_SIZE)
        self.fit_to_screen()

    def fit_to_screen(self) -> None:
        """Keep the window on a screen that holds it (a saved size from a bigger monitor, a vanished one)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None or self.isMaximized() or self.isFullScreen():
            return
        area = screen.availableGeometry()
        frame_w = self.frameGeometry().width() - self.width()  # the window manager's frame around it
        frame_h = self.frameGeometry().height() - self.height()
        width = max(min(self.width(), area.width() - frame_w), self.minimumSizeHint().width())
        height = max(min(self.height(), area.height() - frame_h), self.minimumSizeHint().height())
        self.resize(width, height)
        frame = self.frameGeometry()
        x = min(max(frame.x(), area.x()), area.right() + 1 - frame.width())
        y = min(max(frame.y(), area.y()), area.bottom() + 1 - frame.height())
        if (x, y) != (frame.x(), frame.y()):
            self.move(max(x, area.x()), max(y, area.y()))
        self._fit_dock()

    def _fit_dock(self) -> None:
        """A docked Sampling panel never takes more than its share of a narrow window (the panes keep theirs)."""
        dock = self.sampling_dock
        if dock.isFloating():
            return
        most = max(dock.minimumSizeHint().width(), int(self.width() * DOCK_SHARE))
        if dock.width() > most:
            self._dock_wanted = max(self._dock_wanted, dock.width())  # the width it goes back to, room allowing
            self.resizeDocks([dock], [most], Qt.Orientation.Horizontal)
        elif dock.width() < min(self._dock_wanted, most):  # the window grew again: so does the dock it narrowed
            self.resizeDocks([dock], [min(self._dock_wanted, most)], Qt.Orientation.Horizontal)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._fitted_on_show:  # once shown, the frame around the window is known: fit it with it
            self._fitted_on_show = True
            QTimer.singleShot(0, self.fit_to_screen)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if not self._painted:  # on screen: now build the panes not in view, while the model loads
            self._painted = True
            self.lazy.build_rest_soon()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        QTimer.singleShot(0, self._fit_dock)  # after the layout has given out the new width

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.lazy.stop_building()
        self.chat.finish_for_quit()  # before storage closes: the partial reply is kept, marked stopped
        self.model_list.unsubscribe(self._on_model_list_changed)  # the list may outlive the window
        self.presets.unsubscribe(self._on_presets_changed)
        settings = QSettings(str(self.paths.config / "window.ini"), QSettings.Format.IniFormat)
        settings.setValue("geometry", self.saveGeometry())
        settings.setValue("state", self.saveState())
        settings.setValue("chatSplitter", self.chat.splitter.saveState())
        for _key, pane in self.panes:
            pane.flush()
        if self._on_close is not None:
            self._on_close()
        super().closeEvent(event)

