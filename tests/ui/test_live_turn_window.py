"""The live turn seen through the window, fast, over the scripted engine (the rules are tested in tests/core).

A chat reopened while its stopped reply is still ending must show how it ended:
the window once made a second session for the same chat, and the reply's end,
saved through the first, never reached the widget, which said "writing…" for good.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from ui.conftest import wait_for_panes
from ui.fake_engine import FakeEngine, fake_window

from app.core.sampling import SamplingSettings
from app.ui.main_window import MainWindow


@pytest.fixture
def slow_window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A window whose engine writes a word every 0.3 s (a Stop takes effect at the next word)."""
    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    window = fake_window(FakeEngine("word " * 100, piece=5, delay=0.3))
    qtbot.addWidget(window)
    window.show()
    window.bridge.load("/fake.gguf")
    qtbot.waitUntil(lambda: window.bridge.free, timeout=10_000)
    wait_for_panes(window)
    yield window
    window.close()


def test_a_chat_reopened_while_its_stopped_reply_ends_shows_how_it_ended(qtbot, slow_window: MainWindow) -> None:
    chat = slow_window.chat
    chat.set_sampling(SamplingSettings())
    chat.composer.setPlainText("Say many words.")
    qtbot.mouseClick(chat.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: chat.reply is not None and bool(chat.reply.text), timeout=10_000)
    first = chat.session.id
    message_id = chat.session.path[-1].id
    chat.stop()  # the engine stops at its next word, a moment from now...
    chat.new_conversation()  # ...while the person looks at another chat
    chat.open_conversation(first)  # and comes back before it has
    qtbot.waitUntil(lambda: slow_window.storage.messages(first)[-1].status == "stopped", timeout=10_000)
    qtbot.wait(100)
    label = chat.transcript.widgets[message_id].status_label.text()
    assert "writing" not in label and "stopped" in label, label
    assert chat.send_button.isVisible() and not chat.stop_button.isVisible()
