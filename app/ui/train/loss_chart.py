"""The live loss chart: training loss per step (thin), train and validation loss per epoch (dots), best epoch marked."""

from __future__ import annotations

import itertools
import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

TRAIN = QColor("#3b82f6")
VAL = QColor("#f59e0b")
BEST = QColor("#16a34a")


class LossChart(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("lossChart")
        self.setMinimumHeight(140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.clear()

    def clear(self) -> None:
        self.steps: list[tuple[int, float]] = []  # (global step, loss)
        self.epochs: list[tuple[int, float, float]] = []  # (epoch, train loss, val loss)
        self.steps_per_epoch = 1
        self.total_epochs = 1
        self.base_val: float | None = None
        self.best_epoch = 0
        self.update()

    def set_plan(self, steps_per_epoch: int, epochs: int, base_val: float | None) -> None:
        self.steps_per_epoch, self.total_epochs, self.base_val = max(1, steps_per_epoch), max(1, epochs), base_val
        self.update()

    def add_step(self, step: int, loss: float) -> None:
        self.steps.append((step, loss))
        self.update()

    def add_epoch(self, epoch: int, train: float, val: float, best: bool) -> None:
        self.epochs.append((epoch, train, val))
        if best:
            self.best_epoch = epoch
        self.update()

    def paintEvent(self, _event: object) -> None:  # noqa: N802 (Qt's name)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.base())
        plot = QRectF(self.rect()).adjusted(44, 10, -12, -26)
        values = [v for _, v in self.steps] + [v for e in self.epochs for v in e[1:]]
        if self.base_val is not None:
            values.append(self.base_val)
        values = [v for v in values if math.isfinite(v)]
        p.setPen(pal.text().color())
        if not values:
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter, "The training and validation loss appear here as it trains.")
            return
        top, bottom = max(values) * 1.05, max(0.0, min(values) * 0.9)
        total = self.steps_per_epoch * self.total_epochs

        def at(step: float, loss: float) -> QPointF:
            x = plot.left() + plot.width() * step / max(total, 1)
            y = plot.bottom() - plot.height() * (loss - bottom) / max(top - bottom, 1e-9)
            return QPointF(x, y)

        grid = QColor(pal.text().color())
        grid.setAlpha(60)
        p.setPen(QPen(grid, 1))
        p.drawRect(plot)
        for i in range(1, self.total_epochs):
            x = plot.left() + plot.width() * i / self.total_epochs
            p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
        p.setPen(pal.text().color())
        for frac in (0.0, 0.5, 1.0):
            v = bottom + (top - bottom) * frac
            y = plot.bottom() - plot.height() * frac
            p.drawText(QRectF(0, y - 8, 40, 16), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{v:.2f}")
        for e in range(1, self.total_epochs + 1):
            x = plot.left() + plot.width() * (e - 0.5) / self.total_epochs
            p.drawText(QRectF(x - 30, plot.bottom() + 4, 60, 18), Qt.AlignmentFlag.AlignCenter, f"epoch {e}")
        if self.best_epoch:
            x = plot.left() + plot.width() * self.best_epoch / self.total_epochs
            p.setPen(QPen(BEST, 2, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
            left_half = x < plot.center().x()
            box = QRectF(x + 4, plot.bottom() - 18, 90, 16) if left_half else QRectF(x - 94, plot.bottom() - 18, 90, 16)
            p.drawText(box, Qt.AlignmentFlag.AlignLeft if left_half else Qt.AlignmentFlag.AlignRight,
                       f"best: epoch {self.best_epoch}")
        if self.steps:
            path = QPainterPath(at(*self.steps[0]))
            for s, v in self.steps[1:]:
                path.lineTo(at(s, v))
            faint = QColor(TRAIN)
            faint.setAlpha(120)
            p.setPen(QPen(faint, 1))
            p.drawPath(path)
        for colour, index in ((TRAIN, 1), (VAL, 2)):
            pts = [at(e[0] * self.steps_per_epoch, e[index]) for e in self.epochs]
            if self.base_val is not None and index == 2:
                pts.insert(0, at(0, self.base_val))
            p.setPen(QPen(colour, 2))
            for a, b in itertools.pairwise(pts):
                p.drawLine(a, b)
            p.setBrush(colour)
            for pt in pts:
                p.drawEllipse(pt, 3.5, 3.5)
        right = Qt.AlignmentFlag.AlignRight
        p.setPen(TRAIN)
        p.drawText(QRectF(plot.right() - 206, plot.top() + 2, 200, 16), right, "training loss —")
        p.setPen(VAL)
        p.drawText(QRectF(plot.right() - 206, plot.top() + 18, 200, 16), right, "validation loss —")
