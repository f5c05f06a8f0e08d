"""The next-token picture: the top candidates' probabilities before and after the settings."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.core.sampling_math import Picture

ROWS = 20
RULED_OUT = "✕"
CHART_LEGEND = (f"<b>{RULED_OUT}</b> your settings rule this token out · <b>∅</b> a token with no text · "
                "<b>␣</b> a space · <b>↵</b> a new line · <b>⇥</b> a tab · <b>�</b> part of a character that takes several tokens")


def token_label(text: str) -> str:
    """Make whitespace visible: a token may be a space or a newline."""
    shown = text.replace("\n", "↵").replace("\t", "⇥")
    if shown.startswith(" "):
        shown = "␣" + shown[1:]
    return shown or "∅"


class NextTokenChart(QWidget):
    """Horizontal bars: grey is the model's own probability, blue is after your settings.

    A candidate XTC sets aside when it fires gets an orange mark and "XTC" beside its
    bar; its blue bar is what remains of it on average (when XTC does not fire).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("nextTokenChart")
        self.picture: Picture | None = None
        self.message = "Load a model and type something to see which tokens could come next."
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(ROWS * 16 + 30)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(320, ROWS * 16 + 30)

    def set_picture(self, picture: Picture | None, message: str = "") -> None:
        self.picture = picture
        self.message = message
        self.update()

    def rows(self) -> list[tuple[str, float, float]]:
        """(label, before, after) for the rows drawn — what a test or a screen reader reads."""
        if self.picture is None:
            return []
        p = self.picture
        return [(token_label(c.text), b, a) for c, b, a in zip(p.candidates, p.before, p.after, strict=True)][:ROWS]

    def xtc_rows(self) -> list[str]:
        """Labels of the rows drawn with XTC's cut (the candidates it sets aside when it fires)."""
        if self.picture is None:
            return []
        return [token_label(self.picture.candidates[i].text) for i in self.picture.xtc_cut if i < ROWS]

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rows = self.rows()
        pal = self.palette()
        if not rows:
            painter.setPen(pal.placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
            return
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        painter.setFont(font)
        label_w = 90
        pct_w = 84
        bar_w = max(40, self.width() - label_w - pct_w - 8)
        row_h = 16
        painter.setPen(pal.text().color())
        metrics = painter.fontMetrics()
        x = 4.0
        legend = [("the model alone", "#b0b7c0"), ("after your settings", "#2f81f7")]
        if self.picture is not None and self.picture.xtc_cut:
            legend.append(("XTC cut", "#e8710a"))
        for text, color in legend:
            painter.fillRect(QRectF(x, 4, 10, 8), QColor(color))
            x += 14
            painter.drawText(QRectF(x, 0, metrics.horizontalAdvance(text) + 2, 16), Qt.AlignmentFlag.AlignVCenter, text)
            x += metrics.horizontalAdvance(text) + 16
        top = max(max(b for _, b, _ in rows), max(a for _, _, a in rows), 1e-9)
        cut = set(self.picture.xtc_cut) if self.picture is not None else set()
        for i, (label, before, after) in enumerate(rows):
            y = 20 + i * row_h
            if i in cut:  # XTC sets this one aside when it fires
                painter.fillRect(QRectF(label_w - 3, y + 1, 3, row_h - 2), QColor("#e8710a"))
            painter.setPen(pal.text().color())
            painter.drawText(QRectF(0, y, label_w - 4, row_h), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             label[:14])
            painter.fillRect(QRectF(label_w, y + 2, bar_w * before / top, 5), QColor("#b0b7c0"))
            color = QColor("#2f81f7") if after > 0 else QColor("#d0d7de")
            painter.fillRect(QRectF(label_w, y + 8, max(1.0, bar_w * after / top) if after > 0 else 0, 6), color)
            if i in cut:
                painter.setPen(QColor("#e8710a"))
            painter.drawText(QRectF(label_w + bar_w + 4, y, pct_w, row_h), Qt.AlignmentFlag.AlignVCenter,
                             f"{before * 100:4.1f}→{after * 100:4.1f}%" if after > 0 else f"{before * 100:4.1f}% {RULED_OUT}")
