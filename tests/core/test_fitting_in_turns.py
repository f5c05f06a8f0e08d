"""A long chat and a long document are fitted into the context by the live turns in core, above the engine.

``ChatTurn`` and ``DocumentSession`` fit what they send with the engine's token
count (here a word counter with a small context) before the engine sees it, so
every engine behind the port gets the same fitted chat and document. No Qt, no
model, milliseconds; tests/contract runs the same against the real engines.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.chat_session import ChatSession
from app.core.document_session import DocumentSession
from app.core.document_view import layout_document
from app.core.errors import EngineCrashed, InklingError
from app.core.events import Finished
from app.core.fitting import TokenCounter, document_budget, dropped_notice
from app.core.sampling import SamplingSettings
from app.core.storage import Storage
from tests.core.fakes import FakeEngine, ManualClock, WordCounter


class LaterFitEngine(FakeEngine):
    """Fits only when the test says so (as the window does on a pool thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[Callable[[], None]] = []

    def fit(self, job: Callable[[TokenCounter], object], then: Callable[[object], None],
            failed: Callable[[InklingError], None]) -> None:
        self.waiting.append(lambda: FakeEngine.fit(self, job, then, failed))


@pytest.fixture
def db(tmp_path: Path) -> Storage:
    storage = Storage(tmp_path / "inkling.db")
    yield storage
    storage.close()


def _say(session: ChatSession, user: str, assistant: str) -> None:
    question = session.add_user_message(user)
    reply, _ = session.start_reply(question)
    reply.add(assistant)
    session.finish_reply(reply, Finished("stop", assistant))


def _long_chat(db: Storage, engine: FakeEngine) -> ChatSession:
    """Context 60 words, 10 for the reply: the first question (40 words) can't stay beside the rest."""
    engine.counter = WordCounter(context=60, per_message=4)
    session = ChatSession.create(db, SamplingSettings(max_tokens=10))
    _say(session, "word " * 40, "Yes.")
    _say(session, "What is a cat?", "An animal.")
    return session


def test_a_long_chat_loses_its_oldest_turns_before_the_engine_sees_it_and_the_reply_says_so(db: Storage) -> None:
    engine = FakeEngine()
    session = _long_chat(db, engine)
    clock = ManualClock()
    turn = session.use_engine(engine, clock.call_later, clock)
    turn.send("And a dog?")
    assert engine.last.request["history"] == [
        {"role": "user", "content": "What is a cat?"}, {"role": "assistant", "content": "An animal."},
        {"role": "user", "content": "And a dog?"}]
    engine.last.say("A", " pet.")
    engine.last.finish()
    assert turn.ended is not None and turn.ended.finished.dropped_messages == 2
    assert dropped_notice(turn.ended.finished.dropped_messages).startswith("⚠ 2 older messages no longer fit")
    assert turn.ended.message.stats["dropped"] == 2  # kept with the reply


def test_stop_while_the_chat_is_being_fitted_ends_the_reply_as_stopped_and_starts_nothing(db: Storage) -> None:
    engine = LaterFitEngine()
    session = _long_chat(db, engine)
    clock = ManualClock()
    turn = session.use_engine(engine, clock.call_later, clock)
    turn.send("And a dog?")
    assert turn.busy and not engine.streams
    turn.stop()
    engine.waiting.pop()()
    assert not engine.streams, "a stopped reply must not start after its fitting"
    assert turn.ended is not None and turn.ended.finished.reason == "cancelled"
    assert turn.ended.message.status == "stopped" and not turn.busy


def test_a_count_that_fails_fails_the_reply_with_its_reason(db: Storage) -> None:
    engine = FakeEngine()
    session = _long_chat(db, engine)

    def broken(_messages: object) -> object:
        raise EngineCrashed("The engine stopped while counting.")

    engine.counter.count_tokens_async = broken  # type: ignore[method-assign]
    clock = ManualClock()
    turn = session.use_engine(engine, clock.call_later, clock)
    turn.send("And a dog?")
    assert not engine.streams
    assert turn.ended is not None and turn.ended.message.status == "error"
    assert "stopped while counting" in turn.ended.finished.error


def test_a_long_document_is_sent_from_a_stable_start_and_the_suggestion_says_where_the_view_begins(
        db: Storage) -> None:
    text = "\n\n".join(f"Paragraph {i} " + "word " * 30 for i in range(12))
    settings = SamplingSettings(max_tokens=20)
    doc = DocumentSession.create(db, settings, content=text)
    engine = FakeEngine()
    engine.counter = WordCounter(context=120)
    doc.use_engine(engine)
    suggestion = doc.start_suggestion(text)
    view = layout_document(text, "", "", lambda t: len(t.split()), document_budget(120, settings))
    assert view.start > 0
    assert engine.last.request["prompt"] == text[view.start:]
    engine.last.say(" more")
    engine.last.finish()
    assert suggestion.finished is not None
    assert (suggestion.finished.view_start, suggestion.finished.words_outside) == (view.start, view.words_outside)


def test_stop_while_a_document_is_being_fitted_starts_nothing(db: Storage) -> None:
    doc = DocumentSession.create(db, SamplingSettings(max_tokens=20), content="Once upon a time")
    engine = LaterFitEngine()
    doc.use_engine(engine)
    suggestion = doc.start_suggestion("Once upon a time")
    doc.stop_suggestion()
    engine.waiting.pop()()
    assert not engine.streams
    assert doc.suggestion is None and suggestion.state == "stopped"
