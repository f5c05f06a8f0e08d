"""EngineClient's one observable status, with the real engine and the starter model.

The supervisor thread alone changes ``EngineClient.status`` and tells its
subscribers; a crash nobody asked for makes the next request say "reloading
after a crash" (not "writing") until the model is back.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from remote_server import API_KEY, LlamaServer

from app.core.connections import Connection
from app.core.engine_status import CRASHED, EnginePhase, EngineStatus
from app.core.events import LoadOptions
from app.core.sampling import SamplingSettings
from app.engine.client import EngineClient
from app.engine.remote import RemoteEngine

NO_END = ((0, -100.0), (1, -100.0), (2, -100.0))  # SmolLM2's end-of-text, im_start, im_end
SHORT = SamplingSettings(temperature=0.0, max_tokens=4, logit_bias=NO_END)
HELLO = [{"role": "user", "content": "Say hello."}]


class Recorder:
    """Every status told, with the thread that told it."""

    def __init__(self) -> None:
        self.seen: list[EngineStatus] = []
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, status: EngineStatus) -> None:
        with self._lock:
            self.seen.append(status)
            self.threads.add(threading.current_thread().name)

    def take(self) -> list[EngineStatus]:
        with self._lock:
            seen, self.seen = self.seen, []
        return seen


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[EngineClient, Recorder]]:
    client = EngineClient(log_path=tmp_path / "engine.log")
    recorder = Recorder()
    client.status_changed.subscribe(recorder)
    yield client, recorder
    client.close()


def settle(client: EngineClient | RemoteEngine, phase: EnginePhase, timeout: float = 30.0) -> None:
    """The supervisor publishes idle just after the caller has its answer: wait for it (no timing asserted)."""
    deadline = time.monotonic() + timeout
    while client.status.phase is not phase:
        assert time.monotonic() < deadline, f"status stayed {client.status}"
        time.sleep(0.01)


def test_status_goes_loading_idle_writing_idle_then_reloading_after_a_crash(
        recorded: tuple[EngineClient, Recorder], starter_path: Path) -> None:
    client, recorder = recorded
    model = str(starter_path)
    assert client.status == EngineStatus(EnginePhase.DEAD)

    client.load(starter_path, LoadOptions(n_ctx=512))
    settle(client, EnginePhase.IDLE)
    assert recorder.take() == [EngineStatus(EnginePhase.LOADING, model), EngineStatus(EnginePhase.IDLE, model)]

    assert client.chat(HELLO, SHORT).wait(timeout=90).reason == "length"
    settle(client, EnginePhase.IDLE)
    assert recorder.take() == [EngineStatus(EnginePhase.WRITING, model), EngineStatus(EnginePhase.IDLE, model)]

    pid = client.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # a crash while idle, after a reply
    fin = client.chat(HELLO, SHORT).wait(timeout=120)
    assert fin.reason == "length" and fin.text, fin
    settle(client, EnginePhase.IDLE)
    seen = recorder.take()
    if seen[:1] == [EngineStatus(EnginePhase.WRITING, model)]:
        seen = seen[1:]  # the reply was sent before the death was seen: it never started, and is sent again
    assert seen == [EngineStatus(EnginePhase.DEAD, model),
                    EngineStatus(EnginePhase.RELOADING, model, CRASHED),
                    EngineStatus(EnginePhase.WRITING, model),
                    EngineStatus(EnginePhase.IDLE, model)], seen
    assert seen[1].text == "Reloading the model after a crash…"
    assert recorder.threads == {"inkling-engine-supervisor"}  # one writer of the status


def test_a_remote_engine_publishes_the_same_status(llama_server: LlamaServer) -> None:
    """Loading, reading the prompt until the first token, writing, idle: told on the engine's own thread."""
    engine = RemoteEngine(Connection.new("test box", llama_server.url, API_KEY), first_byte_timeout=60)
    recorder = Recorder()
    engine.status_changed.subscribe(recorder)
    try:
        info = engine.load_async("").result(60)
        settle(engine, EnginePhase.IDLE)
        assert recorder.take() == [EngineStatus(EnginePhase.LOADING), EngineStatus(EnginePhase.IDLE, info.path)]
        fin = engine.chat(HELLO, SHORT.replace(max_tokens=6)).wait(timeout=90)
        assert fin.reason == "length" and fin.text, fin
        settle(engine, EnginePhase.IDLE)
        assert recorder.take() == [EngineStatus(EnginePhase.READING, info.path),
                                   EngineStatus(EnginePhase.WRITING, info.path),
                                   EngineStatus(EnginePhase.IDLE, info.path)]
        assert recorder.threads == {"inkling-remote"}
    finally:
        engine.close()
