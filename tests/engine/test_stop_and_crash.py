"""Stopping is instant, a dead engine is an error (not a dead caller), and the next request works."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from engine.conftest import make_engine

from app.core.errors import EngineCrashed
from app.core.sampling import SamplingSettings
from app.engine.client import EngineClient

LONG = SamplingSettings(temperature=0.8, max_tokens=2000, seed=7)


def test_stop_mid_stream_ends_within_100_ms(engine: EngineClient) -> None:
    stream = engine.complete("Once upon a time", LONG)
    events = iter(stream)
    for _ in range(5):
        next(events)
    started = time.perf_counter()
    stream.cancel()
    fin = stream.wait()
    elapsed = time.perf_counter() - started
    assert fin.reason == "cancelled"
    assert elapsed < 0.1, f"stop took {elapsed * 1000:.0f} ms"
    assert fin.timings.generated_tokens >= 5 or fin.text  # the partial reply is kept
    assert engine.complete("The capital of France is", SamplingSettings(temperature=0, max_tokens=4)).wait().text


def test_stop_during_a_2000_token_prompt_within_1_s_then_next_request_works(engine: EngineClient) -> None:
    prompt = "The quick brown fox jumps over the lazy dog. " * 200  # ~2,000 tokens, seconds to evaluate
    assert len(engine.tokenize(prompt)) >= 1800
    stream = engine.complete(prompt, SamplingSettings(max_tokens=16))
    time.sleep(0.5)  # let prompt evaluation get going (a real user clicks Stop mid-way)
    assert not stream.done
    started = time.perf_counter()
    stream.cancel()
    fin = stream.wait()
    elapsed = time.perf_counter() - started
    assert fin.reason == "cancelled"
    assert elapsed < 1.0, f"stop took {elapsed * 1000:.0f} ms"
    nxt = engine.chat([{"role": "user", "content": "Say hello."}], SamplingSettings(temperature=0, max_tokens=8)).wait()
    assert nxt.reason in ("stop", "length") and nxt.text.strip()


def test_kill_9_mid_reply_gives_engine_crashed_then_a_normal_reply(starter_path: Path) -> None:
    client = make_engine(starter_path)
    try:
        stream = client.complete("Once upon a time", LONG)
        events = iter(stream)
        next(events)
        pid = client.pid
        assert pid is not None and pid != os.getpid()
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(EngineCrashed) as caught:
            for _ in events:
                pass
        assert "restarts the engine" in str(caught.value)
        assert client.crashes == 1
        fin = client.chat([{"role": "user", "content": "Say hello."}], SamplingSettings(temperature=0, max_tokens=8)).wait()
        assert fin.text.strip()
        assert client.pid not in (None, pid)
    finally:
        client.close()


def test_a_new_stream_replaces_the_running_one(engine: EngineClient) -> None:
    first = engine.complete("Once upon a time", LONG)
    next(iter(first))
    second = engine.complete("The capital of France is", SamplingSettings(temperature=0, max_tokens=4))
    assert second.wait().text
    assert first.finished is not None and first.finished.reason == "cancelled"


def test_too_little_memory_is_refused_with_a_clear_message(starter_path: Path, monkeypatch) -> None:
    from app.core.errors import InsufficientMemory
    from app.core.events import LoadOptions
    from app.engine import runtime

    monkeypatch.setattr(runtime, "available_memory", lambda: 50 * 1024**2)
    rt = runtime.LlamaRuntime()
    with pytest.raises(InsufficientMemory) as caught:
        rt.load(str(starter_path), LoadOptions(n_ctx=2048))
    assert "only 0.0 GiB of memory is free" in str(caught.value) or "GiB" in str(caught.value)
    assert rt.llm is None
    from app.core.memory import OVERHEAD, memory_needed

    assert memory_needed(100_000_000, 23_040, 4096) == 100_000_000 + 23_040 * 4096 + OVERHEAD
