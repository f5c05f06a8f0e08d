"""Thread counts: INKLING_THREADS pins llama.cpp's threads; otherwise they follow the cores."""

from __future__ import annotations

import pytest

from app.core import system


def test_inkling_threads_pins_decode_and_prompt_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system.os, "cpu_count", lambda: 8)
    monkeypatch.setenv("INKLING_THREADS", "1")
    assert system.default_threads() == 1 and system.batch_threads(1) == 1


@pytest.mark.parametrize("value", ["", "0", "-3", "two"])
def test_without_a_valid_inkling_threads_the_cores_decide(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("INKLING_THREADS", value)
    monkeypatch.setattr(system.os, "cpu_count", lambda: 2)
    assert system.default_threads() == 2 and system.batch_threads(2) == 2  # a small machine: every core
    monkeypatch.setattr(system.os, "cpu_count", lambda: 16)
    assert system.default_threads() == 8 and system.batch_threads(8) == 16  # a big one: half decode, all read
