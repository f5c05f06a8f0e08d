"""The window shows the engine's one status: reading the prompt, then writing, then ready (real model)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from long_reply import forced
from ui.conftest import open_window, send

from app.core.engine_status import EnginePhase
from app.core.sampling import SamplingSettings
from app.ui.main_window import PREVIEW_WAIT, MainWindow

RELOADING = "Reloading the model after a crash…"


def test_the_status_bar_says_reading_the_prompt_before_writing(qtbot, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    window = open_window(qtbot, tmp_path / "home", monkeypatch)
    shown: list[tuple[EnginePhase, str]] = []  # (the bridge's status, what the status bar said then)
    window.bridge.status_changed.connect(lambda s: shown.append((s.phase, window.engine_status.text())))
    window.chat.set_sampling(forced(SamplingSettings(temperature=0.0, max_tokens=24)))
    long_prompt = " ".join(f"Line {i} of a long note about lighthouses and the sea." for i in range(60))
    fin = send(qtbot, window, long_prompt)  # ~700 tokens to read: reading takes a while on two cores
    assert fin.reason == "length"
    phases = [phase for phase, _ in shown]
    assert EnginePhase.READING in phases and EnginePhase.WRITING in phases, shown
    assert phases.index(EnginePhase.READING) < phases.index(EnginePhase.WRITING), shown
    said = dict(shown)
    assert said[EnginePhase.READING].startswith("Reading the prompt… — "), said
    assert said[EnginePhase.WRITING].startswith("Writing… — "), said
    qtbot.waitUntil(lambda: window.engine_status.text().startswith("Ready"), timeout=10_000)
    window.close()


def test_a_reload_after_a_crash_is_not_a_free_engine(qtbot, window: MainWindow) -> None:
    """The engine killed while idle reloads when the chart asks it; meanwhile every view reads the reload.

    The chart waits instead of asking again (the engine is not free), and the load bar shows, until the
    model is back; then the chart asks again on its own.
    """
    window.sampling_dock.show()
    window.tabs.setCurrentWidget(window.chat)
    window.chat.composer.setPlainText("Tell me about the sea")
    qtbot.waitUntil(lambda: window.bridge.free, timeout=10_000)
    crashed = window.engine.pid
    assert crashed is not None
    os.kill(crashed, signal.SIGKILL)  # a crash nobody asked for, while nothing runs
    window.refresh_preview()  # the chart asks: the engine starts again and reloads the model for it
    qtbot.waitUntil(lambda: window.bridge.status.phase is EnginePhase.RELOADING, timeout=30_000)
    window.refresh_preview()  # the cursor moved during the reload
    assert window.sampling.chart.message == PREVIEW_WAIT, window.sampling.chart.message
    assert not window.bridge.free
    # the toolbar lays the bar out on its next event-loop turn (with both cores busy that turn can come
    # after the status): wait for it, still well inside the reload
    qtbot.waitUntil(lambda: not window.load_progress.isHidden() or window.bridge.free, timeout=10_000)
    assert not window.bridge.free and not window.load_progress.isHidden()
    assert RELOADING in window.engine_status.text(), window.engine_status.text()
    qtbot.waitUntil(lambda: window.bridge.free, timeout=60_000)
    assert window.load_progress.isHidden()
    assert window.engine.pid not in (None, crashed)
    qtbot.waitUntil(lambda: window.sampling.chart.picture is not None, timeout=30_000)  # asked again when free
