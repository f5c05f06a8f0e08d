"""The engine applies the thread count the tuner picks, between tokens, on the real llama.cpp context.

Speed is not asserted: only that what the tuner decides is what llama.cpp decodes with,
that "automatic" is what the model info says only when no count is pinned, and that a
pinned count never moves.
"""

from __future__ import annotations

import os
from pathlib import Path

import llama_cpp
import pytest

from app.core.events import LoadOptions, TokenEvent
from app.core.sampling import SamplingSettings
from app.core.system import THREADS_ENV
from app.engine.runtime import LlamaRuntime


def _generate_watching_threads(rt: LlamaRuntime, tokens: int) -> list[tuple[int, int]]:
    """Generate ``tokens`` tokens; (llama.cpp's decode threads, the tuner's choice) as each token arrives."""
    eos = rt.llm._model.token_eos()
    settings = SamplingSettings(temperature=0.0, max_tokens=tokens, logit_bias=((eos, -100.0),))
    seen: list[tuple[int, int]] = []

    def emit(event: object) -> None:
        if isinstance(event, TokenEvent):
            tuner = rt.threads.tuner
            seen.append((llama_cpp.llama_n_threads(rt.llm.ctx), tuner.threads if tuner else -1))

    fin = rt.complete("The lighthouse keeper climbed the stairs", settings, 0, emit)
    assert fin.timings.generated_tokens == tokens
    return seen


def test_automatic_threads_change_between_tokens_as_the_tuner_decides(starter_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)  # the suite pins one thread; automatic is the app's default
    rt = LlamaRuntime()
    info = rt.load(str(starter_path), LoadOptions(n_ctx=512))
    try:
        assert info.threads_automatic and rt.threads.tuner is not None
        assert llama_cpp.llama_n_threads(rt.llm.ctx) == info.n_threads
        seen = _generate_watching_threads(rt, 64)
        applied = [n for n, _wanted in seen]
        if (os.cpu_count() or 1) > 1:  # the first probe starts after one window: another count is tried
            assert len(set(applied)) > 1, applied
        assert all(now == wanted for now, wanted in seen), seen  # what the tuner wants is what llama.cpp uses

        rt.threads.apply(1)
        assert llama_cpp.llama_n_threads(rt.llm.ctx) == 1
        assert llama_cpp.llama_n_threads_batch(rt.llm.ctx) >= 1
    finally:
        rt.unload()


def test_a_pinned_thread_count_is_never_tuned(starter_path: Path) -> None:
    rt = LlamaRuntime()
    info = rt.load(str(starter_path), LoadOptions(n_ctx=512, n_threads=1))
    try:
        assert not info.threads_automatic and rt.threads.tuner is None and info.n_threads == 1
        assert {n for n, _ in _generate_watching_threads(rt, 40)} == {1}
    finally:
        rt.unload()


def test_inkling_threads_pins_it_too(starter_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(THREADS_ENV, "1")
    rt = LlamaRuntime()
    info = rt.load(str(starter_path), LoadOptions(n_ctx=512))
    try:
        assert not info.threads_automatic and info.n_threads == 1
        assert llama_cpp.llama_n_threads_batch(rt.llm.ctx) == 1
    finally:
        rt.unload()
