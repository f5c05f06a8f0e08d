"""Write's first wide layout at medium pane widths: the editor keeps 45% of the pane; side panels that
don't fit at a readable width fold (their toggles bring them back) instead of squeezing it."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel

from app.ui.write.side_panels import SIDE_MIN_WIDTH
from app.ui.write.write_view import WriteView


def _laid_out(qtbot, width: int) -> tuple[WriteView, object]:  # type: ignore[no-untyped-def]
    view = WriteView()
    qtbot.addWidget(view)
    toggle = view.add_side_panel(QLabel("sources"), "Sources", "Ctrl+Shift+S")  # as the window adds the sidebar
    view.resize(width, 500)
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.side_panels._laid_out, timeout=5_000)
    qtbot.wait(50)  # the first layout runs once the splitter has its width (a zero-delay timer)
    return view, toggle


@pytest.mark.parametrize("width", [720, 760, 790])
def test_at_medium_widths_the_editor_keeps_45_percent_and_the_later_panel_folds(qtbot, width: int) -> None:  # type: ignore[no-untyped-def]
    view, toggle = _laid_out(qtbot, width)
    sizes = view.splitter.sizes()
    print(width, sizes)
    assert sizes[1] >= sum(sizes) * 45 // 100 - 2, sizes  # the editor
    assert sizes[2] >= SIDE_MIN_WIDTH  # the Ask panel, readable
    assert sizes[3] == 0 and not toggle.isChecked()  # the sources sidebar folded, its toggle says so
    toggle.click()  # one click brings it back
    assert view.side_panel_shown(3) and toggle.isChecked()


def test_a_wide_pane_shows_both_side_panels(qtbot) -> None:  # type: ignore[no-untyped-def]
    view, toggle = _laid_out(qtbot, 1200)
    sizes = view.splitter.sizes()
    print(sizes)
    assert sizes[2] >= SIDE_MIN_WIDTH and sizes[3] >= SIDE_MIN_WIDTH and toggle.isChecked()
    assert sizes[1] >= sum(sizes) * 45 // 100 - 2
