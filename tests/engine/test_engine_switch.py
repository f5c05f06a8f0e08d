"""The switch forwards only the port: while a server answers, nothing quietly reaches the idle local engine."""

from __future__ import annotations

from concurrent.futures import Future

import pytest
from ui.fake_engine import FakeEngine

from app.core.announcer import Announcer
from app.core.connections import Connection, remote_ref
from app.core.engine_status import EnginePhase, EngineStatus
from app.core.ports import EnginePort, StreamPort
from app.engine.client import EngineClient
from app.engine.remote import RemoteEngine
from app.engine.stream import Stream
from app.engine.switch import EngineSwitch


class RecordingLocal:
    """Beside the real local engine: records every question asked of it (what the switch forwards is the point)."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.info = None
        self.pid = None
        self.status = EngineStatus()
        self.status_changed: Announcer[[EngineStatus]] = Announcer()

    def last_prompt(self) -> str:
        self.asked.append("last_prompt")
        return "the local model's last prompt"

    def tokenize(self, text: str) -> list[tuple[int, str]]:
        self.asked.append("tokenize")
        return [(1, text)]

    def cancel(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_question_outside_the_port_never_reaches_the_local_engine_while_a_server_answers() -> None:
    local = RecordingLocal()
    server = Connection("srv", "A server", "http://127.0.0.1:9/v1")  # nothing listens: the load fails, fine
    switch = EngineSwitch(local, lambda: [server])
    try:
        load: Future = switch.load_async(remote_ref("srv", "some-model"))
        assert isinstance(switch.active, RemoteEngine)
        with pytest.raises(AttributeError):
            switch.last_prompt()  # type: ignore[attr-defined]  # the local engine's prompt is not the server's
        with pytest.raises(AttributeError):
            switch.tokenize("hello")  # type: ignore[attr-defined]  # nor are its tokens
        assert local.asked == []
        assert local.last_prompt() == "the local model's last prompt"  # asked of the local engine by name
        load.exception(timeout=30)
    finally:
        switch.close()


def test_the_switch_both_engines_and_the_fake_have_every_member_of_the_port() -> None:
    """What the UI reads of an engine is declared on the port and present on every engine, not guessed at."""
    members = {n for n in dir(EnginePort) if not n.startswith("_")} | set(EnginePort.__annotations__)
    assert {"parallel_sequences", "capabilities", "info", "pid", "start", "complete", "peek_async"} <= members
    stream_members = {n for n in dir(StreamPort) if not n.startswith("_")} | set(StreamPort.__annotations__)
    assert {"not_applied", "note", "finished", "text", "done", "cancel"} <= stream_members
    server = Connection("srv", "A server", "http://127.0.0.1:9/v1")
    local, remote = EngineClient(), RemoteEngine(server)
    switch = EngineSwitch(local, lambda: [server])
    try:
        for engine in (local, remote, switch, FakeEngine("x")):
            missing = {m for m in members if not hasattr(engine, m)}
            assert missing == set(), f"{type(engine).__name__} lacks {missing}"
            assert engine.parallel_sequences >= 1
        streams = [Stream(lambda _s: None), FakeEngine("").chat([{"role": "user", "content": "hi"}]),
                   remote.chat([{"role": "user", "content": "hi"}])]  # no model chosen: it ends at once
        assert type(streams[2]) is Stream  # one stream class for both engines
        for stream in streams:
            missing = {m for m in stream_members if not hasattr(stream, m)}
            assert missing == set(), f"{type(stream).__name__} lacks {missing}"
            assert stream.not_applied == () and stream.note == "", type(stream).__name__
    finally:
        switch.close()


def test_the_switch_tells_only_the_active_backends_status() -> None:
    local = RecordingLocal()
    server = Connection("srv", "A server", "http://127.0.0.1:9/v1")  # nothing listens: the load fails, fine
    switch = EngineSwitch(local, lambda: [server])
    told: list[EngineStatus] = []
    switch.status_changed.subscribe(told.append)
    try:
        writing = EngineStatus(EnginePhase.WRITING, "/models/a.gguf")
        local.status_changed._announce(writing)
        assert told == [writing] and switch.status is local.status
        load: Future = switch.load_async(remote_ref("srv", "some-model"))
        remote = switch.active
        assert isinstance(remote, RemoteEngine)
        load.exception(timeout=30)
        assert told[1] == EngineStatus()  # the switch to a server with no model yet: nothing to answer with
        assert told[2] == EngineStatus(EnginePhase.LOADING, remote_ref("srv", "some-model"))
        del told[:]
        local.status_changed._announce(EngineStatus(EnginePhase.RELOADING, "/models/a.gguf"))
        assert EnginePhase.RELOADING not in {s.phase for s in told}  # the local engine is out of use
        assert switch.status is remote.status
    finally:
        switch.close()
