"""Write's sources sidebar: passages related to the paragraph at the cursor, as you write.

Searches the chosen collection by keywords (fast enough to run on the GUI thread,
tests/bench/sources.py: well under 100 ms at 100k passages) 400 ms after the cursor
or the paragraph last changed. The passage chosen in the list can be inserted at
the cursor as a quote with its citation (Enter, one Ctrl+Z in the text removes it),
added to the document's memory with its citation (Ctrl+M), or opened in its file
(Shift+Enter, or a double click); the same three are on the list's context menu.
What the writer's side does with a passage is ``PassageTarget``'s (the Write pane);
how a passage is written out is ``app.core.sources.quoting``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import InklingError
from app.core.parts import CitationPart
from app.core.sources.collections import Collections
from app.core.sources.quoting import citation
from app.core.sources.store import Hit
from app.ui.flow_layout import flow_row

if TYPE_CHECKING:
    from app.ui.write.write_pane import WritePane

DELAY_MS = 400
FEEDBACK_MS = 10_000  # how long the line saying what Insert / Add did stays
KEYS = {"quote": "Return", "memory": "Ctrl+M", "open": "Shift+Return"}


class PassageTarget(Protocol):
    """Where a passage goes: the open document (the Write pane). Each returns a line saying what it did."""

    def insert_quote(self, hit: Hit) -> str:
        """Quote ``hit`` with its citation at the cursor, as one undo step."""
        ...

    def add_to_memory(self, hit: Hit) -> str:
        """Append ``hit`` with its citation to the document's memory, saved with it."""
        ...


class SourcesSidebar(QWidget):
    """A collection chooser, the passages for the paragraph at the cursor, and what to do with one."""

    passage_used = Signal(str)
    """A passage was quoted or added to the memory (the line says which and where)."""
    leave_requested = Signal()
    """Esc in the passages: back to the text."""

    def __init__(self, collections: Collections, editor: QPlainTextEdit, parent: QWidget | None = None,
                 *, target: PassageTarget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("writeSourcesSidebar")
        self.collections = collections
        self.editor = editor
        self.target = target
        self.hits: list[Hit] = []
        self.searched = ""
        self.opened: QWidget | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DELAY_MS)
        self._feedback_timer = QTimer(self)
        self._feedback_timer.setSingleShot(True)
        self._feedback_timer.setInterval(FEEDBACK_MS)
        self._build()
        self._connect_signals()
        self.reload_collections()

    def _build(self) -> None:
        self.chooser = QComboBox(self)
        self.chooser.setObjectName("sidebarCollection")
        self.list = QListWidget(self)
        self.list.setObjectName("sidebarPassages")
        self.list.setWordWrap(True)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.feedback = QLabel(self)  # what the last Insert / Add did, for a few seconds (the status bar says it too)
        self.feedback.setObjectName("sidebarFeedback")
        self.feedback.setWordWrap(True)
        self.feedback.hide()
        self.quote_action = self._action("Insert as quote", "quote", "Insert the passage at the cursor as a quote "
                                         "with its file and line (Ctrl+Z in the text removes it)")
        self.memory_action = self._action("Add to memory", "memory", "Add the passage with its file and line to "
                                          "this document's memory: the model reads it before every continuation")
        self.open_action = self._action("Open", "open", "Show the passage in its file")
        self.insert_button = QPushButton("Insert as quote")
        self.insert_button.setObjectName("sidebarInsertQuoteButton")
        self.memory_button = QPushButton("Add to memory")
        self.memory_button.setObjectName("sidebarAddToMemoryButton")
        self.open_button = QPushButton("Open")
        self.open_button.setObjectName("sidebarOpenButton")
        for button, action in ((self.insert_button, self.quote_action), (self.memory_button, self.memory_action),
                               (self.open_button, self.open_action)):
            button.setToolTip(action.toolTip())
        title = QLabel("<b>Sources</b> for this paragraph")
        title.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(title)
        layout.addWidget(self.chooser)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.feedback)
        # the buttons wrap onto more lines in a narrow sidebar instead of widening it
        layout.addWidget(flow_row(self.insert_button, self.memory_button, self.open_button))

    def _action(self, text: str, key: str, tip: str) -> QAction:
        """An action on the chosen passage: on the context menu, its key works while the list has focus."""
        action = QAction(text, self.list)
        keys = [QKeySequence(KEYS[key])]
        if "Return" in KEYS[key]:  # the keypad's Enter too
            keys.append(QKeySequence(KEYS[key].replace("Return", "Enter")))
        action.setShortcuts(keys)
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        action.setToolTip(f"{tip} ({QKeySequence(KEYS[key]).toString(QKeySequence.SequenceFormat.NativeText)})")
        self.list.addAction(action)
        return action

    def _connect_signals(self) -> None:
        self.editor.cursorPositionChanged.connect(self._timer.start)
        self.editor.textChanged.connect(self._timer.start)
        self._timer.timeout.connect(self.refresh)
        self._feedback_timer.timeout.connect(self.feedback.hide)
        self.chooser.currentTextChanged.connect(self._on_chooser_current_text_changed)
        self.quote_action.triggered.connect(self.insert_quote)
        self.memory_action.triggered.connect(self.add_to_memory)
        self.open_action.triggered.connect(self.open_passage)
        self.insert_button.clicked.connect(self.insert_quote)
        self.memory_button.clicked.connect(self.add_to_memory)
        self.open_button.clicked.connect(self.open_passage)
        self.list.itemDoubleClicked.connect(self.open_passage)
        self.list.customContextMenuRequested.connect(self._on_list_custom_context_menu_requested)
        self.list.installEventFilter(self)  # Esc: back to the text

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (watched is self.list and event.type() == QEvent.Type.KeyPress
                and event.key() == Qt.Key.Key_Escape):  # type: ignore[attr-defined]
            self.leave_requested.emit()
            return True
        return super().eventFilter(watched, event)

    def reload_collections(self, *_args: object) -> None:
        """List the collections again (one was made or removed), keeping the one chosen if it is still there."""
        keep = self.chooser.currentText()
        self.chooser.blockSignals(True)
        self.chooser.clear()
        self.chooser.addItems(self.collections.names())
        if keep:
            self.chooser.setCurrentText(keep)
        self.chooser.blockSignals(False)
        self.searched = ""
        self.refresh()

    def paragraph(self) -> str:
        """The paragraph the cursor is in (lines up to the blank lines around it)."""
        block = self.editor.textCursor().block()
        lines = [block.text()]
        prev, nxt = block.previous(), block.next()
        while prev.isValid() and prev.text().strip():
            lines.insert(0, prev.text())
            prev = prev.previous()
        while nxt.isValid() and nxt.text().strip():
            lines.append(nxt.text())
            nxt = nxt.next()
        return "\n".join(lines).strip()

    def refresh(self) -> None:
        name = self.chooser.currentText()
        text = self.paragraph()
        if not name:
            self._show([], "Make a collection in the Sources panel to see related passages here.")
            return
        if not text:
            self._show([], "Write or move to a paragraph to see related passages.")
            return
        if text == self.searched and self.hits:
            return
        self.searched = text
        try:
            store = self.collections.open(name)
            try:
                hits = store.search(text[-600:], top=5, mode="keyword")
            finally:
                store.close()
        except InklingError as exc:  # e.g. removed behind the window's back (``inkling sources remove``)
            self.searched = ""
            self._show([], f"“{name}” cannot be read: {exc}")
            return
        self._show(hits, "" if hits else "No passage of this collection shares words with this paragraph.")

    def _show(self, hits: list[Hit], note: str) -> None:
        self.hits = hits
        self.list.clear()
        for hit in hits:
            item = QListWidgetItem(f"{citation(hit)}\n{' '.join(hit.text.split())[:160]}")
            item.setToolTip(hit.location)
            self.list.addItem(item)
        if hits:
            self.list.setCurrentRow(0)
        self.note.setText(note)
        self.note.setVisible(bool(note))
        usable = bool(hits)
        for action in (self.quote_action, self.memory_action):
            action.setEnabled(usable and self.target is not None)
        self.open_action.setEnabled(usable)
        for button, action in ((self.insert_button, self.quote_action), (self.memory_button, self.memory_action),
                               (self.open_button, self.open_action)):
            button.setEnabled(action.isEnabled())

    def current(self) -> Hit | None:
        """The passage chosen in the list (the first one shown, until another is chosen)."""
        row = self.list.currentRow()
        return self.hits[row] if 0 <= row < len(self.hits) else None

    def focus_passages(self) -> None:
        """Put the keyboard in the list of passages (F9 from the text)."""
        self.list.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # -- what to do with a passage -------------------------------------------------------

    def insert_quote(self) -> None:
        """Quote the chosen passage at the cursor, with its citation; the text gets the keyboard back."""
        hit = self.current()
        if hit is not None and self.target is not None:
            self._tell(self.target.insert_quote(hit))

    def add_to_memory(self) -> None:
        """Add the chosen passage, with its citation, to the document's memory."""
        hit = self.current()
        if hit is not None and self.target is not None:
            self._tell(self.target.add_to_memory(hit))

    def open_passage(self) -> None:
        hit = self.current()
        if hit is not None:
            from app.ui.sources.passage_view import open_passage

            part = CitationPart(hit.path.rsplit("/", 1)[-1], f"{hit.path}:{hit.line}", hit.text)
            self.opened = open_passage(part, self)

    def _tell(self, line: str) -> None:
        if line:
            self.feedback.setText(line)
            self.feedback.show()
            self._feedback_timer.start()
            self.passage_used.emit(line)

    def _on_list_custom_context_menu_requested(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is not None:
            self.list.setCurrentItem(item)
        if self.current() is None:
            return
        menu = QMenu(self)
        menu.setObjectName("sidebarPassageMenu")
        for action in (self.quote_action, self.memory_action, self.open_action):
            menu.addAction(action)
        menu.popup(self.list.viewport().mapToGlobal(pos))

    def _on_chooser_current_text_changed(self, _name: str) -> None:
        self.searched = ""
        self.refresh()


SIDEBAR_KEY = "F9"


def attach_write_sidebar(pane: WritePane, collections: Collections) -> SourcesSidebar:
    """Put a sources sidebar right of the Write pane's editor, with its toolbar toggle and F9.

    F9 from the text shows the sidebar (a narrow window folds it) and puts the keyboard in its
    passages; F9 or Esc there goes back to the text.
    """
    sidebar = SourcesSidebar(collections, pane.editor, target=pane)
    pane.sources_toggle = pane.add_side_panel(sidebar, "Sources", SIDEBAR_KEY)  # type: ignore[attr-defined]
    pane.sources_toggle.setObjectName("writeSourcesToggle")  # type: ignore[attr-defined]

    def on_key() -> None:
        index = pane.splitter.indexOf(sidebar)
        if not pane.side_panel_shown(index):
            pane.show_side_panel(index)
            sidebar.focus_passages()
        elif sidebar.list.hasFocus():
            pane.editor.setFocus()
        else:
            sidebar.focus_passages()

    shortcut = QShortcut(QKeySequence(SIDEBAR_KEY), pane)
    shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    shortcut.activated.connect(on_key)
    sidebar.leave_requested.connect(pane.editor.setFocus)
    return sidebar
