"""Small things a new user trips over: the shortcut list, the window title, alternatives used once."""

from __future__ import annotations

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QMessageBox
from ui.conftest import rename_with_f2

from app.core.sampling import SamplingSettings
from app.ui.main_window import MainWindow


def test_f1_lists_the_write_shortcuts_and_the_one_stop(qtbot, window: MainWindow) -> None:
    window.show_shortcuts()
    box = window.findChild(QMessageBox, "shortcutsHelp")
    assert box is not None
    text = box.text()
    for key in ("Ctrl+Space", "Tab", "Ctrl+S", "Esc", "Ctrl+O"):
        assert f"<b>{key}</b>" in text, key
    assert "Write" in text and "Continue at the cursor" in text
    box.close()


def test_the_window_title_names_the_chat_or_document_in_view(qtbot, window: MainWindow) -> None:
    rename_with_f2(qtbot, window, "Trip planning")
    assert window.windowTitle() == "Trip planning — Inkling"
    window.tabs.setCurrentWidget(window.write)
    window.write.rename_document("Chapter one")
    assert window.windowTitle() == "Chapter one — Inkling"
    window.tabs.setCurrentWidget(window.chat)
    assert window.windowTitle() == "Trip planning — Inkling"


def test_after_use_1_no_other_alternative_can_be_inserted_too(qtbot, window: MainWindow) -> None:
    pane = window.write
    window.tabs.setCurrentWidget(pane)
    pane.set_sampling(SamplingSettings(temperature=0.9, max_tokens=8, seed=5))
    pane.editor.setPlainText("The sea below was restless, and")
    pane.editor.moveCursor(QTextCursor.MoveOperation.End)
    with qtbot.waitSignal(pane.alternatives_finished, timeout=60_000):
        pane.generate_alternatives(2)
    buttons = pane.alternatives.buttons
    assert all(b.isEnabled() for b in buttons)
    before = pane.editor.content()
    buttons[0].click()
    assert pane.editor.content() == before + pane.alternatives.text(0)
    assert not any(b.isEnabled() for b in buttons)  # #2 can't go in as well
    buttons[1].click()
    assert pane.editor.content() == before + pane.alternatives.text(0)
