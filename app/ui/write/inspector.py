"""The token inspector: generated tokens shaded by probability, and what else the model considered.

Click a token to see its alternatives with their probabilities; choose one to
rewrite the suggestion from that token on.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QTextBrowser, QVBoxLayout, QWidget

from app.core.events import Alternative, TokenEvent
from app.ui.sampling.chart import token_label


def probability_color(prob: float) -> str:
    """Green when the model was sure, through yellow, to red when it was guessing."""
    p = max(0.0, min(1.0, prob))
    hue = int(120 * p)
    return f"hsl({hue}, 70%, 85%)"


class TokenInspector(QWidget):
    """Shows the tokens of the current suggestion and their alternatives."""

    alternative_chosen = Signal(int, object)
    """(token index, Alternative): rewrite the suggestion from that token with this one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tokenInspector")
        self.tokens: list[TokenEvent] = []
        self.selected = -1
        self.view = QTextBrowser()
        self.view.setObjectName("tokenInspectorView")
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
        self.tokens = [t for t in tokens if t.token_id >= 0]
        self._render()
        if self.selected >= len(self.tokens):
            self.select(-1)

    def add_tokens(self, tokens: list[TokenEvent]) -> None:
        self.tokens += [t for t in tokens if t.token_id >= 0]
        self._render()

    def _render(self) -> None:
        spans = []
        for i, tok in enumerate(self.tokens):
            prob = tok.prob if tok.prob is not None else 1.0
            border = "border: 1px solid #1f6feb;" if i == self.selected else ""
            text = html.escape(tok.text).replace("\n", "↵<br>") or "∅"
            spans.append(f'<a href="tok:{i}" style="color:#1f2328; text-decoration:none; '
                         f'background:{probability_color(prob)};{border}" title="{prob * 100:.1f}%">{text}</a>')
        self.view.setHtml("<div style='font-family:monospace; line-height:150%'>" + "".join(spans) + "</div>")

    def select(self, index: int) -> None:
        self.selected = index
        self.alternatives.clear()
        if not 0 <= index < len(self.tokens):
            self.detail.setText("Click a token.")
            self._render()
            return
        tok = self.tokens[index]
        prob = tok.prob if tok.prob is not None else 0.0
        self.detail.setText(f"Token {index + 1}: “{token_label(tok.text)}” — the model gave it {prob * 100:.1f}%.")
        for alt in tok.alternatives:
            item = QListWidgetItem(f"{alt.prob * 100:5.1f}%  {token_label(alt.text)}"
                                   + ("   ← picked" if alt.token_id == tok.token_id else ""))
            item.setData(256, alt)
            self.alternatives.addItem(item)
        self._render()

    def choose(self, index: int, alternative: Alternative) -> None:
        self.alternative_chosen.emit(index, alternative)

    def _on_view_anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() == "tok":
            self.select(int(url.path()))

    def _on_alternatives_item_activated(self, item: QListWidgetItem) -> None:
        alt = item.data(256)
        if alt is not None and self.selected >= 0:
            self.choose(self.selected, alt)
