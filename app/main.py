"""The composition root: the one place that builds and wires everything.

``create_main_window()`` makes the fully wired window (preferences, storage,
engine client, model library) without entering the event loop; ``main()`` also
creates the QApplication and runs the loop. The engine process starts at once and
the last model (or the starter model) loads in the background, so the window is
on screen before any model work. The Write and Models panes are built when first
needed (after the window is on screen, or when their tab is chosen), and the
style sheet is applied once the window is built (see ``main``).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from app.core.connections import ConnectionStore, remote_entries
from app.core.errors import InklingError, StarterModelMissing
from app.core.events import LoadOptions
from app.core.model_list import ModelList
from app.core.paths import AppPaths, app_paths
from app.core.ports import ModelCatalogPort, ToolHostPort
from app.core.preferences import Preferences
from app.core.presets import PresetStore
from app.core.starter import starter_model_path
from app.core.storage import Storage
from app.core.tool_store import ToolStore
from app.engine.client import EngineClient
from app.engine.jobs import JobRunner
from app.engine.mcp_host import McpHost
from app.engine.switch import EngineSwitch
from app.models.library import ModelLibrary
from app.ui.chat.chat_pane import ChatPane
from app.ui.chat.chat_tools import ChatTools
from app.ui.engine_bridge import EngineBridge
from app.ui.main_window import MainWindow
from app.ui.single_instance import FileOpenFilter, SingleInstance, bring_to_front, hand_over, server_name
from app.ui.theme import apply_theme

if TYPE_CHECKING:  # the Write and Models panes are imported when first built (a faster start)
    from app.ui.models.models_pane import ModelsPane
    from app.ui.sources.indexing import SourceIndexing
    from app.ui.train.train_pane import TrainPane
    from app.ui.write.write_pane import WritePane


def _setup_logging(paths: AppPaths) -> None:
    root = logging.getLogger("inkling")
    if root.handlers:
        return
    handler = logging.handlers.RotatingFileHandler(paths.logs / "inkling.log", maxBytes=2_000_000, backupCount=3,
                                                   encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def compose_window(paths: AppPaths, prefs: Preferences, storage: Storage, bridge: EngineBridge,
                   catalog: ModelCatalogPort, *, models: Callable[[], ModelsPane] | None = None,
                   on_close: Callable[[], None] | None = None, model_list: ModelList | None = None) -> MainWindow:
    """The window over any engine and catalog: presets, the Chat and Write panes over their sessions, the window.

    ``catalog`` scans the local models into ``model_list`` (the one list every model view shows).

    Each pane opens its last chat or document with its settings resolved before the
    window shows it, and the window reads them from the pane: nothing is announced
    before anyone listens. Chat is built now; Write and ``models`` (a factory) when
    first needed.
    """
    presets = PresetStore(storage, prefs.default_preset)
    chat = ChatPane(storage, bridge, presets)
    _attach_sources(chat, paths)

    def build_write_pane() -> WritePane:
        from app.ui.write.write_pane import WritePane

        pane = WritePane(storage, bridge, presets)
        _attach_write_sources(pane, paths, getattr(chat, "sources_indexing", None))
        return pane

    return MainWindow(paths=paths, prefs=prefs, storage=storage, bridge=bridge, catalog=catalog, presets=presets,
                      chat=chat, write=build_write_pane, models=models, on_close=on_close, model_list=model_list)


def _attach_sources(chat: ChatPane, paths: AppPaths) -> None:
    """Source collections: chats read them before replying; the panel indexes them in a child process."""
    from app.core.sources.chat_sources import ChatSources
    from app.core.sources.collections import Collections

    collections = Collections(paths.sources)
    sources = ChatSources(collections, paths.config / "chat-sources.json")
    from app.engine.query_embedder import QueryEmbedderProcess

    query_process = QueryEmbedderProcess()  # the question embedded beside the window, never in it
    sources.query_embedder = query_process.for_spec
    chat.destroyed.connect(lambda *_: query_process.close())
    panel_holder: list[object] = []
    from PySide6.QtCore import QTimer

    from app.engine.jobs import JobRunner
    from app.ui.sources.indexing import SourceIndexing

    # indexing runs on the app's one child-process job runner; folders are watched while the window is open
    indexing = SourceIndexing(collections, JobRunner(), chat)
    QTimer.singleShot(3000, indexing, indexing.start)  # after the first paint: watch, and catch up with changes since

    def manage() -> None:
        from app.ui.sources.sources_window import open_sources_window

        panel_holder[:] = [open_sources_window(collections, indexing, chat, panel_holder[:1])]

    chat.attach_sources(sources, manage)
    chat.sources_indexing = indexing  # type: ignore[attr-defined]
    from app.ui.sources.chat_drop import ChatFileDrop

    chat.file_drop = ChatFileDrop(chat, sources, indexing)  # type: ignore[attr-defined]
    indexing.trouble.connect(chat.status_message)  # a watched change or the start's catch-up failed: say so


def _attach_write_sources(pane: WritePane, paths: AppPaths, indexing: SourceIndexing | None = None) -> None:
    """Write's sources sidebar: passages related to the paragraph at the cursor, beside the editor."""
    from app.core.sources.collections import Collections
    from app.ui.sources.write_sidebar import attach_write_sidebar

    # after the list, the editor and the Ask panel; folded in a narrow window, its toolbar toggle and F9 unfold it
    sidebar = attach_write_sidebar(pane, Collections(paths.sources))
    pane.sources_sidebar = sidebar  # type: ignore[attr-defined]
    if indexing is not None:  # a collection made or removed in Sources, or made by a drop on a chat: listed again
        indexing.collections_changed.connect(sidebar.reload_collections)
        indexing.started.connect(sidebar.reload_collections)
        indexing.ended.connect(sidebar.reload_collections)


def create_main_window(*, load_model: bool = True, files: list[str] | None = None) -> MainWindow:
    """Build the wired window under an existing QApplication (honours INKLING_HOME).

    ``files`` (from ``inkling model.gguf``, "Open with") are opened instead of the last model.
    """
    paths = app_paths().ensure()
    _setup_logging(paths)
    prefs = Preferences.load(paths.preferences)
    storage = Storage(paths.database)
    storage.mark_interrupted_streams()
    storage.purge_deleted(older_than=7 * 24 * 3600)
    engine = EngineClient(log_path=paths.engine_log)
    engine.start()
    options = LoadOptions(n_ctx=prefs.n_ctx, n_gpu_layers=prefs.n_gpu_layers, n_threads=prefs.n_threads or None)
    store = ConnectionStore(paths.connections, paths.connection_secrets)
    # the one place the backend switches: a file path loads locally, remote:<connection>:<model> on that server
    switch = EngineSwitch(engine, store.load, cache_path=paths.cache / "server-probes.json")
    bridge = EngineBridge(switch, options)
    library = ModelLibrary(paths.models, prefs.model_folders)
    # the one model list: local models as scanned, then each connection's (listed when last tested: no network)
    model_list = ModelList(remote=remote_entries(store.connections))

    tool_store = ToolStore(paths.tool_servers)
    tool_host = McpHost(tool_store.servers)

    def shutdown() -> None:
        tool_host.close()
        switch.close()
        storage.close()

    def free_vram() -> int:
        info = bridge.info
        return info.gpu_free_bytes if info is not None and info.gpu_offload_supported else 0

    def on_connections_changed(_change: object) -> None:
        saved = store.connections
        switch.update(saved)
        model_list.set_remote(remote_entries(saved))

    def remember_folders() -> None:
        prefs.model_folders = [str(f) for f in library.extra_folders]
        prefs.save(paths.preferences)

    def build_models_pane() -> ModelsPane:  # when first needed: its tab chosen, or the window on screen
        from app.models.manager import ModelManager
        from app.ui.models.connections_view import ConnectionsView
        from app.ui.models.models_pane import ModelsPane

        connections = ConnectionsView(store, switch.test_connection)
        pane = ModelsPane(ModelManager(library), storage, JobRunner(), lambda: bridge.options.n_ctx, free_vram, connections,
                          model_list=model_list, list_model=window.list_model)  # the selector's rows, shared
        pane.library_changed.connect(remember_folders)
        pane.use_model_requested.connect(window.load_model)
        return pane

    window = compose_window(paths, prefs, storage, bridge, library, models=build_models_pane, on_close=shutdown,
                            model_list=model_list)
    def build_train_pane() -> TrainPane:  # the Train tab (the training itself needs the extra inkling[train])
        from app.train.service import CANCEL_GRACE, TrainingService
        from app.ui.train.train_pane import TrainPane

        def base_model() -> str:
            info = bridge.info
            local = info is not None and Path(info.path).is_file()
            return info.path if local and info.architecture == "llama" else str(starter_model_path())

        service = TrainingService(paths.models / "adapters", paths.engine_log, database=paths.database,
                                  sources=paths.sources, cache=paths.cache / "jax")  # Write's documents, collections
        return TrainPane(service, JobRunner(grace=CANCEL_GRACE), base_model)

    window.lazy.add("train", "Train", build_train_pane)
    store.subscribe(on_connections_changed)  # the store announces every change; the Servers tab only asks for them
    add_tools(window, tool_store, tool_host)
    if prefs.warning:  # an unreadable preferences file was kept aside: say so, once
        window.notice.show_message(prefs.warning, level="warning")
    if files:
        open_files(window, files)
    elif load_model:
        model = prefs.model_path if prefs.model_path and Path(prefs.model_path).is_file() else ""
        if not model:
            try:
                model = str(starter_model_path())
            except StarterModelMissing as exc:
                window.presenter.present(exc)
        if model:
            window.load_model(model)
    return window


def add_tools(window: MainWindow, store: ToolStore, host: ToolHostPort) -> ChatTools:
    """Tools over MCP: the chat's tool turns and approval cards, and the Tools tab (built when first shown)."""
    from app.ui.tools.tools_pane import ToolsPane

    tools = ChatTools(window.chat, host, store)
    sources = window.chat.sources
    if sources is not None:  # a chat's collections offered as the search_sources tool, where it chose so
        from app.core.sources.source_tool import SearchSourcesTool

        tools.add_builtin(SearchSourcesTool(sources))
        sources.subscribe(tools.refresh)  # its collections or mode changed: offer the tool, or not

    def current_chat() -> int | None:
        return window.chat.session.id if window.chat.session is not None else None

    window.lazy.add("tools", "Tools", lambda: ToolsPane(store, host, current_chat))
    return tools


def open_files(window: MainWindow, files: list[str]) -> None:
    """Open files given on the command line or by "Open with": GGUF models are added in place and loaded."""
    models: list[Path] = []
    for name in files:
        path = Path(QUrl(name).toLocalFile() if name.startswith("file:") else name).expanduser().absolute()
        if path.suffix.lower() != ".gguf" or not path.is_file():
            window.presenter.present(InklingError(f"{path} is not a GGUF model file; Inkling opens .gguf files."))
            continue
        models.append(path)
    if not models:
        return
    if window.models is not None:
        for path in models:
            window.models.manager.add_folder(path.parent)
        window.models.refresh_library()
    window.load_model(str(models[0]))
    window.tabs.setCurrentWidget(window.chat)


def serve_later_launches(window: MainWindow, name: str) -> SingleInstance:
    """Listen for later launches (and macOS file-open events): open their files, bring the window to the front."""
    app = QApplication.instance()
    instance = SingleInstance(name, window)
    instance.listen()

    def received(files: list[str]) -> None:  # returns nothing: PySide6 mishandles a slot's return value
        open_files(window, files)
        bring_to_front(window)

    def opened(files: list[str]) -> None:
        open_files(window, files)

    instance.files_received.connect(received)
    file_events = FileOpenFilter(window)  # Qt drops the filter when the window (its parent) goes
    app.installEventFilter(file_events)  # type: ignore[union-attr]
    file_events.files_opened.connect(opened)
    window.single_instance = instance  # type: ignore[attr-defined]
    return instance


def main(files: list[str] | None = None) -> int:
    files = list(files or [])
    # the X11 WM_CLASS instance name is argv[0]'s base name: "__main__.py" under `python -m app`
    app = QApplication.instance() or QApplication(["inkling", *sys.argv[1:]])
    name = server_name(app_paths().data)
    if hand_over(name, files):
        return 0  # the running Inkling opens them and comes to the front
    app.setApplicationName("Inkling")
    app.setDesktopFileName("inkling")  # Wayland's app id, matching packaging/inkling.desktop
    app.setOrganizationName("Inkling")
    app.setWindowIcon(QIcon(str(Path(__file__).resolve().parents[1] / "resources" / "inkling.svg")))  # type: ignore[union-attr]
    window = create_main_window(files=files)
    # styled once the window is built: each widget is then polished once, when first shown; a style sheet
    # in place while the window is built re-polishes every subtree that a layout adopts (~0.1 s here)
    apply_theme(app)  # type: ignore[arg-type]
    serve_later_launches(window, name)
    window.presenter.install_hooks()
    window.show()
    return app.exec()
