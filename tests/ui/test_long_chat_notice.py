"""A chat longer than the context, in the window: the old turns are left out above the engine, and it says so.

The window's adapter fits the chat on the thread pool with the engine's count
(``BridgeEngine.fit``) before the engine sees it; the transcript shows the one
notice (``app.core.fitting.dropped_notice``). A fake engine with a 256-token
context stands in for the model; tests/contract runs the same against the real
engines.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from ui.conftest import send
from ui.fake_engine import FakeEngine, fake_window

from app.core.events import LoadOptions
from app.core.fitting import dropped_notice
from app.core.sampling import SamplingSettings


@pytest.fixture
def small_window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    engine = FakeEngine("Once upon a time.", piece=4, delay=0.001)
    window = fake_window(engine)
    qtbot.addWidget(window)
    window.show()
    window.bridge.load("/fake.gguf", LoadOptions(n_ctx=256))
    qtbot.waitUntil(lambda: window.bridge.free)
    yield window, engine
    window.close()


def test_old_turns_that_no_longer_fit_are_left_out_and_the_transcript_says_so(qtbot, small_window) -> None:
    window, engine = small_window
    send(qtbot, window, "Remember this: " + "the old red house " * 60)  # ~240 tokens: alone it is sent as is
    window.chat.set_sampling(SamplingSettings(max_tokens=16))
    fin = send(qtbot, window, "What is a cat?")
    assert fin.dropped_messages == 2
    assert engine.prompts[-1] == [{"role": "user", "content": "What is a cat?"}]
    notice = window.chat.findChild(QLabel, "transcriptNotice")
    assert notice is not None and notice.isVisible()
    assert notice.text() == dropped_notice(2)
