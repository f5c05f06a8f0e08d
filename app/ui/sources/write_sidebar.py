"""Write's sources sidebar: passages related to the paragraph at the cursor, as you write.

Searches the chosen collection by keywords (fast enough to run on the GUI thread,
tests/bench/sources.py: well under 100 ms at 100k passages) 400 ms after the cursor
or the paragraph last changed. A passage can be inserted as a quote with its
citation, or opened in its file.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.parts import CitationPart
from app.core.sources.collections import Collections
from app.core.sources.store import Hit

DELAY_MS = 400


def quote_text(hit: Hit) -> str:
    """A passage as a Markdown quote followed by where it is from."""
    body = "\n".join(f"> {line}" if line else ">" for line in hit.text.splitlines())
    return f"{body}\n>\n> — {hit.location}\n"


class SourcesSidebar(QWidget):
    """A collection chooser, the passages for the paragraph at the cursor, Insert quote and Open."""

    quote_requested = Signal(str)
    """Insert this quote (with its citation) at the cursor."""

    def __init__(self, collections: Collections, editor: QPlainTextEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("writeSourcesSidebar")
        self.collections = collections
        self.editor = editor
        self.hits: list[Hit] = []
        self.searched = ""
        self.opened: QWidget | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DELAY_MS)
        self._build()
        self._connect_signals()
        self.reload_collections()

    def _build(self) -> None:
        self.chooser = QComboBox(self)
        self.chooser.setObjectName("sidebarCollection")
        self.list = QListWidget(self)
        self.list.setObjectName("sidebarPassages")
        self.list.setWordWrap(True)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.insert_button = QPushButton("Insert quote")
        self.open_button = QPushButton("Open")
        row = QHBoxLayout()
        row.addWidget(self.insert_button)
        row.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(QLabel("<b>Sources</b> for this paragraph"))
        layout.addWidget(self.chooser)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.note)
        layout.addLayout(row)

    def _connect_signals(self) -> None:
        self.editor.cursorPositionChanged.connect(self._timer.start)
        self.editor.textChanged.connect(self._timer.start)
        self._timer.timeout.connect(self.refresh)
        self.chooser.currentTextChanged.connect(self._on_chooser_current_text_changed)
        self.insert_button.clicked.connect(self._on_insert_button_clicked)
        self.open_button.clicked.connect(self._on_open_button_clicked)
        self.list.itemDoubleClicked.connect(self._on_open_button_clicked)

    def reload_collections(self) -> None:
        keep = self.chooser.currentText()
        self.chooser.blockSignals(True)
        self.chooser.clear()
        self.chooser.addItems(self.collections.names())
        if keep:
            self.chooser.setCurrentText(keep)
        self.chooser.blockSignals(False)
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
        store = self.collections.open(name)
        try:
            hits = store.search(text[-600:], top=5, mode="keyword")
        finally:
            store.close()
        self._show(hits, "" if hits else "No passage of this collection shares words with this paragraph.")

    def _show(self, hits: list[Hit], note: str) -> None:
        self.hits = hits
        self.list.clear()
        for hit in hits:
            item = QListWidgetItem(f"{hit.location.rsplit('/', 1)[-1]}\n{' '.join(hit.text.split())[:160]}")
            item.setToolTip(hit.location)
            self.list.addItem(item)
        if hits:
            self.list.setCurrentRow(0)
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self.insert_button.setEnabled(bool(hits))
        self.open_button.setEnabled(bool(hits))

    def _current(self) -> Hit | None:
        row = self.list.currentRow()
        return self.hits[row] if 0 <= row < len(self.hits) else None

    def _on_chooser_current_text_changed(self, _name: str) -> None:
        self.searched = ""
        self.refresh()

    def _on_insert_button_clicked(self) -> None:
        hit = self._current()
        if hit is not None:
            cursor = self.editor.textCursor()
            cursor.movePosition(cursor.MoveOperation.EndOfBlock)
            cursor.insertText("\n\n" + quote_text(hit))
            self.quote_requested.emit(quote_text(hit))

    def _on_open_button_clicked(self) -> None:
        hit = self._current()
        if hit is not None:
            from app.ui.sources.passage_view import open_passage

            part = CitationPart(hit.path.rsplit("/", 1)[-1], f"{hit.path}:{hit.line}", hit.text)
            self.opened = open_passage(part, self)

