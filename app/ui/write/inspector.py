"""The token inspector: generated tokens shaded by probability, and what else the model considered.

Click a token to see its alternatives with their probabilities; choose one to
rewrite the suggestion from that token on.

Tokens are appended to the view as they arrive, each as one run of formatted
text: a batch costs what its own tokens cost, however long the suggestion has
grown (rebuilding the whole view per batch made a long suggestion quadratic).
Selecting a token re-formats that token and the one selected before, nothing else.
"""

from __future__ import annotations

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QColor, QFontDatabase, QTextBlockFormat, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QTextBrowser, QVBoxLayout, QWidget

from app.core.events import Alternative, TokenEvent
from app.ui.sampling.chart import token_label

SELECTED_COLOR = "#1f6feb"
LINE_BREAK = "\u2028"  # a line break inside the one paragraph (a new paragraph would cost a block per newline)


def probability_color(prob: float) -> QColor:
    """Green when the model was sure, through yellow, to red when it was guessing."""
    p = max(0.0, min(1.0, prob))
    return QColor.fromHslF(int(120 * p) / 360, 0.70, 0.85)


class TokenInspector(QWidget):
    """Shows the tokens of the current suggestion and their alternatives."""

    alternative_chosen = Signal(int, object)
    """(token index, Alternative): rewrite the suggestion from that token with this one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tokenInspector")
        self.tokens: list[TokenEvent] = []
        self._spans: list[tuple[int, int]] = []
        self.selected = -1
        self.view = QTextBrowser()
        self.view.setObjectName("tokenInspectorView")
        self.view.document().setDefaultFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.document().setUndoRedoEnabled(False)  # read-only: a history of every token would only cost
        self.view.setOpenLinks(False)
        self.view.setPlaceholderText("Continue the text to see each token the model picked, shaded by how sure it was.")
        self.alternatives = QListWidget()
        self.alternatives.setObjectName("inspectorAlternatives")
        self.alternatives.setToolTip("What else the model considered here. Double-click one to rewrite from it.")
        self.detail = QLabel("Click a token.")
        self.detail.setWordWrap(True)
        side = QVBoxLayout()
        side.addWidget(self.detail)
        side.addWidget(self.alternatives, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 3)
        layout.addLayout(side, 2)
        self.view.anchorClicked.connect(self._on_view_anchor_clicked)
        self.alternatives.itemActivated.connect(self._on_alternatives_item_activated)

    def set_tokens(self, tokens: list[TokenEvent]) -> None:
        """Show ``tokens`` instead of what is shown (a new or rewritten suggestion)."""
        self.tokens = []
        self._spans = []  # each token's [start, end) in the view's document
        self.view.clear()
        cursor = QTextCursor(self.view.document())
        block = QTextBlockFormat()
        block.setLineHeight(150, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value)
        cursor.setBlockFormat(block)
        self._append(tokens)
        if self.selected >= len(self.tokens):
            self.select(-1)
        elif self.selected >= 0:
            self._format(self.selected)

    def add_tokens(self, tokens: list[TokenEvent]) -> None:
        """Append a batch of a suggestion being written (costs what the batch costs)."""
        self._append(tokens)

    def _append(self, tokens: list[TokenEvent]) -> None:
        tokens = [t for t in tokens if t.token_id >= 0]
        if not tokens:
            return
        cursor = QTextCursor(self.view.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.beginEditBlock()
        for tok in tokens:
            index = len(self.tokens)
            self.tokens.append(tok)
            start = cursor.position()
            cursor.insertText(tok.text.replace("\n", "↵" + LINE_BREAK) or "∅", self._char_format(index))
            self._spans.append((start, cursor.position()))
        cursor.endEditBlock()

    def _char_format(self, index: int) -> QTextCharFormat:
        tok = self.tokens[index]
        prob = tok.prob if tok.prob is not None else 1.0
        fmt = QTextCharFormat()
        fmt.setAnchor(True)
        fmt.setAnchorHref(f"tok:{index}")
        fmt.setForeground(QColor("#1f2328"))
        fmt.setBackground(probability_color(prob))
        fmt.setToolTip(f"{prob * 100:.1f}%")
        if index == self.selected:
            fmt.setFontUnderline(True)
            fmt.setUnderlineColor(QColor(SELECTED_COLOR))
            fmt.setFontWeight(700)
        return fmt

    def _format(self, index: int) -> None:
        """Format token ``index`` again (it was selected or unselected)."""
        if not 0 <= index < len(self._spans):
            return
        start, end = self._spans[index]
        cursor = QTextCursor(self.view.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        cursor.setCharFormat(self._char_format(index))

    def select(self, index: int) -> None:
        before, self.selected = self.selected, index
        self._format(before)
        self._format(index)
        self.alternatives.clear()
        if not 0 <= index < len(self.tokens):
            self.detail.setText("Click a token.")
            return
        tok = self.tokens[index]
        prob = tok.prob if tok.prob is not None else 0.0
        self.detail.setText(f"Token {index + 1}: “{token_label(tok.text)}” — the model gave it {prob * 100:.1f}%.")
        for alt in tok.alternatives:
            item = QListWidgetItem(f"{alt.prob * 100:5.1f}%  {token_label(alt.text)}"
                                   + ("   ← picked" if alt.token_id == tok.token_id else ""))
            item.setData(256, alt)
            self.alternatives.addItem(item)

    def choose(self, index: int, alternative: Alternative) -> None:
        self.alternative_chosen.emit(index, alternative)

    def _on_view_anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() == "tok":
            self.select(int(url.path()))

    def _on_alternatives_item_activated(self, item: QListWidgetItem) -> None:
        alt = item.data(256)
        if alt is not None and self.selected >= 0:
            self.choose(self.selected, alt)
