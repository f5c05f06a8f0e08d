"""A button with a menu shows one arrow: the style's own menu indicator, not also a "▾" in its text.

Presets ▾ / Export ▾ / Revisions ▾ / Selection ▾ drew two arrows side by side (the text's and the style's).
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QPushButton, QStyleOptionToolButton, QToolButton

ARROWS = "▾▼⏷"


@pytest.fixture
def window(fake_engine_window):
    return fake_engine_window


def test_menu_buttons_have_no_second_arrow_in_their_text(window) -> None:
    assert window.write is not None  # every pane exists (Write is built when first needed)
    with_menu = [b for b in window.findChildren(QToolButton) + window.findChildren(QPushButton) if b.menu()]
    names = {b.objectName() for b in with_menu}
    assert {"exportDocumentButton", "revisionsButton", "selectionActionsButton"} <= names
    assert len(with_menu) >= 4  # the sampling pane's Presets button too
    doubled = []
    for button in with_menu:
        if isinstance(button, QToolButton):
            opt = QStyleOptionToolButton()
            button.initStyleOption(opt)
            # the style draws its menu arrow for a tool button whose option says it has a menu
            assert opt.features & QStyleOptionToolButton.ToolButtonFeature.HasMenu, button.text()
        if any(a in button.text() for a in ARROWS):
            doubled.append(button.text())
    assert not doubled, f"buttons with a menu show the style's arrow and one in their text: {doubled}"
