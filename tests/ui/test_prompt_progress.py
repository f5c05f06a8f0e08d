"""A long prompt says how far it has been read, and time to first token counts from Send."""

from __future__ import annotations

import re
import time

from PySide6.QtWidgets import QApplication

from app.core.sampling import SamplingSettings
from app.ui.main_window import MainWindow

LONG = " ".join(f"word{i % 50}" for i in range(250))  # ~700 tokens: 6 batches, a couple of seconds of reading here


def test_a_long_prompt_shows_reading_progress_and_honest_first_token_time(qtbot, window: MainWindow) -> None:
    chat = window.chat
    chat.set_sampling(SamplingSettings(temperature=0.0, max_tokens=4))
    seen: list[tuple[float, str, str]] = []

    def watch() -> None:
        if chat.reply is not None:
            seen.append((time.perf_counter(), chat.reply.widget.status_label.text(),
                         window.statusBar().currentMessage()))

    chat.composer.setPlainText(LONG)
    sent = time.perf_counter()
    with qtbot.waitSignal(chat.reply_finished, timeout=120_000) as done:
        chat.send_button.click()
        while not done.signal_triggered:
            watch()
            QApplication.processEvents()
            qtbot.wait(20)
    notes = [(t, bubble, bar) for t, bubble, bar in seen if bubble.startswith("Reading the prompt…")]
    assert notes, f"no progress was shown; the bubble said {sorted({b for _, b, _ in seen})}"
    percents = [int(re.search(r"(\d+)%", bubble).group(1)) for _, bubble, _ in notes]
    assert len(set(percents)) >= 2 and percents == sorted(percents)  # it moves, forwards
    assert any(bar.startswith("Reading the prompt…") for _, _, bar in notes)  # the status bar says it too
    reading = (notes[-1][0] - sent) * 1000
    reply = next(m for m in window.storage.messages(chat.conversation.id) if m.role == "assistant")
    stats = reply.stats
    assert done.args[0].reason in ("stop", "length")
    assert stats["ttft_ms"] >= reading, "time to first token must count the prompt reading, from Send"
    assert stats["ttft_ms"] <= (time.perf_counter() - sent) * 1000


def test_a_pasted_long_prompt_shows_progress_although_the_chart_began_reading_it(qtbot, window: MainWindow) -> None:
    """Pasting a long text makes the next-token chart read it; Send must not wait for that read in silence.

    In the real window the chart's peek (400 ms after the paste) read the whole prompt first, and
    the reply then found it cached: "writing…" for seconds, never a percentage.
    """
    chat = window.chat
    assert window.sampling_dock.isVisible()  # the chart is on screen, so it asks about the draft
    chat.set_sampling(SamplingSettings(temperature=0.0, max_tokens=4))
    chat.composer.setPlainText(LONG)  # as a paste does
    qtbot.waitUntil(lambda: not window._preview_timer.isActive(), timeout=5_000)  # the chart's peek is under way
    seen: list[str] = []
    with qtbot.waitSignal(chat.reply_finished, timeout=120_000) as done:
        chat.send_button.click()
        while not done.signal_triggered:
            if chat.reply is not None:
                seen.append(chat.reply.widget.status_label.text())
            qtbot.wait(20)
    percents = sorted({int(m.group(1)) for s in seen if (m := re.search(r"Reading the prompt… (\d+)%", s))})
    assert len(percents) >= 2, f"no reading progress after the paste; the bubble said {sorted(set(seen))}"
