"""The Tools tab: the MCP servers, added from an ``mcpServers`` JSON, tested, and switched on or off per chat.

A person pastes (or opens) the ``mcpServers`` file that Claude Desktop or LM Studio
uses; each server is listed with what it runs, a Test button (start it and list its
tools) and a checkbox for the chat on screen. The ``ToolStore`` writes the file and
announces; this view only renders it and forwards intents.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import InklingError
from app.core.ports import ToolHostPort
from app.core.tool_store import ToolStore
from app.ui.jobs import when_done
from app.ui.pane import PreviewRequest

EXAMPLE = '{\n  "mcpServers": {\n    "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "~/notes"]}\n  }\n}'


class ToolsPane(QWidget):
    """The tool servers, and which of them the chat on screen uses."""

    status_message = Signal(str)
    """A line for the status bar."""
    session_changed = Signal()
    """(Pane protocol) this tab edits no session's sampling."""
    preview_changed = Signal()
    """(Pane protocol) nothing to preview here."""

    def __init__(self, store: ToolStore, host: ToolHostPort, current_chat: Callable[[], int | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolsPane")
        self.store = store
        self.host = host
        self.current_chat = current_chat
        self._found: dict[str, str] = {}  # server -> what its last test found
        self._build()
        self._connect_signals()
        self.render()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        intro = QLabel("Tool servers (MCP). Paste an <b>mcpServers</b> JSON — the file Claude Desktop or LM Studio "
                       "uses — and choose Add. A model may only run a tool after you allow it.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.list = QTreeWidget()
        self.list.setObjectName("toolServerList")
        self.list.setHeaderLabels(["This chat", "Server", "Runs", "Tools"])
        self.list.setRootIsDecorated(False)
        self.list.setColumnWidth(0, 70)
        self.list.setColumnWidth(1, 100)
        self.list.setColumnWidth(2, 160)
        layout.addWidget(self.list, 2)
        row = QHBoxLayout()
        self.test_button = QPushButton("Test")
        self.test_button.setObjectName("testToolServerButton")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("removeToolServerButton")
        row.addWidget(self.test_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.edit = QPlainTextEdit()
        self.edit.setObjectName("toolConfigEdit")
        self.edit.setPlaceholderText(EXAMPLE)
        layout.addWidget(self.edit, 1)
        row2 = QHBoxLayout()
        self.add_button = QPushButton("Add")
        self.add_button.setObjectName("addToolServersButton")
        self.open_button = QPushButton("Import a file…")
        self.open_button.setObjectName("importToolServersButton")
        row2.addWidget(self.add_button)
        row2.addWidget(self.open_button)
        row2.addStretch(1)
        layout.addLayout(row2)
        self.message = QLabel()
        self.message.setObjectName("toolsMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.message)

    def _connect_signals(self) -> None:
        self.add_button.clicked.connect(self._on_add_clicked)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.test_button.clicked.connect(self._on_test_clicked)
        self.remove_button.clicked.connect(self._on_remove_clicked)
        self.store.subscribe(self._on_store_changed)

    # -- the Pane protocol -------------------------------------------------------------------

    def sampling_owner(self) -> None:
        return None

    def preview_request(self) -> PreviewRequest | None:
        return None

    def flush(self) -> None:
        pass

    def stop(self) -> None:
        pass

    # -- rendering ---------------------------------------------------------------------------

    def render(self) -> None:
        """One row per server: its switch for the chat on screen, what it runs, what its test found."""
        self.list.clear()
        chat = self.current_chat()
        enabled = set(self.store.enabled_for(chat)) if chat is not None else set()
        for server in self.store.servers:
            found = self._found.get(server.name) or ("failed to start" if server.name in self.host.problems else "")
            item = QTreeWidgetItem(["", server.name, server.describe(), found])
            item.setToolTip(2, server.describe())
            item.setToolTip(3, self.host.problems.get(server.name, found))
            self.list.addTopLevelItem(item)
            box = QCheckBox()
            box.setObjectName(f"toolServerEnabled-{server.name}")
            box.setChecked(server.name in enabled)
            box.setEnabled(chat is not None and not server.disabled)
            box.toggled.connect(lambda on, name=server.name: self._on_enabled_toggled(name, on))
            self.list.setItemWidget(item, 0, box)
        if self.store.problem:
            self.message.setText(f"mcp.json could not be read: {self.store.problem}")

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt override: the chat on screen may have changed
        self.render()
        super().showEvent(event)  # type: ignore[arg-type]

    def _selected(self) -> str | None:
        item = self.list.currentItem() or self.list.topLevelItem(0)
        return item.text(1) if item is not None else None

    # -- intents -----------------------------------------------------------------------------

    def add_text(self, text: str) -> None:
        try:
            names = self.store.import_text(text)
        except InklingError as exc:
            self.message.setText(str(exc))
            return
        self.edit.clear()
        self.message.setText(f"Added: {', '.join(names)}")

    def _on_add_clicked(self) -> None:
        self.add_text(self.edit.toPlainText())

    def _on_open_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import MCP servers", "", "JSON (*.json);;All files (*)")
        if path:
            try:
                with open(path, encoding="utf-8") as f:
                    self.add_text(f.read())
            except OSError as exc:
                self.message.setText(f"{path} could not be read: {exc}")

    def test(self, name: str) -> None:
        self.message.setText(f"Starting {name}…")

        def found(specs: list) -> None:
            self._found[name] = ", ".join(s.name for s in specs) or "(no tools)"
            self.message.setText(f"{name}: {len(specs)} tools")
            self.render()

        def failed(exc: BaseException) -> None:
            self._found[name] = "failed"
            self.message.setText(str(exc))
            self.render()

        when_done(self.host.test_async(name), found, failed, self)

    def _on_test_clicked(self) -> None:
        name = self._selected()
        if name:
            self.test(name)

    def _on_remove_clicked(self) -> None:
        name = self._selected()
        if name:
            self.store.remove(name)

    def _on_enabled_toggled(self, name: str, on: bool) -> None:
        chat = self.current_chat()
        if chat is not None:
            self.store.set_enabled(chat, name, on)

    def _on_store_changed(self, _store: ToolStore, _what: str) -> None:
        self.render()
