"""Tabs whose pages are built when first needed, so the window is on screen sooner.

A page given as a factory sits in its tab as an empty placeholder until it is
needed: when its tab becomes the current one (a click, Ctrl+2, a menu), when code
asks for it (``page(title)``), or when the window has painted itself and the
event loop is idle (``build_rest_soon``, one page per turn). The page then takes
the placeholder's place in the same tab, before anything is painted, so no one
sees an empty pane and ``tabs.currentWidget()`` is always the real page once
shown. Pages are known by a stable key ("write"), never by their tab's title,
which is only words for the user. Building the Write and Models panes before the first paint cost ~0.2 s of
a 2-core machine's start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QTabWidget, QWidget


@dataclass
class _Slot:
    key: str
    title: str
    factory: Callable[[], QWidget] | None
    page: QWidget  # the placeholder until built


class LazyTabs(QObject):
    """Owns the pages of a QTabWidget: ready-made ones, and ones built from a factory on first need."""

    page_built = Signal(str, QWidget)
    """(key, page) A page built from its factory is now in its tab (wire it up here)."""

    def __init__(self, tabs: QTabWidget) -> None:
        super().__init__(tabs)
        self.tabs = tabs
        self._slots: list[_Slot] = []
        self._idle_building = True
        # connected before anyone else's slot: a page is in its tab before others hear of the change
        tabs.currentChanged.connect(self._on_tabs_current_changed)

    def add(self, key: str, title: str, page: QWidget | Callable[[], QWidget]) -> None:
        """A tab titled ``title`` with ``page``, or with a placeholder until ``page()`` has built it."""
        if isinstance(page, QWidget):
            slot = _Slot(key, title, None, page)
        else:
            slot = _Slot(key, title, page, QWidget())
            slot.page.setObjectName(f"{key}Placeholder")
        self._slots.append(slot)
        self.tabs.addTab(slot.page, title)

    @property
    def keys(self) -> list[str]:
        """The pages' keys, in tab order."""
        return [s.key for s in self._slots]

    def index_of(self, key: str) -> int:
        """The tab index of the page ``key`` (-1 if there is none)."""
        slot = next((s for s in self._slots if s.key == key), None)
        return self.tabs.indexOf(slot.page) if slot is not None else -1

    def page(self, key: str) -> QWidget | None:
        """The page ``key``, built now if it was not yet; None if there is no such page."""
        slot = next((s for s in self._slots if s.key == key), None)
        if slot is None:
            return None
        self._build(slot)
        return slot.page

    def built(self) -> list[tuple[str, QWidget]]:
        """The pages that exist, with their keys (a page never built has nothing to stop or save)."""
        return [(s.key, s.page) for s in self._slots if s.factory is None]

    def is_built(self, key: str) -> bool:
        return any(s.key == key and s.factory is None for s in self._slots)

    def build_rest_soon(self) -> None:
        """Build the pages not built yet, one per turn of the event loop (input and paints go between)."""
        if self._idle_building and any(s.factory is not None for s in self._slots):
            QTimer.singleShot(0, self, self._build_next)

    def stop_building(self) -> None:
        """No more building in the background (the window is closing: what a page would open is closed)."""
        self._idle_building = False

    def _build_next(self) -> None:
        slot = next((s for s in self._slots if s.factory is not None), None)
        if slot is not None and self._idle_building:
            self._build(slot)
            self.build_rest_soon()

    def _on_tabs_current_changed(self, index: int) -> None:
        slot = next((s for s in self._slots if s.page is self.tabs.widget(index)), None)
        if slot is not None:
            self._build(slot)

    def _build(self, slot: _Slot) -> None:
        if slot.factory is None:
            return
        factory, slot.factory = slot.factory, None  # once, even if building asks for the page again
        page = factory()
        placeholder, slot.page = slot.page, page
        index = self.tabs.indexOf(placeholder)
        current = self.tabs.currentIndex() == index
        self.tabs.blockSignals(True)  # the swap is not a change of tab for anyone listening
        try:
            self.tabs.insertTab(index, page, slot.title)
            if current:
                self.tabs.setCurrentIndex(index)
            self.tabs.removeTab(index + 1)
        finally:
            self.tabs.blockSignals(False)
        placeholder.deleteLater()
        self.page_built.emit(slot.key, page)
