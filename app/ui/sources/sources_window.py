"""The Sources panel in a window of its own, opened from a chat's Sources button (one at a time)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDialog, QVBoxLayout, QWidget

from app.core.sources.collections import Collections
from app.ui.sources.indexing import SourceIndexing
from app.ui.sources.sources_panel import SourcesPanel


class SourcesWindow(QDialog):
    """A non-modal window holding the Sources panel."""

    def __init__(self, collections: Collections, indexing: SourceIndexing, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sourcesWindow")
        self.setWindowTitle("Sources")
        self.resize(760, 440)
        self.panel = SourcesPanel(collections, indexing, self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel)


def open_sources_window(collections: Collections, indexing: SourceIndexing, parent: QWidget,
                        existing: list[Any]) -> SourcesWindow:
    """Show the Sources window (the one already open, if any)."""
    window = existing[0] if existing and isinstance(existing[0], SourcesWindow) else None
    if window is None:
        window = SourcesWindow(collections, indexing, parent)
    window.show()
    window.raise_()
    return window
