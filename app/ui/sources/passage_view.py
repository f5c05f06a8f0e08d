"""A cited passage opened in place: its file's text, scrolled to the passage, the passage highlighted.

Opened from a reply's ``[n]`` link or from a "Sources used" line. The file is read
with the same readers the index used (so a PDF or DOCX shows its text), as plain
text: nothing in a source file is ever rendered as markup.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QDialog, QLabel, QPlainTextEdit, QTextEdit, QVBoxLayout, QWidget

from app.core.errors import UnreadableSource
from app.core.parts import CitationPart
from app.core.sources.readers import read_source
from app.core.sources.retrieval import passage_span, split_location

HIGHLIGHT = QColor("#fff3a3")


class PassageDialog(QDialog):
    """One passage in its file: a header with the file and line, the text read-only, the passage marked."""

    def __init__(self, part: CitationPart, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("passageDialog")
        self.part = part
        self.path, self.line = split_location(part.source)
        self.setWindowTitle(f"{part.title} — line {self.line}")
        self.resize(720, 460)
        layout = QVBoxLayout(self)
        self.header = QLabel(f"{self.path}, line {self.line}", self)
        self.header.setObjectName("passageHeader")
        self.header.setWordWrap(True)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("passageText")
        self.text.setReadOnly(True)
        layout.addWidget(self.header)
        layout.addWidget(self.text, 1)
        self.highlighted = ""
        self._fill()

    def _fill(self) -> None:
        try:
            content = read_source(self.path).text
        except UnreadableSource as exc:
            self.text.setPlainText(f"This file can't be opened now ({exc.reason}). The passage as it was read:\n\n"
                                   f"{self.part.quote}")
            return
        self.text.setPlainText(content)
        start, end = passage_span(content, self.line, self.part.quote)
        cursor = QTextCursor(self.text.document())
        cursor.setPosition(start)
        cursor.setPosition(min(end, len(content)), QTextCursor.MoveMode.KeepAnchor)
        self.highlighted = cursor.selectedText().replace("\u2029", "\n")
        mark = QTextEdit.ExtraSelection()
        fmt = QTextCharFormat()
        fmt.setBackground(HIGHLIGHT)
        mark.format = fmt
        mark.cursor = cursor
        self.text.setExtraSelections([mark])
        shown = QTextCursor(self.text.document())
        shown.setPosition(start)
        self.text.setTextCursor(shown)
        self.text.centerCursor()


def open_passage(part: CitationPart, parent: QWidget | None = None) -> PassageDialog:
    """Show ``part``'s passage in a window of its own (not modal: the chat stays usable)."""
    dialog = PassageDialog(part, parent)
    dialog.show()
    return dialog
