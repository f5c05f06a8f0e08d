"""A real main window over a fresh INKLING_HOME, with the starter model loaded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication

from app.core.sampling import SamplingSettings
from app.main import create_main_window
from app.ui.main_window import MainWindow
from app.ui.write.write_pane import WritePane


def open_write(window: MainWindow, text: str, settings: SamplingSettings) -> WritePane:
    """The Write pane in view, with ``text`` in its editor, the cursor at its end and ``settings`` for continuations."""
    pane = window.write
    window.tabs.setCurrentWidget(pane)
    pane.set_sampling(settings)
    pane.editor.setPlainText(text)
    pane.editor.moveCursor(QTextCursor.MoveOperation.End)
    return pane


def open_window(qtbot: object, home: Path, monkeypatch: pytest.MonkeyPatch, *, wait_model: bool = True) -> MainWindow:
    monkeypatch.setenv("INKLING_HOME", str(home))
    window = create_main_window()
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.show()
    if wait_model:
        qtbot.waitUntil(lambda: window.bridge.free, timeout=60_000)  # type: ignore[attr-defined]
    wait_for_panes(window)
    return window


def wait_for_panes(window: MainWindow, timeout: float = 30.0) -> None:
    """Until the panes out of view, built in the first turns after show, exist: not inside what a test times."""
    deadline = time.monotonic() + timeout
    while not all(window.lazy.is_built(k) for k in window.lazy.keys):
        assert time.monotonic() < deadline, "the panes out of view were not built after show"
        QApplication.processEvents()
        time.sleep(0.005)


@pytest.fixture
def window(qtbot: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    win = open_window(qtbot, tmp_path / "home", monkeypatch)
    yield win
    win.close()


def rename_with_f2(qtbot: object, window: MainWindow, title: str) -> None:
    """Rename the open chat as a person does: F2 in the conversation list, type, Enter."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QLineEdit

    chat = window.chat
    window.tabs.setCurrentWidget(chat)
    chat.list_view.setFocus()
    QTest.keyClick(chat.list_view, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: chat.list_view.findChild(QLineEdit) is not None, timeout=5_000)  # type: ignore[attr-defined]
    editor = chat.list_view.findChild(QLineEdit)
    editor.selectAll()
    QTest.keyClicks(editor, title)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: chat.session is not None and chat.session.title == title, timeout=5_000)  # type: ignore[attr-defined]


def send(qtbot: object, window: MainWindow, text: str, timeout: int = 60_000) -> object:
    """Type a message, press Enter, wait for the reply to end; returns its Finished."""
    chat = window.chat
    chat.composer.setPlainText(text)
    with qtbot.waitSignal(chat.reply_finished, timeout=timeout) as blocker:  # type: ignore[attr-defined]
        chat.send_button.click()
    return blocker.args[0]


@pytest.fixture
def fake_engine_window(qtbot: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    """The real main window, shown, over a FakeEngine that streams "Once upon a time." (for fast UI tests)."""
    from ui.fake_engine import FakeEngine, fake_window

    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    win = fake_window(FakeEngine("Once upon a time.", piece=4, delay=0.001))
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
