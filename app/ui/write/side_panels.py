"""The Write pane's side panels (the Ask panel, the sources sidebar) in its splitter, folded in a narrow pane.

The splitter holds the documents list, the editor, then the side panels. A pane
narrower than ``FOLD_WIDTH`` folds every side panel away so the editor keeps its
room, and unfolds them when it is wide again. A folded panel is one click away:
each added panel has a checkable toolbar toggle (and a key, given by who adds it),
and the Ask panel its Ctrl+K. Unfolded in a narrow pane, a side panel shows alone
and the documents list folds while it does.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QSizePolicy, QSplitter, QToolButton, QWidget

FOLD_WIDTH = 700  # a Write pane narrower than this folds the side panels away (a toggle or its key unfolds one)
SIDE_WIDTH = 220  # a side panel's width when it first shows
LIST_WIDTH = 180  # the documents list's width in the first layout
SIDE_MIN_WIDTH = 160  # narrower than this is a sliver a narrowing window left, not a width to come back to
EDITOR_MIN_WIDTH = 200  # the editor keeps at least this when a side panel unfolds


class SidePanels(QObject):
    """Folds, unfolds and toggles the side panels of a splitter [list, editor, side panels...]."""

    def __init__(self, splitter: QSplitter, toolbar: QWidget) -> None:
        super().__init__(splitter)
        self._splitter = splitter
        self._toolbar = toolbar
        self._laid_out = False  # the first wide layout is done (it shares the pane's real width out)
        self._narrow = False  # the pane is narrower than FOLD_WIDTH: its side panels were folded away
        self._folded: set[int] = set()  # the side panels (splitter indexes) a narrow window folded away
        self._widths: dict[int, int] = {2: 240}  # side panel index -> its last width shown
        self._toggles: dict[int, QToolButton] = {}
        self._list_width: int | None = None  # the documents list's width while a side panel in a narrow pane folds it
        self._wide_sizes: list[int] | None = None  # the splitter's sizes when the pane last narrowed
        splitter.splitterMoved.connect(self._sync_side_toggles)

    def pane_resized(self, width: int) -> None:
        """A narrow pane folds the side panels away (the editor keeps its room); widening brings them back.

        Called from the pane's resizeEvent, before the splitter has its new width: what depends on that
        width runs once it has it.
        """
        if width < FOLD_WIDTH and not self._narrow:
            self._narrow = True
            self._wide_sizes = self._splitter.sizes()  # (still the wide layout)
            for index in self._side_indexes():
                self._fold(index, remember=True)
        elif width >= FOLD_WIDTH and self._narrow:
            self._narrow = False
            QTimer.singleShot(0, self._unfold)
        elif width >= FOLD_WIDTH and not self._laid_out:
            self._laid_out = True
            QTimer.singleShot(0, self._first_layout)

    def _unfold(self) -> None:
        """Wide again: the layout from before the pane narrowed (scaled to the width now), with the side panels
        the narrow pane folded, and any the writer opened meanwhile; not those the writer hid."""
        if self._narrow:  # narrowed again before this ran
            return
        now = self._splitter.sizes()
        sizes = (self._wide_sizes or now)[:len(now)]
        sizes += [0] * (len(now) - len(sizes))
        for i in self._side_indexes():
            if i in self._folded or now[i] > 0:
                sizes[i] = sizes[i] or self._widths.get(i, SIDE_WIDTH)
            else:
                sizes[i] = 0
        self._folded.clear()
        self._list_width = None
        self._splitter.setSizes(sizes)  # (Qt shares a different total out by these proportions)
        if not self._laid_out:
            self._laid_out = True
            self._first_layout()
        self._sync_side_toggles()

    def _first_layout(self) -> None:
        """The first wide layout: the list at its usual width, the editor 45% of the pane or more, the side
        panels sharing the rest (each SIDE_MIN_WIDTH to SIDE_WIDTH). Where the rest is too little for all of
        them at SIDE_MIN_WIDTH (a pane of 700-800 px), the later ones fold (their toggles unfold them) rather
        than squeeze the editor: the first one stays."""
        sizes = self._splitter.sizes()
        total = sum(sizes)
        shown = [i for i in self._side_indexes() if sizes[i] > 0]
        if total <= 0 or not shown or self._narrow:
            return
        sizes[0] = min(sizes[0], LIST_WIDTH)
        room = total - sizes[0] - total * 45 // 100
        while len(shown) > 1 and room < SIDE_MIN_WIDTH * len(shown):
            folded = shown.pop()
            self._keep_width(folded, sizes[folded])
            sizes[folded] = 0
        each = max(SIDE_MIN_WIDTH, min(SIDE_WIDTH, room // len(shown)))
        for i in shown:
            sizes[i] = each
        sizes[1] = total - sizes[0] - each * len(shown)
        self._splitter.setSizes(sizes)
        self._sync_side_toggles()

    def _side_indexes(self) -> range:
        """The splitter's side panels: the Ask panel, then any added with ``add``."""
        return range(2, self._splitter.count())

    def _fold(self, index: int, *, remember: bool) -> None:
        """Give side panel ``index``'s width to the editor; ``remember``: a narrow window folded it (it comes back)."""
        sizes = self._splitter.sizes()
        if sizes[index] <= 0:
            return
        self._keep_width(index, sizes[index])
        if remember:
            self._folded.add(index)
        sizes[1] += sizes[index]
        sizes[index] = 0
        self._splitter.setSizes(sizes)
        if not any(sizes[i] > 0 for i in self._side_indexes()):
            self._show_list()
        self._sync_side_toggles()

    def _keep_width(self, index: int, width: int) -> None:
        """Remember a side panel's width to show it at again (not the sliver a narrowing window squeezed it to)."""
        if width >= SIDE_MIN_WIDTH:
            self._widths[index] = width

    def show(self, index: int) -> None:
        """Unfold side panel ``index`` at its last width, taken from the editor (then from the list).

        In a narrow pane one side panel shows at a time, and the documents list folds while it does:
        both come back when the panel is hidden again or the pane is wide again.
        """
        self._folded.discard(index)
        sizes = self._splitter.sizes()
        if sizes[index] > 0:
            return
        if self._narrow:
            for other in self._side_indexes():
                if other != index and sizes[other] > 0:
                    self._keep_width(other, sizes[other])
                    self._folded.add(other)
                    sizes[1] += sizes[other]
                    sizes[other] = 0
        width = self._widths.get(index, SIDE_WIDTH)
        # the editor stays the widest part: it gives way down to 40% of the pane (its minimum when narrow)
        floor = 0 if self._narrow else sum(sizes) * 2 // 5
        editor_min = max(EDITOR_MIN_WIDTH, self._splitter.widget(1).minimumSizeHint().width(), floor)
        if self._narrow and sizes[0] > 0 and sizes[1] - editor_min < width:
            self._list_width = sizes[0]
            sizes[1] += sizes[0]
            sizes[0] = 0
        from_editor = min(width, max(sizes[1] - editor_min, 0))
        list_min = self._splitter.widget(0).minimumSizeHint().width()
        from_list = min(width - from_editor, max(sizes[0] - list_min, 0)) if sizes[0] > 0 else 0
        if from_editor + from_list < SIDE_MIN_WIDTH:  # too little room to read it: the editor gives a little more
            from_editor = min(SIDE_MIN_WIDTH - from_list, max(sizes[1] - EDITOR_MIN_WIDTH, 0))
        sizes[1] -= from_editor
        sizes[0] -= from_list
        sizes[index] = from_editor + from_list
        self._splitter.setSizes(sizes)
        self._sync_side_toggles()

    def _show_list(self) -> None:
        """Unfold the documents list that a side panel in a narrow pane folded (its width from the editor)."""
        if self._list_width is None:
            return
        sizes = self._splitter.sizes()
        width, self._list_width = self._list_width, None
        if sizes[0] == 0:
            sizes[0] = min(width, max(sizes[1] - EDITOR_MIN_WIDTH, 0))
            sizes[1] -= sizes[0]
            self._splitter.setSizes(sizes)

    def add(self, panel: QWidget, title: str, key: str, width: int = SIDE_WIDTH) -> QToolButton:
        """Add ``panel`` right of the Ask panel, folded in a narrow pane like it; returns its toolbar toggle.

        The toggle (and ``key``) shows or hides it, so a folded panel is always one click away.
        """
        panel.setMinimumWidth(0)  # it gives way first in a narrow window (800x500 must fit)
        panel.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._splitter.addWidget(panel)
        index = self._splitter.indexOf(panel)
        self._splitter.setCollapsible(index, True)
        self._splitter.setStretchFactor(index, 1)
        sizes = self._splitter.sizes()
        self._widths[index] = width
        if self._narrow:
            self._folded.add(index)
            self._splitter.setSizes([*sizes[:index], 0])
        else:
            self._splitter.setSizes([*sizes[:1], max(sizes[1] - width, EDITOR_MIN_WIDTH), *sizes[2:index], width])
        toggle = QToolButton(text=title)
        toggle.setCheckable(True)
        toggle.setToolTip(f"Show or hide the {title.lower()} panel ({key})")
        toggle.toggled.connect(lambda on, index=index: self._on_side_toggle_toggled(index, on))
        self._toolbar.layout().addWidget(toggle)
        self._toggles[index] = toggle
        self._sync_side_toggles()
        return toggle

    def shown(self, index: int) -> bool:
        return self._splitter.sizes()[index] > 0

    def _on_side_toggle_toggled(self, index: int, on: bool) -> None:
        if on != self.shown(index):
            if on:
                self.show(index)
            else:
                self._fold(index, remember=False)

    def _sync_side_toggles(self, *_: object) -> None:
        """The toggles follow the panels (folded by a narrow window, or dragged shut)."""
        sizes = self._splitter.sizes()
        for index, toggle in self._toggles.items():
            toggle.blockSignals(True)
            toggle.setChecked(sizes[index] > 0)
            toggle.blockSignals(False)
