"""Small pieces the panes share: a saver that is never stale for long, and an undo-delete button."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QPushButton, QWidget


class DebouncedSaver(QObject):
    """Calls ``save`` shortly after the last change, and at least every ``max_age`` seconds while changes go on.

    A writer who never pauses still has their text saved: a kill loses at most
    ``max_age`` plus the save itself.
    """

    def __init__(self, save: Callable[[], None], delay_ms: int, max_age: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._save = save
        self._max_age = max_age
        self._saved_at = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.flush)

    def touch(self) -> None:
        """Something changed."""
        if time.monotonic() - self._saved_at > self._max_age:
            self.flush()
        else:
            self._timer.start()

    def flush(self) -> None:
        """Save now."""
        self._timer.stop()
        self._saved_at = time.monotonic()
        self._save()


class UndoDeleteButton(QPushButton):
    """Shown for a while after a delete; each click brings back the most recent deleted item."""

    undo_requested = Signal(int)
    """Bring back the item with this id."""

    def __init__(self, text: str = "Undo delete", visible_ms: int = 10_000, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.deleted: list[int] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(visible_ms)
        self._timer.timeout.connect(self.hide)
        self.clicked.connect(self._on_self_clicked)
        self.hide()

    def remember(self, item_id: int) -> None:
        self.deleted.append(item_id)
        self.show()
        self._timer.start()

    def _on_self_clicked(self) -> None:
        if self.deleted:
            item_id = self.deleted.pop()
            self.setVisible(bool(self.deleted))
            self.undo_requested.emit(item_id)


def human_size(n: float) -> str:
    """1536 → '1.5 KB'-style sizes for people (binary units, one decimal from MB up)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit in ("B", "KB") else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
