"""The engine reports how far it has read a long prompt, batch by batch."""

from __future__ import annotations

from app.core.events import PromptProgress, TokenEvent
from app.core.sampling import SamplingSettings
from app.engine.client import EngineClient


def test_a_long_prompt_reports_progress_after_each_batch(engine: EngineClient) -> None:
    events: list[object] = []
    prompt = " ".join(f"word{i % 50}" for i in range(160))  # ~450 tokens: 4 batches of 128
    stream = engine.complete(prompt, SamplingSettings(temperature=0.0, max_tokens=2), listener=events.append)
    fin = stream.wait(60)
    progress = [e for e in events if isinstance(e, PromptProgress)]
    assert len(progress) >= 3, "no progress while the prompt was read"
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert progress[-1].done == progress[-1].total == fin.timings.prompt_evaluated
    first_token = next(i for i, e in enumerate(events) if isinstance(e, TokenEvent))
    assert all(isinstance(e, PromptProgress) for e in events[:first_token])  # progress comes before the text
    # iterating a stream (the command line) still yields only tokens
    again = engine.complete("Other words first. " + prompt, SamplingSettings(temperature=0.0, max_tokens=2))
    assert all(isinstance(e, TokenEvent) for e in again)
