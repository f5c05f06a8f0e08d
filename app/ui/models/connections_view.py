"""Connections to model servers elsewhere: add, edit, test, remove; what each server can do, as badges.

A connection is a name, an address, an optional API key, optional extra headers
and optional extra JSON for every request. "Test" lists the server's models and
probes what the first (or chosen) model can do; each capability is a badge the
user can click to override what the probe found. The key field never shows a
saved key back (it stays in the 0600 secrets file); leaving it empty keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.capabilities import FEATURES, Capabilities
from app.core.connections import Connection, ConnectionStore, public_url, short_model_name
from app.core.errors import InklingError
from app.ui.flow_layout import flow_row, scrolling
from app.ui.jobs import when_done

Tester = Callable[[Connection], "Future[tuple[list[str], Capabilities]]"]
BADGE_WORDS = {"chat": "Chat", "raw_completion": "Raw completion", "alternatives": "Token probabilities",
               "scoring": "Scoring (echo)", "grammar": "Grammar"}


class ConnectionsView(QWidget):
    """The "Servers" tab of the Models pane."""

    connections_changed = Signal(list)
    """The saved connections (or their models) changed: a list of Connection."""
    test_finished = Signal(str, bool)
    """A test of the connection with this id ended (succeeded?)."""

    def __init__(self, store: ConnectionStore, tester: Tester, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.tester = tester
        self.connections: list[Connection] = store.load()
        self.capabilities: dict[str, Capabilities] = {}  # what the last test found, per connection id
        self.failures: dict[str, str] = {}  # why the last test failed, per connection id (until one succeeds)
        self._build()
        self._connect_signals()
        self._fill_list()

    # -- layout -----------------------------------------------------------------------------

    def _build(self) -> None:
        self.list_view = QListWidget()
        self.list_view.setObjectName("connectionsView")
        self.list_view.setToolTip("Servers Inkling can use. Their models appear in the model selector.")
        self.list_view.setWordWrap(True)  # a narrow list wraps a long address instead of cutting what follows
        self.list_view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("connectionNameEdit")
        self.name_edit.setPlaceholderText("gpu-box")
        self.url_edit = QLineEdit()
        self.url_edit.setObjectName("connectionUrlEdit")
        self.url_edit.setPlaceholderText("http://localhost:8000/v1  (vLLM, llama-server, Ollama :11434, LM Studio :1234)")
        self.key_edit = QLineEdit()
        self.key_edit.setObjectName("connectionKeyEdit")
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("optional")
        self.headers_edit = QPlainTextEdit()
        self.headers_edit.setObjectName("connectionHeadersEdit")
        self.headers_edit.setPlaceholderText("optional, one per line:  X-Team: writers")
        self.headers_edit.setMaximumHeight(60)
        self.extra_edit = QLineEdit()
        self.extra_edit.setObjectName("connectionExtraEdit")
        self.extra_edit.setPlaceholderText('optional JSON sent with every request, e.g. {"top_a": 0.1}')
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)  # labels above: the fields keep the width
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Name", self.name_edit)
        form.addRow("Address", self.url_edit)
        form.addRow("API key", self.key_edit)
        form.addRow("Extra headers", self.headers_edit)
        form.addRow("Extra JSON", self.extra_edit)

        self.add_button = QPushButton("Add")
        self.add_button.setObjectName("addConnectionButton")
        self.save_button = QPushButton("Save changes")
        self.save_button.setObjectName("saveConnectionButton")
        self.test_button = QPushButton("Test")
        self.test_button.setObjectName("testConnectionButton")
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setObjectName("removeConnectionButton")
        buttons = flow_row(self.add_button, self.save_button, self.test_button, self.remove_button)

        self.status = QLabel("Add a server that speaks the OpenAI API; its models join the model selector.")
        self.status.setObjectName("connectionStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.badges: dict[str, QToolButton] = {}
        badges: list[QWidget] = []
        for feature in FEATURES:
            badge = QToolButton()
            badge.setObjectName(f"badge_{feature}")
            badge.setCheckable(True)
            badge.setEnabled(False)
            badge.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            self.badges[feature] = badge
            badges.append(badge)
        badge_row = flow_row(*badges, spacing=4)  # wraps in a narrow window
        self.details = QLabel()
        self.details.setObjectName("connectionDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addLayout(form)
        right_layout.addWidget(buttons)
        right_layout.addWidget(self.status)
        right_layout.addWidget(badge_row)
        right_layout.addWidget(self.details)
        right_layout.addStretch(1)
        # the form scrolls in a low window (its fields keep their height) and keeps a usable width in a narrow one
        self.form_area = scrolling(right)
        self.form_area.setObjectName("connectionFormArea")
        self.form_area.setMinimumWidth(260)
        self.list_view.setMinimumWidth(100)
        splitter = QSplitter()
        splitter.addWidget(self.list_view)
        splitter.addWidget(self.form_area)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self._show_badges(None)

    def _connect_signals(self) -> None:
        self.list_view.currentRowChanged.connect(self._on_list_current_row_changed)
        self.add_button.clicked.connect(self.add_from_form)
        self.save_button.clicked.connect(self.save_form)
        self.test_button.clicked.connect(self.test_selected)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        for feature, badge in self.badges.items():
            badge.clicked.connect(lambda checked, f=feature: self.override(f, checked))

    # -- list -------------------------------------------------------------------------------

    def _fill_list(self, select: str = "") -> None:
        self.list_view.blockSignals(True)
        self.list_view.clear()
        for conn in self.connections:
            item = QListWidgetItem(self._item_text(conn))
            item.setData(Qt.ItemDataRole.UserRole, conn.id)
            self.list_view.addItem(item)
        self.list_view.blockSignals(False)
        row = next((i for i, c in enumerate(self.connections) if c.id == select), -1)
        self.list_view.setCurrentRow(row)
        self._on_list_current_row_changed(row)

    def _item_text(self, conn: Connection) -> str:
        """Its name, address and models, or why its last test failed, or that it was never tested."""
        models = ", ".join(short_model_name(m) for m in conn.models[:3])
        if conn.id in self.failures:
            models = f"✗ the last test failed{f' (models seen before: {models})' if models else ''}"
        return f"{conn.label}\n{public_url(conn.base_url)}\n{models or 'not tested yet'}"

    def _show_item_text(self, connection_id: str) -> None:
        row = next((i for i, c in enumerate(self.connections) if c.id == connection_id), -1)
        if row >= 0 and self.list_view.item(row) is not None:
            self.list_view.item(row).setText(self._item_text(self.connections[row]))

    def selected(self) -> Connection | None:
        row = self.list_view.currentRow()
        return self.connections[row] if 0 <= row < len(self.connections) else None

    def _on_list_current_row_changed(self, row: int) -> None:
        conn = self.connections[row] if 0 <= row < len(self.connections) else None
        self.save_button.setEnabled(conn is not None)
        self.remove_button.setEnabled(conn is not None)
        if conn is None:
            self._show_badges(None)
            return
        self.name_edit.setText(conn.name)
        self.url_edit.setText(conn.base_url)
        self.key_edit.clear()
        self.key_edit.setPlaceholderText("saved — leave empty to keep it" if conn.api_key else "optional")
        self.headers_edit.setPlainText("\n".join(f"{k}: {'•••'}" for k, _ in conn.headers))
        self.extra_edit.setText(conn.extra_json)
        self._show_badges(conn)

    # -- add, edit, remove ------------------------------------------------------------------

    def _form(self, base: Connection | None) -> Connection:
        headers = []
        for line in self.headers_edit.toPlainText().splitlines():
            if line.strip():
                name, sep, value = line.partition(":")
                if not sep or not name.strip():
                    raise InklingError(f"Write each header as 'Name: value' (not {line.strip()[:40]!r})")
                value = value.strip()
                if value == "•••" and base is not None:  # unchanged: the saved value is kept
                    value = dict(base.headers).get(name.strip(), "")
                headers.append((name.strip(), value))
        key = self.key_edit.text().strip() or (base.api_key if base is not None else "")
        fresh = Connection.new(self.name_edit.text(), self.url_edit.text(), key, dict(headers), self.extra_edit.text())
        if base is None:
            return fresh
        same_server = fresh.base_url == base.base_url
        return base.replace(name=fresh.name, base_url=fresh.base_url, api_key=key, headers=fresh.headers,
                            extra_json=fresh.extra_json, models=base.models if same_server else ())

    def add_from_form(self) -> None:
        try:
            conn = self._form(None)
        except InklingError as exc:
            self._say(str(exc), error=True)
            return
        self.connections.append(conn)
        self._save(select=conn.id)
        self.test_selected()

    def save_form(self) -> None:
        base = self.selected()
        if base is None:
            return
        try:
            conn = self._form(base)
        except InklingError as exc:
            self._say(str(exc), error=True)
            return
        self._replace(conn)
        self.test_selected()

    def _on_remove_button_clicked(self) -> None:
        conn = self.selected()
        if conn is None:
            return
        answer = QMessageBox.question(self, "Remove connection",
                                      f"Remove {conn.label}? Chats that used its models keep their text.")
        if answer == QMessageBox.StandardButton.Yes:
            self.remove(conn.id)

    def remove(self, connection_id: str) -> None:
        self.connections = [c for c in self.connections if c.id != connection_id]
        self.capabilities.pop(connection_id, None)
        self.failures.pop(connection_id, None)
        self._save()

    def override(self, feature: str, on: bool) -> None:
        """The user clicked a badge: use ``on`` for ``feature`` whatever the probe found."""
        conn = self.selected()
        if conn is None:
            return
        overrides = dict(conn.overrides)
        overrides[feature] = on
        if conn.id in self.capabilities:
            self.capabilities[conn.id] = self.capabilities[conn.id].overridden({feature: on})
        self._replace(conn.replace(overrides=tuple(overrides.items())))

    def _replace(self, conn: Connection) -> None:
        self.connections = [conn if c.id == conn.id else c for c in self.connections]
        self._save(select=conn.id)

    def _save(self, select: str = "") -> None:
        try:
            self.store.save(self.connections)
        except OSError as exc:
            self._say(f"Could not save the connections: {exc.strerror or exc}", error=True)
        self._fill_list(select)
        self.connections_changed.emit(list(self.connections))

    # -- test -------------------------------------------------------------------------------

    def test_selected(self) -> None:
        conn = self.selected()
        if conn is None:
            return
        self._say(f"Testing {conn.label}…")
        self.test_button.setEnabled(False)
        when_done(self.tester(conn), lambda result, c=conn: self._on_tested(c.id, result),
                  lambda exc, c=conn: self._on_test_failed(c.id, exc), context=self)

    def _on_tested(self, connection_id: str, result: tuple[list[str], Capabilities]) -> None:
        self.test_button.setEnabled(True)
        models, caps = result
        self.capabilities[connection_id] = caps
        self.failures.pop(connection_id, None)
        self._show_item_text(connection_id)
        conn = next((c for c in self.connections if c.id == connection_id), None)
        if conn is None:
            return
        self._say(f"✓ {conn.label} answers: {len(models)} model{'s' if len(models) != 1 else ''}"
                  f" ({caps.server} server{f', {caps.context:,} tokens of context' if caps.context else ''}). "
                  "Choose one in the model selector.")
        if tuple(models) != conn.models:
            self._replace(conn.replace(models=tuple(models)))
        else:
            self._show_badges(conn)
        self.test_finished.emit(connection_id, True)

    def _on_test_failed(self, connection_id: str, exc: BaseException) -> None:
        self.test_button.setEnabled(True)
        self._say(f"✗ {exc}", error=True)
        self.failures[connection_id] = str(exc)
        self._show_item_text(connection_id)
        self.test_finished.emit(connection_id, False)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setProperty("level", "error" if error else "")

    def _show_badges(self, conn: Connection | None) -> None:
        caps = self.capabilities.get(conn.id) if conn is not None else None
        for feature, badge in self.badges.items():
            badge.blockSignals(True)
            if caps is None:
                badge.setText(f"? {BADGE_WORDS[feature]}")
                badge.setChecked(False)
                badge.setEnabled(False)
                badge.setToolTip("Test the connection to see what it can do.")
            else:
                on = bool(getattr(caps, feature))
                badge.setText(f"{'✓' if on else '✗'} {BADGE_WORDS[feature]}")
                badge.setChecked(on)
                badge.setEnabled(True)
                overridden = feature in dict(conn.overrides) if conn else False
                why = caps.why_not(feature) if not on else "Found by the probe."
                badge.setToolTip(f"{why}{' (your override)' if overridden else ''} Click to turn it "
                                 f"{'off' if on else 'on'} for this connection.")
            badge.blockSignals(False)
        if caps is None:
            self.details.setText("")
            return
        taken = ", ".join(sorted(caps.samplers)) or "none"
        self.details.setText(f"Sampling settings this server takes: {taken}. Others are shown as "
                             "“not applied on this server” when you use them.")

    def badge_data(self) -> dict[str, Any]:
        """What the badges show (for tests): feature -> (text, checked)."""
        return {f: (b.text(), b.isChecked()) for f, b in self.badges.items()}
