"""The document editor with an inline suggestion and surprise shading.

A suggestion is real text inserted at the cursor in a distinct style, built as one
undo block while it streams. Tab accepts it (it becomes ordinary text, and one
Ctrl+Z removes it again); Esc rejects it (it is removed, and nothing remains in
the undo history); typing anything else rejects it first. ``content()`` never
includes a pending suggestion, so autosave only stores what the writer accepted.

On a document longer than the model's context, the text before the model's view is
shaded and a dashed marker with a caption shows where the view begins.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QHelpEvent,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QToolTip, QWidget

from app.core.events import ScoredToken

SUGGESTION_COLOR = QColor("#1f6feb")
OUTSIDE_VIEW_SHADE = QColor(120, 120, 130, 60)
VIEW_MARKER_COLOR = QColor("#8250df")


def suggestion_format() -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(SUGGESTION_COLOR)
    fmt.setBackground(QColor("#ddf4ff"))
    fmt.setFontItalic(True)
    return fmt


def surprise_color(logprob: float) -> QColor:
    """White for expected text, deepening orange for surprising text (by bits of surprise)."""
    bits = min(-logprob / 0.6931, 16.0)
    strength = min(max((bits - 1.0) / 11.0, 0.0), 1.0)
    return QColor.fromHsvF(0.08, 0.65 * strength, 1.0)


class WriterEditor(QPlainTextEdit):
    """Plain-text editor that can host one pending suggestion at a time."""

    accept_requested = Signal()
    """Tab pressed while a suggestion is shown."""
    escape_pressed = Signal()
    """Esc pressed while a suggestion is shown (stop it if it streams, else reject it)."""
    typed_over = Signal()
    """The writer edits while a suggestion is shown: it is kept as their text before the edit applies."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("writerEditor")
        font = QFont("serif")
        font.setPointSize(12)
        self.setFont(font)
        self.setPlaceholderText("Start writing. Press Ctrl+Space (or Continue) and the model continues at the cursor.")
        self.suggestion_start = -1
        self.suggestion_text = ""
        self._scores: list[tuple[int, int, ScoredToken]] = []
        self.view_start = 0  # where the model's view of the text begins (0: it sees all of it)

    # -- suggestion ------------------------------------------------------------------------

    @property
    def has_suggestion(self) -> bool:
        return self.suggestion_start >= 0

    def begin_suggestion(self) -> None:
        """Mark the cursor as where the suggestion goes (nothing is inserted yet)."""
        self.clear_surprise()
        cursor = self.textCursor()
        cursor.clearSelection()
        self.setTextCursor(cursor)
        self.suggestion_start = cursor.position()
        self.suggestion_text = ""

    def append_suggestion(self, text: str) -> None:
        if not self.has_suggestion or not text:
            return
        cursor = QTextCursor(self.document())
        cursor.setPosition(self.suggestion_start + len(self.suggestion_text))
        if self.suggestion_text:
            cursor.joinPreviousEditBlock()  # the whole suggestion is one undo step
        else:
            cursor.beginEditBlock()
        cursor.insertText(text, suggestion_format())
        cursor.endEditBlock()
        self.suggestion_text += text

    def replace_suggestion(self, text: str) -> None:
        """Show another suggestion at the same place (regenerate, an alternative)."""
        start = self.suggestion_start
        self.discard_suggestion()
        cursor = self.textCursor()
        cursor.setPosition(start)
        self.setTextCursor(cursor)
        self.begin_suggestion()
        self.append_suggestion(text)

    def accept_suggestion(self, move_cursor: bool = True) -> str:
        """Make the suggestion ordinary text, joined to its own undo step; return it."""
        if not self.has_suggestion:
            return ""
        text = self.suggestion_text
        if text:
            cursor = QTextCursor(self.document())
            cursor.setPosition(self.suggestion_start)
            cursor.setPosition(self.suggestion_start + len(text), QTextCursor.MoveMode.KeepAnchor)
            cursor.joinPreviousEditBlock()
            cursor.setCharFormat(QTextCharFormat())
            cursor.endEditBlock()
            if move_cursor:
                end = QTextCursor(self.document())
                end.setPosition(self.suggestion_start + len(text))
                self.setTextCursor(end)
        self.suggestion_start = -1
        self.suggestion_text = ""
        return text

    def discard_suggestion(self) -> None:
        """Remove the suggestion as if it had never been there (no undo entry stays)."""
        if not self.has_suggestion:
            return
        if self.suggestion_text:
            self.document().undo()  # the suggestion is exactly the last undo block
            self.document().clearUndoRedoStacks(QTextDocument.Stacks.RedoStack)
        cursor = self.textCursor()
        cursor.setPosition(min(self.suggestion_start, len(self.toPlainText())))
        self.setTextCursor(cursor)
        self.suggestion_start = -1
        self.suggestion_text = ""

    def content(self) -> str:
        """The document without any pending suggestion."""
        text = self.toPlainText()
        if self.has_suggestion and self.suggestion_text:
            s = self.suggestion_start
            return text[:s] + text[s + len(self.suggestion_text):]
        return text

    def context_at_cursor(self) -> tuple[str, str]:
        """(text before the cursor, text after it), ignoring a pending suggestion."""
        text = self.content()
        pos = self.suggestion_start if self.has_suggestion else self.textCursor().position()
        return text[:pos], text[pos:]

    def text_around(self, position: int) -> tuple[str, str]:
        """(text before, text after) a cursor ``position`` (Qt counts UTF-16 units, Python characters)."""
        units = self.toPlainText().encode("utf-16-le")
        return (units[:2 * position].decode("utf-16-le", "replace"),
                units[2 * position:].decode("utf-16-le", "replace"))

    def insert_at(self, position: int, text: str) -> None:
        """Insert ``text`` at ``position`` as one undo step, in the plain style, and put the cursor after it."""
        cursor = QTextCursor(self.document())
        cursor.setPosition(position)
        cursor.beginEditBlock()
        cursor.insertText(text, QTextCharFormat())
        cursor.endEditBlock()
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if self.has_suggestion:
            if event.key() == Qt.Key.Key_Tab:
                self.accept_requested.emit()
                return
            if event.key() == Qt.Key.Key_Escape:
                self.escape_pressed.emit()
                return
            if event.text() or event.key() in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete, Qt.Key.Key_Return):
                self.typed_over.emit()
        super().keyPressEvent(event)

    # -- the model's view -----------------------------------------------------------------

    def set_view_start(self, position: int) -> None:
        """Shade the text before ``position`` and mark where the model's view begins (0: no marker)."""
        position = max(0, min(position, len(self.toPlainText())))
        if position != self.view_start:
            self.view_start = position
            self.viewport().update()

    def view_marker_y(self) -> float | None:
        """The marker's height in the viewport, or None when there is no marker (a test reads it)."""
        if self.view_start <= 0:
            return None
        cursor = QTextCursor(self.document())
        cursor.setPosition(min(self.view_start, len(self.toPlainText())))
        return float(self.cursorRect(cursor).top())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        y = self.view_marker_y()
        if y is None or y < 0:  # no marker, or it is scrolled above: all that shows is in view
            return
        painter = QPainter(self.viewport())
        width = self.viewport().width()
        painter.fillRect(QRectF(0, 0, width, y), OUTSIDE_VIEW_SHADE)
        painter.fillRect(QRectF(0, 0, 5, y), VIEW_MARKER_COLOR)  # the margin of the part the model cannot see
        pen = QPen(VIEW_MARKER_COLOR, 2, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawLine(0, int(y), width, int(y))
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 3))
        font.setItalic(True)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        caption = "▲ outside the model's view   ·   the model's view begins here ▼"
        if metrics.horizontalAdvance(caption) + 24 > width:  # a narrow editor: the short form
            caption = "the model's view begins here ▼"
        advance = metrics.horizontalAdvance(caption)
        # right-aligned, but never over the margin strip (a narrow window would cover it)
        box = QRectF(max(8.0, width - advance - 14), y - metrics.height() - 2, advance + 10, metrics.height() + 2)
        painter.fillRect(box, QColor(255, 255, 255, 220))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, caption)
        painter.end()

    # -- surprise shading ------------------------------------------------------------------

    def show_surprise(self, start: int, tokens: list[ScoredToken]) -> None:
        """Shade each token of the text that begins at ``start`` by how surprising it was."""
        selections = []
        self._scores = []
        pos = start
        for tok in tokens:
            end = pos + len(tok.text)
            if tok.logprob is not None and tok.text.strip():
                sel = QTextEdit.ExtraSelection()
                cursor = QTextCursor(self.document())
                cursor.setPosition(pos)
                cursor.setPosition(min(end, len(self.toPlainText())), QTextCursor.MoveMode.KeepAnchor)
                sel.cursor = cursor
                sel.format.setBackground(surprise_color(tok.logprob))
                sel.format.setProperty(QTextFormat.Property.UserProperty, tok.logprob)
                selections.append(sel)
            self._scores.append((pos, end, tok))
            pos = end
        self.setExtraSelections(selections)

    def clear_surprise(self) -> None:
        self._scores = []
        self.setExtraSelections([])

    def scored_token_at(self, position: int) -> ScoredToken | None:
        for start, end, tok in self._scores:
            if start <= position < end:
                return tok
        return None

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and self._scores:
            help_event: QHelpEvent = event  # type: ignore[assignment]
            pos = self.cursorForPosition(help_event.pos()).position()
            tok = self.scored_token_at(pos)
            if tok is not None and tok.logprob is not None:
                QToolTip.showText(help_event.globalPos(), surprise_tooltip(tok), self)
                return True
        return super().event(event)


def surprise_tooltip(tok: ScoredToken) -> str:
    import math

    prob = math.exp(tok.logprob) if tok.logprob is not None else 0.0
    bits = -(tok.logprob or 0.0) / math.log(2)
    lines = [f"“{tok.text.strip()}”: {prob * 100:.1f}% likely ({bits:.1f} bits of surprise)"]
    if tok.expected:
        guesses = ", ".join(f"“{a.text.strip() or a.text}” {a.prob * 100:.0f}%" for a in tok.expected[:3])
        lines.append(f"The model expected: {guesses}")
    return "\n".join(lines)
