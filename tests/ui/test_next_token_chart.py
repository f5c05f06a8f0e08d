"""The next-token chart in the real window, fed by the real engine's ``peek``."""

from __future__ import annotations

import math

import pytest

from app.core.sampling_math import Candidate, picture
from app.ui.main_window import MainWindow
from app.ui.sampling.chart import token_label


def test_the_chart_shows_the_real_models_next_token_probabilities(qtbot, window: MainWindow) -> None:
    window.sampling_dock.show()
    window.tabs.setCurrentWidget(window.chat)
    window.chat.composer.setPlainText("What is the capital of France?")
    window.refresh_preview()
    qtbot.waitUntil(lambda: bool(window.sampling.chart.rows()), timeout=30_000)
    rows = window.sampling.chart.rows()

    # the same question asked of the engine directly
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    candidates, lse, sigma = window.bridge.engine.peek_async(messages=messages, top=64).result(timeout=30)
    assert [label for label, _, _ in rows] == [token_label(text) for text, _, _ in candidates[: len(rows)]]
    for (_, before, _), (_, _, logit) in zip(rows, candidates, strict=False):
        assert before == pytest.approx(math.exp(logit - lse), rel=1e-4)
    assert 0.0 < sum(b for _, b, _ in rows) <= 1.0 + 1e-6
    assert rows[0][1] > rows[-1][1] > 0.0  # likeliest first, a real spread (not a constant)
    # "after" is the panel's settings applied to these very numbers
    assert sigma > 0.0  # the spread of all logits, for top-nσ
    expected = picture([Candidate(*c) for c in candidates], lse, window.sampling.settings, sigma)
    assert [a for _, _, a in rows] == pytest.approx(expected.after[: len(rows)], abs=1e-9)
