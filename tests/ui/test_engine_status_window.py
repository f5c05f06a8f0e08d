"""The window shows the engine's one status: reading the prompt, then writing, then ready (real model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from long_reply import forced
from ui.conftest import open_window, send

from app.core.engine_status import EnginePhase
from app.core.sampling import SamplingSettings


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
