"""EngineClient always comes back: kills, freezes and cancels at any moment, with the real engine.

Every stream ends (a Finished or a typed error), and the next request is answered
with the model still loaded: the client remembers what should be loaded and
reloads it after any death, retries a request that never started and a load that
died, and waits for a load instead of refusing.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.errors import EngineCrashed, InklingError, Interrupted
from app.core.events import LoadOptions
from app.core.sampling import SamplingSettings
from app.engine.client import EngineClient, EngineState, Stream

NO_END = ((0, -100.0), (1, -100.0), (2, -100.0))  # SmolLM2's end-of-text, im_start, im_end
LONG = SamplingSettings(temperature=0.8, max_tokens=4000, seed=7, logit_bias=NO_END)
SHORT = SamplingSettings(temperature=0.0, max_tokens=4, logit_bias=NO_END)
HELLO = [{"role": "user", "content": "Say hello."}]
OPTS = LoadOptions(n_ctx=512)


def wait_until(condition: Callable[[], object], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def kill(pid: int | None, sig: int = signal.SIGKILL) -> None:
    assert pid is not None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def stream(client: EngineClient, settings: SamplingSettings = SHORT) -> Stream:
    return client.chat(HELLO, settings, listener=lambda _e: None)


def assert_answered(client: EngineClient, model: Path) -> None:
    fin = stream(client).wait(timeout=90)
    assert fin.reason == "length" and fin.timings.generated_tokens == 4 and fin.text
    assert client.info is not None and client.info.path == str(model)


@pytest.fixture
def client(tmp_path: Path, starter_path: Path) -> Iterator[EngineClient]:
    client = EngineClient(log_path=tmp_path / "engine.log")
    client.load(starter_path, OPTS)
    yield client
    client.close()


def test_20_rounds_of_random_kill_cancel_and_new_requests_always_come_back(client: EngineClient,
                                                                            starter_path: Path) -> None:
    rng = random.Random(20)
    actions = ["kill mid-reply", "cancel mid-reply", "kill while idle", "kill during a load",
               "kill during the automatic reload"]
    seen: list[str] = []
    started = time.monotonic()
    for _ in range(20):
        action = rng.choice(actions)
        seen.append(action)
        streams: list[Stream] = []
        if action in ("kill mid-reply", "cancel mid-reply"):
            reply = stream(client, LONG)
            streams.append(reply)
            wait_until(lambda r=reply: r.text or r.done)
            time.sleep(rng.uniform(0, 0.05))
            if action == "kill mid-reply":
                kill(client.pid)
            else:
                reply.cancel()
        elif action == "kill while idle":
            kill(client.pid)  # the next request comes at once, before the client can see the death
        elif action == "kill during a load":
            loading = client.load_async(starter_path, OPTS)
            wait_until(lambda f=loading: client.state is EngineState.LOADING or f.done())
            time.sleep(rng.uniform(0, 0.15))
            kill(client.pid)
            assert loading.result(timeout=90).path == str(starter_path)  # retried, not blamed on the file
        else:
            kill(client.pid)
            reloading = stream(client)  # needs the automatic reload, which is killed in turn
            streams.append(reloading)
            wait_until(lambda r=reloading: client.state is EngineState.LOADING or r.done)
            time.sleep(rng.uniform(0, 0.05))
            in_reload = client.state is EngineState.LOADING
            kill(client.pid)
            if in_reload:  # the reload is retried: this reply is answered, not failed
                assert reloading.wait(timeout=90).timings.generated_tokens == 4
        for s in streams:
            with contextlib.suppress(InklingError):
                s.wait(timeout=90)
            assert s.done  # every stream ends: Finished or a typed error
            assert s.finished is not None or isinstance(s.error, EngineCrashed)
        assert_answered(client, starter_path)
    assert set(seen) == set(actions)
    assert time.monotonic() - started < 120


def test_a_frozen_engine_is_killed_after_the_grace_and_the_next_reply_uses_the_same_model(
        client: EngineClient, starter_path: Path) -> None:
    first = stream(client, LONG)
    wait_until(lambda: first.text)
    pid = client.pid
    kill(pid, signal.SIGSTOP)  # frozen mid-reply: it can't see the stop flag
    try:
        second = stream(client)  # Regenerate: the new reply replaces the frozen one
        assert first.wait(timeout=30).reason == "cancelled"
        fin = second.wait(timeout=90)  # no "No model is loaded": the model was loaded again
        assert fin.timings.generated_tokens == 4
        assert client.pid not in (None, pid)
        assert client.info is not None and client.info.path == str(starter_path)
        assert client.crashes == 0  # a kill on stop is not a crash
    finally:
        kill(pid)


def test_a_request_that_reached_a_dying_engine_is_retried_on_the_new_one(client: EngineClient,
                                                                         starter_path: Path) -> None:
    pid = client.pid
    kill(pid, signal.SIGSTOP)  # the engine can't take the request...
    reply = stream(client)
    wait_until(lambda: client.state is EngineState.RUNNING)
    kill(pid)  # ...and dies before it started it
    assert reply.wait(timeout=90).timings.generated_tokens == 4
    assert client.pid not in (None, pid)
    assert client.info is not None


def test_a_request_sent_right_after_an_idle_engine_was_killed_is_answered(client: EngineClient,
                                                                          starter_path: Path) -> None:
    for _ in range(3):
        pid = client.pid
        kill(pid)
        assert_answered(client, starter_path)  # sent at once, while the client still sees it alive
        assert client.pid not in (None, pid)


def test_a_message_sent_while_the_model_loads_waits_and_is_answered(tmp_path: Path, starter_path: Path) -> None:
    client = EngineClient(log_path=tmp_path / "engine.log")
    try:
        client.start().result(timeout=60)
        loading = client.load_async(starter_path, OPTS)
        wait_until(lambda: client.state is EngineState.LOADING)
        reply = stream(client)  # the user types before the model is ready
        assert reply.wait(timeout=90).timings.generated_tokens == 4
        assert loading.result().path == str(starter_path)
    finally:
        client.close()


def test_a_death_during_a_load_is_retried_and_keeps_the_model(tmp_path: Path, starter_path: Path) -> None:
    client = EngineClient(log_path=tmp_path / "engine.log")
    try:
        client.start().result(timeout=60)
        for _ in range(3):
            loading = client.load_async(starter_path, OPTS)
            wait_until(lambda f=loading: client.state is EngineState.LOADING or f.done())
            kill(client.pid)  # once per load: the retry must succeed
            assert loading.result(timeout=90).path == str(starter_path)
            assert client.wanted is not None and client.info is not None
        assert_answered(client, starter_path)
    finally:
        client.close()


def test_a_load_that_dies_twice_blames_the_file(tmp_path: Path, starter_path: Path) -> None:
    client = EngineClient(log_path=tmp_path / "engine.log")
    try:
        client.start().result(timeout=60)
        loading = client.load_async(starter_path, OPTS)
        wait_until(lambda: client.state is EngineState.LOADING)
        first = client.pid
        kill(first)
        wait_until(lambda: (client.pid not in (None, first) and client.state is EngineState.LOADING) or loading.done())
        if not loading.done():  # the retry is under way: kill it too
            kill(client.pid)
            with pytest.raises(EngineCrashed) as caught:
                loading.result(timeout=60)
            assert "while loading" in str(caught.value) and str(starter_path) in str(caught.value)
            assert client.info is None and client.wanted is None
        assert client.load(starter_path, OPTS).architecture == "llama"
        assert_answered(client, starter_path)
    finally:
        client.close()


def test_score_peek_and_count_can_be_cancelled(client: EngineClient, starter_path: Path) -> None:
    long_text = "The quick brown fox jumps over the lazy dog. " * 120
    scoring = client.score_async(long_text, top=3)
    wait_until(lambda: client.state is EngineState.RUNNING)
    assert scoring.cancel()
    with pytest.raises(Interrupted):
        scoring.result(timeout=30)

    reply = stream(client, LONG)  # a running reply keeps the next calls queued
    wait_until(lambda: reply.text)
    peeking = client.peek_async(prompt=long_text)
    counting = client.count_text_async(long_text)
    assert peeking.cancel() and counting.cancel()
    with pytest.raises(Interrupted):
        peeking.result(timeout=30)
    with pytest.raises(Interrupted):
        counting.result(timeout=30)
    reply.cancel()
    assert reply.wait(timeout=30).reason == "cancelled"
    assert client.count_text_async("Hello there").result(timeout=30) > 0
    assert_answered(client, starter_path)


def test_the_readers_death_kills_the_engine_and_the_next_request_works(client: EngineClient,
                                                                       starter_path: Path) -> None:
    engine = client._engine
    assert engine is not None
    pid = client.pid

    class BrokenPipe:
        def __init__(self, real: object) -> None:
            self.real = real

        def recv(self) -> object:
            raise RuntimeError("a bug in the reader")

        def __getattr__(self, name: str) -> object:
            return getattr(self.real, name)

    engine.conn = BrokenPipe(engine.conn)
    with contextlib.suppress(InklingError):
        client.start().result(timeout=30)  # wakes the reader, which then dies on the broken pipe
    wait_until(lambda: engine.proc.exitcode is not None, timeout=30)  # the engine did not live on, unread
    assert_answered(client, starter_path)
    assert client.pid not in (None, pid)


def test_a_crash_quotes_the_log_of_this_request_only(client: EngineClient, tmp_path: Path) -> None:
    with open(tmp_path / "engine.log", "a", encoding="utf-8") as log:
        log.write("GGML_ASSERT(some_other_file_problem) failed\nllama_model_load: error loading model: older\n")
    reply = stream(client, LONG)
    wait_until(lambda: reply.text)
    kill(client.pid)
    with pytest.raises(EngineCrashed) as caught:
        reply.wait(timeout=30)
    assert "some_other_file_problem" not in str(caught.value) and "older" not in str(caught.value)
    assert "killed" in str(caught.value)
