"""The downloads queue: progress bar, speed, ETA, and pause / resume / cancel for each file."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.ui.widgets import human_size


def human_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


STATUS_TEXT = {"queued": "Waiting", "downloading": "Downloading", "paused": "Paused", "verifying": "Checking sha256…",
               "done": "Done ✓", "failed": "Failed", "cancelled": "Cancelled"}


class DownloadsView(QTableWidget):
    """One row per download; rows update in place."""

    action_requested = Signal(int, str)
    """(download id, 'pause' | 'resume' | 'cancel')."""

    COLUMNS = ("File", "Progress", "Speed", "Time left", "Status", "")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self.setObjectName("downloadsView")
        self.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().hide()
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.rows: dict[int, int] = {}

    def update_download(self, d: Any) -> None:
        row = self.rows.get(d.id)
        if row is None:
            row = self.rowCount()
            self.insertRow(row)
            self.rows[d.id] = row
            bar = QProgressBar()
            bar.setRange(0, 1000)
            self.setCellWidget(row, 1, bar)
            buttons = QWidget()
            layout = QHBoxLayout(buttons)
            layout.setContentsMargins(2, 0, 2, 0)
            toggle = QPushButton("Pause")
            toggle.setObjectName(f"downloadToggle{d.id}")
            cancel = QPushButton("Cancel")
            cancel.setObjectName(f"downloadCancel{d.id}")
            toggle.clicked.connect(lambda _=False, i=d.id, b=toggle: self._on_toggle(i, b))
            cancel.clicked.connect(lambda _=False, i=d.id: self.action_requested.emit(i, "cancel"))
            layout.addWidget(toggle)
            layout.addWidget(cancel)
            self.setCellWidget(row, 5, buttons)
        self.setItem(row, 0, QTableWidgetItem(f"{d.repo_id}/{d.filename}"))
        bar = self.cellWidget(row, 1)
        bar.setValue(int(d.fraction * 1000))  # type: ignore[attr-defined]
        bar.setFormat(f"{human_size(d.downloaded)} / {human_size(d.size)} ({d.fraction * 100:.0f}%)")  # type: ignore[attr-defined]
        self.setItem(row, 2, QTableWidgetItem(f"{human_size(d.speed)}/s" if d.speed else ""))
        self.setItem(row, 3, QTableWidgetItem(human_eta(d.eta) if d.status == "downloading" else ""))
        status = STATUS_TEXT.get(d.status, d.status) + (f": {d.error}" if d.error else "")
        item = QTableWidgetItem(status)
        item.setToolTip(status)
        self.setItem(row, 4, item)
        buttons = self.cellWidget(row, 5)
        toggle = buttons.findChild(QPushButton, f"downloadToggle{d.id}")
        cancel = buttons.findChild(QPushButton, f"downloadCancel{d.id}")
        finished = d.status in ("done", "cancelled")
        resume = d.status in ("paused", "failed")
        toggle.setText("Resume" if resume else "Pause")
        toggle.setProperty("action", "resume" if resume else "pause")  # what a click asks for (not read from its words)
        toggle.setEnabled(not finished and d.status != "verifying")
        cancel.setEnabled(not finished)

    def _on_toggle(self, download_id: int, button: QPushButton) -> None:
        self.action_requested.emit(download_id, button.property("action") or "pause")

    def status_of(self, download_id: int) -> str:
        row = self.rows.get(download_id)
        item = self.item(row, 4) if row is not None else None
        return item.text() if item else ""
