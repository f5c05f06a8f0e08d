"""One contract for every engine behind the port: the local engine, a server, and the UI tests' fake.

Each case runs against ``EngineClient`` (the starter model in its engine process),
``RemoteEngine`` (a real ``llama_cpp.server`` on 127.0.0.1 serving the starter model)
and ``FakeEngine`` (tests/ui/fake_engine.py), all with a context of 512 tokens, so
"longer than the context" is cheap. What a person sees must not depend on where the
model runs: Stop keeps the text, a missing model is the same typed error, peek has one
shape, settings an engine ignores are named, a long chat drops the same old messages
with the same notice and a long document is seen from the same start. The chat and the
document go through the live turns in core (``ChatTurn``, ``DocumentSession``), which fit
them into the context above the port (``app.core.fitting``).
"""

from __future__ import annotations

import queue
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from remote_server import API_KEY, LlamaServer, start_server, stop_server
from ui.fake_engine import FakeEngine, fake_tokens

from app.core.chat_session import ChatSession
from app.core.chat_turn import StreamEvents
from app.core.connections import Connection
from app.core.document_session import DocumentSession
from app.core.document_view import layout_document
from app.core.errors import InklingError, NoModelLoaded
from app.core.events import Finished, LoadOptions, PromptProgress, TokenEvent
from app.core.fitting import TokenCounter, document_budget, dropped_notice
from app.core.ports import PeekResult
from app.core.sampling import SamplingSettings
from app.core.storage import Storage
from app.engine.client import EngineClient
from app.engine.remote import RemoteEngine

N_CTX = 512
KINDS = ["local", "remote", "fake"]
LA = 'root ::= "la" (" la")*'  # a grammar that never ends by itself: Stop must end it


@pytest.fixture(scope="module")
def small_server(starter_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    server = start_server(starter_path, tmp_path_factory.mktemp("small-server") / "server.log", n_ctx=N_CTX)
    yield server
    stop_server(server)


def _remote(server: LlamaServer) -> RemoteEngine:
    # llama-cpp-python's server does not say its context: the connection gives it
    return RemoteEngine(Connection("contract", "contract", server.url, API_KEY, context=N_CTX))


@pytest.fixture(scope="module", params=KINDS)
def engine(request: pytest.FixtureRequest, starter_path: Path) -> Iterator[Any]:
    """A loaded engine of each kind, with a 512-token context."""
    kind = request.param
    if kind == "local":
        made: Any = EngineClient()
        made.load(starter_path, LoadOptions(n_ctx=N_CTX))
    elif kind == "remote":
        server = request.getfixturevalue("small_server")
        made = _remote(server)
        made.load_async(server.model).result(120)
    else:
        made = FakeEngine("la" + " la" * 400, piece=3, delay=0.01)
        made.load_async("/fake.gguf", LoadOptions(n_ctx=N_CTX)).result()
    assert made.info.context == N_CTX
    yield made
    made.close()


@pytest.fixture(params=KINDS)
def bare_engine(request: pytest.FixtureRequest) -> Iterator[Any]:
    """An engine of each kind that was never given a model."""
    kind = request.param
    if kind == "local":
        made: Any = EngineClient()
    elif kind == "remote":
        made = _remote(request.getfixturevalue("small_server"))
    else:
        made = FakeEngine("la la")
    yield made
    made.close()


class PortEngine:
    """The live turns' engine (``ChatEngine``, ``CompletionEngine``) over a port, without Qt.

    Fitting runs at once on the test's thread (it waits on the engine's counts, which other
    threads answer); stream events queue up and :meth:`pump` hands them to the turn on the
    test's thread, as the window's adapter does on the GUI thread.
    """

    def __init__(self, port: Any) -> None:
        self.port = port
        self.events: queue.SimpleQueue[tuple[StreamEvents, Any]] = queue.SimpleQueue()
        self.parallel_sequences = 1

    def fit(self, job: Callable[[TokenCounter], Any], then: Callable[[Any], None],
            failed: Callable[[InklingError], None]) -> None:
        try:
            value = job(self.port)
        except InklingError as exc:
            failed(exc)
            return
        then(value)

    def start_chat(self, history: list[dict[str, str]], sampling: SamplingSettings, *, continue_last: bool,
                   events: StreamEvents) -> Any:
        return self.port.chat(history, sampling, continue_last=continue_last,
                              listener=lambda event: self.events.put((events, event)))

    def start_completion(self, prompt: str, suffix: str, sampling: SamplingSettings, *, memory: str,
                         events: StreamEvents, sequences: int = 1, alternatives: bool = True) -> Any:
        return self.port.complete(prompt, sampling, suffix=suffix, memory=memory,
                                  listener=lambda event: self.events.put((events, event)))

    def current_model(self) -> tuple[str, str]:
        info = self.port.info
        return (info.name, info.path) if info is not None else ("", "")

    def pump(self, until: Callable[[], bool], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not until():
            events, event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            if isinstance(event, TokenEvent):
                events.tokens([event])
            elif isinstance(event, PromptProgress):
                events.progress(event)
            elif isinstance(event, Finished):
                events.finished(event)
            else:
                events.failed(event)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Storage]:
    storage = Storage(tmp_path / "inkling.db")
    yield storage
    storage.close()


# -- the stream ----------------------------------------------------------------------------------


def test_stop_ends_the_stream_as_cancelled_and_keeps_the_text_so_far(engine: Any) -> None:
    seen: list[str] = []
    arrived = queue.SimpleQueue[object]()

    def listener(event: object) -> None:
        if isinstance(event, TokenEvent):
            seen.append(event.text)
        arrived.put(event)

    settings = SamplingSettings(max_tokens=300, temperature=0.0, seed=1, grammar=LA)
    stream = engine.chat([{"role": "user", "content": "Sing."}], settings, listener=listener)
    while len(seen) < 3:
        event = arrived.get(timeout=60)
        assert not isinstance(event, InklingError | Finished), f"the stream ended before Stop: {event!r}"
    stream.cancel()
    deadline = time.monotonic() + 30
    while not stream.done:
        arrived.get(timeout=max(0.0, deadline - time.monotonic()))
    fin = stream.finished
    assert fin is not None and fin.reason == "cancelled", f"Stop ended as {fin!r} / {stream.error!r}"
    assert fin.text == stream.text == "".join(seen)
    endless = "la" + " la" * 300
    assert fin.text and endless.startswith(fin.text), fin.text
    assert len(fin.text) < len(endless) - 30, "Stop did not stop the stream"


def test_a_request_without_a_model_fails_with_the_same_typed_error(bare_engine: Any) -> None:
    stream = bare_engine.chat([{"role": "user", "content": "Hi"}], SamplingSettings(max_tokens=4))
    with pytest.raises(NoModelLoaded):
        stream.wait(60)
    assert isinstance(stream.error, NoModelLoaded) and stream.finished is None
    with pytest.raises(NoModelLoaded):
        bare_engine.peek_async(prompt="Once upon a time", top=3).result(60)


def test_peek_answers_one_shape(engine: Any) -> None:
    result = engine.peek_async(prompt="Once upon a time", top=5).result(60)
    assert isinstance(result, PeekResult)
    assert 1 <= len(result.candidates) <= 5
    for text, token_id, logit in result.candidates:
        assert isinstance(text, str) and isinstance(token_id, int) and isinstance(logit, float)
    logits = [c[2] for c in result.candidates]
    assert logits == sorted(logits, reverse=True), "candidates come likeliest first"
    assert isinstance(result.log_normaliser, float)
    assert result.spread is None or isinstance(result.spread, float)


def test_settings_the_engine_does_not_apply_are_named_on_the_stream_and_its_end(engine: Any) -> None:
    settings = SamplingSettings(max_tokens=2, temperature=0.0, seed=1, xtc_probability=0.5, xtc_threshold=0.2,
                                top_n_sigma=1.5)
    expected = engine.capabilities.not_applied(settings)
    if engine.capabilities.server == "llama-cpp-python":
        assert {"xtc_probability", "top_n_sigma"} <= set(expected)  # its server takes neither
    stream = engine.chat([{"role": "user", "content": "Hi"}], settings)
    assert stream.not_applied == expected
    fin = stream.wait(60)
    assert fin.not_applied == expected


# -- longer than the context ------------------------------------------------------------------


def _say(session: ChatSession, user: str, assistant: str) -> None:
    """A question and its answer, already in the chat."""
    question = session.add_user_message(user)
    reply, _ = session.start_reply(question)
    reply.add(assistant)
    session.finish_reply(reply, Finished("stop", assistant))


def test_a_chat_longer_than_the_context_drops_the_same_old_messages_with_the_same_notice(engine: Any,
                                                                                         db: Storage) -> None:
    """The first question alone is longer than the context: every engine leaves it and its answer out."""
    session = ChatSession.create(db, SamplingSettings(max_tokens=8, temperature=0.0, seed=1))
    session.set_system_prompt("You answer in one word.")
    _say(session, "Remember this: " + "the old red house " * 150, "Yes.")
    _say(session, "What is a cat?", "An animal.")
    port = PortEngine(engine)
    clock = [0.0]
    turn = session.use_engine(port, lambda _delay, _call: None, lambda: clock[0])
    assert turn.send("And a dog?") == "sent"
    port.pump(lambda: turn.ended is not None)
    fin = turn.ended.finished
    assert fin.reason in ("stop", "length"), f"the reply failed: {fin.error}"
    assert fin.dropped_messages == 2
    assert dropped_notice(fin.dropped_messages) == (
        "⚠ 2 older messages no longer fit in the model's context and were left out of what it sees "
        "(still saved here).")
    assert turn.ended.message.status == "done"


def _long_document() -> str:
    """Plain paragraphs of common words: each word, mark and line break is one token of the starter model."""
    words = "the cat sat on a mat and the dog ran to the old red house by the green hill where a small bird was"
    pick = random.Random(7)
    return "\n\n".join("The " + " ".join(pick.choice(words.split()) for _ in range(50)) + "." for _ in range(24))


def test_a_document_longer_than_the_context_is_seen_from_the_same_start(engine: Any, db: Storage) -> None:
    text = _long_document()
    settings = SamplingSettings(max_tokens=6, temperature=0.0, seed=1)
    expected = layout_document(text, "", "", fake_tokens, document_budget(N_CTX, settings))
    assert expected.start > 0 and "\n\n" in text[: expected.start]
    row = db.create_document("Long", text)
    session = DocumentSession(db, row, settings, "")
    port = PortEngine(engine)
    session.use_engine(port)
    suggestion = session.start_suggestion(text)
    port.pump(lambda: not suggestion.writing)
    fin = suggestion.finished
    assert fin is not None and fin.reason in ("stop", "length"), f"the suggestion failed: {fin and fin.error}"
    assert (fin.view_start, fin.words_outside) == (expected.start, expected.words_outside)



# -- adapters --------------------------------------------------------------------------------------


def test_an_adapter_is_taken_where_the_capabilities_say_so_and_refused_with_the_reason_elsewhere(
        engine: Any, tmp_path: Path, starter_path: Path) -> None:
    pytest.importorskip("jax", reason="writing an adapter needs the training extra")
    import gguf

    from app.core.adapters import AdapterInfo
    from app.core.errors import FeatureUnavailable
    from app.train.model import read_config
    from tests.train.conftest import random_adapter

    adapter = tmp_path / "contract.gguf"
    random_adapter(read_config(gguf.GGUFReader(str(starter_path)), starter_path), adapter, starter_path, seed=5)
    caps = engine.capabilities
    if caps.adapters:
        info = engine.set_adapter_async(str(adapter), 0.5).result(60)
        assert isinstance(info, AdapterInfo) and info.path == str(adapter) and info.scale == 0.5
    else:
        with pytest.raises(FeatureUnavailable) as refused:
            engine.set_adapter_async(str(adapter), 0.5).result(60)
        assert str(refused.value) == caps.why_not("adapters") and "server" in str(refused.value)
    off = engine.set_adapter_async(None, 1.0).result(60)  # none: every engine takes it
    assert isinstance(off, AdapterInfo) and off.path == ""
