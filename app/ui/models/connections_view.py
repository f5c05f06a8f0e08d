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
from app.core.connections import HIDDEN, Connection, ConnectionsChange, ConnectionStore, public_url, short_model_name
from app.core.errors import InklingError
from app.ui.flow_layout import flow_row, scrolling
from app.ui.jobs import when_done

Tester = Callable[[Connection], "Future[tuple[list[str], Capabilities]]"]
BADGE_WORDS = {"chat": "Chat", "raw_completion": "Raw completion", "alternatives": "Token probabilities",
               "scoring": "Scoring (echo)", "grammar": "Grammar"}


class ConnectionsView(QWidget):
    """The "Servers" tab of the Models pane: renders the ``ConnectionStore`` and forwards the person's intents.

    The store is the one writer of the connections; this view never saves anything
    itself. It subscribes to the store and re-renders after each change (its own or
    anyone's), and runs a test with ``tester`` only to hand the outcome to the store.
    """

    test_finished = Signal(str, bool)
    """A test of the connection with this id ended (succeeded?)."""

    def __init__(self, store: ConnectionStore, tester: Tester, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.tester = tester
        self._testing = 0  # tests in flight (the Test button is off while any runs)
        self._build()
        self._connect_signals()
        self._fill_list()
        store.subscribe(self._on_store_changed)

    @property
    def connections(self) -> list[Connection]:
        """The saved connections, as the store has them."""
        return self.store.connections

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
        connections = self.connections
        self.list_view.blockSignals(True)
        self.list_view.clear()
        for conn in connections:
            item = QListWidgetItem(self._item_text(conn))
            item.setData(Qt.ItemDataRole.UserRole, conn.id)
            self.list_view.addItem(item)
        self.list_view.blockSignals(False)
        self._select(select)

    def _select(self, connection_id: str) -> None:
        row = next((i for i, c in enumerate(self.connections) if c.id == connection_id), -1)
        self.list_view.setCurrentRow(row)
        self._on_list_current_row_changed(row)

    def _item_text(self, conn: Connection) -> str:
        """Its name, address and models, or why its last test failed, or that it was never tested."""
        models = ", ".join(short_model_name(m) for m in conn.models[:3])
        if conn.id in self.store.failures:
            models = f"✗ the last test failed{f' (models seen before: {models})' if models else ''}"
        return f"{conn.label}\n{public_url(conn.base_url)}\n{models or 'not tested yet'}"

    def _show_item_text(self, connection_id: str) -> None:
        connections = self.connections
        row = next((i for i, c in enumerate(connections) if c.id == connection_id), -1)
        if row >= 0 and self.list_view.item(row) is not None:
            self.list_view.item(row).setText(self._item_text(connections[row]))

    def _selected_id(self) -> str:
        """The id of the connection selected in the list (the list may be a change behind the store)."""
        item = self.list_view.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else ""

    def selected(self) -> Connection | None:
        return self.store.get(self._selected_id())

    def _on_list_current_row_changed(self, row: int) -> None:
        connections = self.connections
        conn = connections[row] if 0 <= row < len(connections) else None
        self.save_button.setEnabled(conn is not None)
        self.remove_button.setEnabled(conn is not None)
        if conn is None:
            self._show_badges(None)
            return
        self.name_edit.setText(conn.name)
        self.url_edit.setText(conn.base_url)
        self.key_edit.clear()
        self.key_edit.setPlaceholderText("saved — leave empty to keep it" if conn.api_key else "optional")
        self.headers_edit.setPlainText("\n".join(f"{k}: {HIDDEN}" for k, _ in conn.headers))
        self.extra_edit.setText(conn.extra_json)
        self._show_badges(conn)

    # -- add, edit, remove: intents for the store --------------------------------------------

    def _form_fields(self) -> tuple[str, str, str, str, str]:
        return (self.name_edit.text(), self.url_edit.text(), self.key_edit.text(), self.headers_edit.toPlainText(),
                self.extra_edit.text())

    def add_from_form(self) -> None:
        try:
            conn = self.store.add(*self._form_fields())
        except InklingError as exc:
            self._say(str(exc), error=True)
            return
        self._select(conn.id)
        self.test_selected()

    def save_form(self) -> None:
        base = self.selected()
        if base is None:
            return
        try:
            self.store.edit(base.id, *self._form_fields())
        except InklingError as exc:
            self._say(str(exc), error=True)
            return
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
        self._ask(lambda: self.store.remove(connection_id))

    def override(self, feature: str, on: bool) -> None:
        """The user clicked a badge: use ``on`` for ``feature`` whatever the probe found."""
        conn = self.selected()
        if conn is not None:
            self._ask(lambda: self.store.override(conn.id, feature, on))

    def _ask(self, change: Callable[[], object]) -> None:
        try:
            change()
        except InklingError as exc:
            self._say(str(exc), error=True)

    # -- test -------------------------------------------------------------------------------

    def test_selected(self) -> None:
        conn = self.selected()
        if conn is None:
            return
        self._say(f"Testing {conn.label}…")
        self._testing += 1
        self.test_button.setEnabled(False)
        when_done(self.tester(conn), lambda result, c=conn: self._on_tested(c, result),
                  lambda exc, c=conn: self._on_test_failed(c, exc), context=self)

    def _on_tested(self, tested: Connection, result: tuple[list[str], Capabilities]) -> None:
        self._test_ended()
        models, caps = result
        self._ask(lambda: self.store.tested(tested, models, caps))

    def _on_test_failed(self, tested: Connection, exc: BaseException) -> None:
        self._test_ended()
        self.store.test_failed(tested, str(exc))

    def _test_ended(self) -> None:
        self._testing -= 1
        self.test_button.setEnabled(self._testing == 0)

    # -- what the store announced ------------------------------------------------------------

    def _on_store_changed(self, change: ConnectionsChange) -> None:
        if change.kind == "test_failed":
            self._show_item_text(change.id)
            self._say(f"✗ {self.store.failures.get(change.id, '')}", error=True)
            self.test_finished.emit(change.id, False)
            return
        if change.kind == "tested":  # the list's text and the badges; the form keeps what is being typed
            self._show_item_text(change.id)
            if self._selected_id() == change.id:
                self._show_badges(self.store.get(change.id))
            self._say_tested(change.id)
            self.test_finished.emit(change.id, True)
            return
        keep = self._selected_id()
        self._fill_list("" if change.kind == "removed" and keep == change.id else keep)

    def _say_tested(self, connection_id: str) -> None:
        conn, caps = self.store.get(connection_id), self.store.capabilities.get(connection_id)
        if conn is None or caps is None:
            return
        n = len(conn.models)
        self._say(f"✓ {conn.label} answers: {n} model{'s' if n != 1 else ''}"
                  f" ({caps.server} server{f', {caps.context:,} tokens of context' if caps.context else ''}). "
                  "Choose one in the model selector.")

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setProperty("level", "error" if error else "")

    def _show_badges(self, conn: Connection | None) -> None:
        caps = self.store.capabilities.get(conn.id) if conn is not None else None
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
