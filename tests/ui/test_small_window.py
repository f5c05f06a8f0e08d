"""The real window at 800×500 (half a small laptop screen): every pane stays usable, and a relaunch fits.

Forced to 800×500 before, the window refused (its minimumSizeHint was 1,236 px wide),
and where a window manager squeezed it anyway the Write buttons were cut into
fragments, chat bubbles lost Continue and the Sampling dock was clipped.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QScrollArea, QWidget
from ui.conftest import open_window, send

from app.core.sampling import SamplingSettings
from app.ui.main_window import MainWindow

SMALL = (800, 500)
SHORT = SamplingSettings(temperature=0.0, max_tokens=8)


def _inside(widget: QWidget, area: QWidget) -> bool:
    """The widget is shown whole inside ``area`` (not cut off by it)."""
    top_left = widget.mapTo(area, QPoint(0, 0))
    return widget.isVisible() and area.rect().contains(QRect(top_left, widget.size()))


def _not_squeezed(widget: QWidget) -> bool:
    return widget.width() >= widget.minimumSizeHint().width()


def _shrink(qtbot, window: MainWindow) -> None:
    window.resize(*SMALL)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == SMALL, timeout=5_000)
    qtbot.wait(50)  # the dock is fitted after the layout has given out the new width


def _sampling_not_clipped(window: MainWindow) -> None:
    scroll = window.sampling.findChild(QScrollArea)
    assert scroll.widget().width() <= scroll.viewport().width()  # nothing cut at the dock's right edge
    assert window.sampling_dock.width() <= window.width() * 0.45
    assert _not_squeezed(window.sampling.preset_menu_button)


def test_the_window_fits_800_by_500_and_every_pane_keeps_its_buttons(qtbot, window: MainWindow) -> None:
    hint = window.minimumSizeHint()
    assert hint.width() <= SMALL[0] and hint.height() <= SMALL[1], hint
    chat = window.chat
    chat.set_sampling(SHORT)
    send(qtbot, window, "Say hi.")
    _shrink(qtbot, window)

    reply = chat.transcript.widgets[chat.path[-1].id]  # the bubble keeps every action, Continue included
    for button in (reply.copy_button, reply.edit_button, reply.regen_button, reply.continue_button):
        assert _inside(button, chat.transcript.viewport()), button.text()
    for button in (chat.send_button, chat.regen_button):  # (Stop shows only while a reply is written)
        assert _inside(button, window) and _not_squeezed(button), button.text()
    _sampling_not_clipped(window)

    window.tabs.setCurrentWidget(window.write)
    qtbot.waitUntil(window.write.editor.isVisible, timeout=5_000)
    pane = window.write
    for w in (pane.continue_button, pane.stop_button, pane.accept_button, pane.reject_button, pane.regenerate_button,
              pane.alt_count, pane.alt_button, pane.surprise_button, pane.selection_button):
        assert _inside(w, window) and _not_squeezed(w), w  # the row wraps: every button whole, none in a » menu
    _sampling_not_clipped(window)

    window.tabs.setCurrentWidget(window.models)
    pane = window.models
    qtbot.waitUntil(pane.library_view.isVisible, timeout=5_000)
    for button in (pane.use_button, pane.import_button, pane.folder_button, pane.discover_button, pane.delete_button):
        assert _inside(button, pane) and _not_squeezed(button), button.text()


def test_a_relaunch_fits_the_screen_and_the_dock_is_not_clipped(qtbot, tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    first = open_window(qtbot, home, monkeypatch, wait_model=False)
    first.resizeDocks([first.sampling_dock], [700], Qt.Orientation.Horizontal)
    screen = QGuiApplication.primaryScreen().availableGeometry()
    first.setGeometry(screen.x() + 4000, screen.y() + 3000, screen.width() + 900, screen.height() + 700)
    first.close()  # saves a geometry bigger than the screen and off it, with a wide dock

    second = open_window(qtbot, home, monkeypatch, wait_model=False)
    qtbot.waitUntil(lambda: screen.contains(second.frameGeometry()), timeout=5_000)
    _shrink(qtbot, second)
    _sampling_not_clipped(second)
    second.close()


def test_the_first_run_welcome_is_not_cut_mid_line_at_800_by_500(qtbot, window: MainWindow) -> None:
    welcome = window.welcome
    assert welcome is not None and welcome.isVisible()  # a fresh home: the welcome is shown
    _shrink(qtbot, window)
    text = welcome.findChild(QWidget, "welcomeText")
    qtbot.waitUntil(lambda: text.width() > 0, timeout=5_000)
    needed = text.heightForWidth(text.width())
    assert needed <= text.height(), f"the welcome needs {needed} px at {text.width()} px wide, it has {text.height()}"
    assert (window.width(), window.height()) == SMALL
    for button in (window.chat.send_button, welcome.close_button):
        assert _inside(button, window), button.text()
