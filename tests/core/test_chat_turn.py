"""A whole chat turn in core: send, a Send that waits its turn, stop, engine failure, saving, reload.

``ChatTurn`` over a real SQLite file and a fake engine the test steps by hand; no
Qt, no model, milliseconds. The window keeps a short end-to-end check of the same
rules on the real model (tests/ui/test_stop_and_send.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.chat_session import ChatSession
from app.core.chat_turn import SAVE_INTERVAL, ChatTurn
from app.core.errors import EngineCrashed, NoModelLoaded
from app.core.presets import PresetStore
from app.core.sampling import SamplingSettings
from app.core.storage import Storage
from tests.core.fakes import FakeEngine, ManualClock


@pytest.fixture
def db(tmp_path: Path) -> Storage:
    storage = Storage(tmp_path / "inkling.db")
    yield storage
    storage.close()


class Chat:
    """A chat with its live turn, the fake engine, the clock and what the session announced."""

    def __init__(self, db: Storage) -> None:
        self.db = db
        self.session = ChatSession.create(db, SamplingSettings(max_tokens=24))
        self.engine = FakeEngine()
        self.clock = ManualClock()
        self.heard: list[str] = []
        self.session.subscribe(lambda _s, what: self.heard.append(what))
        self.turn: ChatTurn = self.session.use_engine(self.engine, self.clock.call_later, self.clock)

    def saved(self) -> list[tuple[str, str, str]]:
        """(role, content, status) of every message as a restarted app reads them."""
        fresh = Storage(self.db.path)
        try:
            return [(m.role, m.content, m.status) for m in fresh.messages(self.session.id)]
        finally:
            fresh.close()


@pytest.fixture
def chat(db: Storage) -> Chat:
    return Chat(db)


def test_a_reply_streams_is_saved_and_its_end_is_announced(chat: Chat) -> None:
    assert chat.turn.send("  What is a lighthouse?  ") == "sent"
    stream = chat.engine.last
    assert stream.request["history"] == [{"role": "user", "content": "What is a lighthouse?"}]
    assert stream.request["sampling"] == chat.session.sampling
    assert chat.turn.busy and chat.heard == ["reply-started"]
    stream.read_prompt(5, 10)
    chat.clock.advance(0.25)
    stream.say("A tower", " with a light.")
    assert chat.heard[-2:] == ["reply-progress", "reply-writing"]
    assert chat.turn.current is not None and chat.turn.current.reply.first_token_ms == 250.0
    stream.finish()
    assert not chat.turn.busy and chat.heard[-2:] == ["title", "reply-ended"]  # titled by its first question as it ended
    ended = chat.turn.ended
    assert ended is not None and ended.newest and ended.finished.reason == "stop"
    assert ended.message.stats["model"] == "Fake" and chat.session.model_path == "/models/fake.gguf"
    assert chat.saved() == [("user", "What is a lighthouse?", "done"), ("assistant", "A tower with a light.", "done")]
    assert chat.session.title == "What is a lighthouse?"


def test_streamed_text_is_committed_within_a_second_even_when_the_stream_stalls(chat: Chat) -> None:
    chat.turn.send("Tell me a story.")
    stream = chat.engine.last
    stream.say("Once")
    assert chat.saved()[1] == ("assistant", "", "streaming")
    chat.clock.advance(SAVE_INTERVAL * 0.5)
    stream.say(" upon")
    chat.clock.advance(SAVE_INTERVAL * 0.6)  # a second after the first text, though no token came since
    assert chat.saved()[1] == ("assistant", "Once upon", "streaming")
    chat.clock.advance(10)  # a stall: nothing new, nothing written
    stream.say(" a time")
    assert chat.saved()[1][1] == "Once upon"
    stream.finish()  # an ended reply is committed at once
    assert chat.saved()[1] == ("assistant", "Once upon a time", "done")


def test_a_message_sent_during_a_reply_waits_its_turn_and_goes_by_itself(chat: Chat) -> None:
    chat.turn.send("First question?")
    first = chat.engine.last
    first.say("The first", " answer")
    assert chat.turn.send("Second question?") == "waiting"
    assert chat.turn.waiting == "Second question?" and chat.heard[-1] == "send-waiting"
    assert len(chat.engine.streams) == 1 and not first.cancelled  # the reply being written is not cut off
    first.say(" goes on.")
    first.finish("length")
    second = chat.engine.last
    assert second is not first and chat.turn.waiting is None and chat.turn.busy
    assert second.request["history"][-1] == {"role": "user", "content": "Second question?"}
    assert second.request["history"][-2] == {"role": "assistant", "content": "The first answer goes on."}
    second.say("Second answer.")
    second.finish()
    assert chat.saved() == [("user", "First question?", "done"), ("assistant", "The first answer goes on.", "done"),
                            ("user", "Second question?", "done"), ("assistant", "Second answer.", "done")]


def test_stop_keeps_the_text_and_a_waiting_message_then_goes(chat: Chat) -> None:
    chat.turn.send("Count to a hundred.")
    first = chat.engine.last
    first.say("One, two,")
    chat.turn.send("Actually, stop there.")
    chat.turn.stop()
    assert first.cancelled and chat.turn.busy  # stopped, but ended only when the engine says so
    first.say(" three")  # a batch already on its way is kept
    first.finish()
    ended = chat.turn.ended
    assert ended is not None and ended.finished.reason == "cancelled" and ended.message.status == "stopped"
    assert chat.engine.last is not first  # the waiting message went
    assert chat.saved()[1] == ("assistant", "One, two, three", "stopped")
    assert chat.saved()[2] == ("user", "Actually, stop there.", "done")


def test_an_engine_failure_keeps_the_text_says_why_and_the_waiting_message_still_goes(chat: Chat) -> None:
    chat.turn.send("Hello?")
    first = chat.engine.last
    first.say("Hi, I was about to")
    chat.turn.send("Are you there?")
    first.fail(EngineCrashed("the engine stopped (test)"))
    assert chat.turn.ended is not None and chat.turn.ended.finished.reason == "error"
    rows = Storage(chat.db.path).messages(chat.session.id)
    assert rows[1].content == "Hi, I was about to" and rows[1].status == "error"
    assert "the engine stopped (test)" in rows[1].stats["error"]
    assert chat.engine.last is not first and chat.turn.busy


def test_no_model_gives_an_empty_reply_that_says_why(chat: Chat) -> None:
    chat.engine.refuse = NoModelLoaded()
    assert chat.turn.send("Anyone?") == "sent"
    assert not chat.turn.busy and chat.turn.ended is not None and chat.turn.ended.finished.reason == "error"
    role, content, status = chat.saved()[1]
    assert (role, content, status) == ("assistant", "", "error")
    assert chat.session.history() == [{"role": "user", "content": "Anyone?"}]  # left out of what the model sees


def test_regenerate_while_writing_ends_the_old_reply_on_its_own_as_a_version(chat: Chat) -> None:
    chat.turn.send("Name a colour.")
    first = chat.engine.last
    first.say("Blue")
    assert chat.turn.regenerate()
    second = chat.engine.last
    assert first.cancelled and second is not first and len(chat.turn.live) == 2
    first.finish()  # the old reply's late end: saved, not announced as the reply
    assert chat.turn.ended is not None and not chat.turn.ended.newest and chat.turn.busy
    second.say("Green")
    second.finish()
    replies = [m for m in Storage(chat.db.path).messages(chat.session.id) if m.role == "assistant"]
    assert [(m.content, m.status) for m in replies] == [("Blue", "stopped"), ("Green", "done")]
    assert chat.session.tree.sibling_position(chat.session.path[-1].id) == (2, 2)


def test_continue_and_edit_go_through_the_turn(chat: Chat) -> None:
    chat.turn.send("Write a line.")
    chat.engine.last.say("The sea")
    chat.engine.last.finish("length")
    reply = chat.session.path[-1]
    assert chat.turn.continue_reply(reply.id)
    assert chat.engine.last.request["continue_last"] is True
    chat.engine.last.say(" was calm.")
    chat.engine.last.finish()
    assert chat.saved()[1] == ("assistant", "The sea was calm.", "done")
    question = chat.session.path[0]
    chat.turn.edit(question.id, "Write two lines.")
    assert chat.engine.last.request["history"] == [{"role": "user", "content": "Write two lines."}]


def test_a_reply_survives_a_reload_and_one_left_writing_is_settled_as_stopped(chat: Chat, db: Storage) -> None:
    chat.turn.send("Tell me more.")
    chat.engine.last.say("Some text")
    chat.clock.advance(SAVE_INTERVAL)  # committed; then the app is killed
    fresh = Storage(db.path)
    reopened = ChatSession.open(fresh, PresetStore(fresh), chat.session.id)
    assert reopened is not None
    assert reopened.settle_interrupted() == 1
    assert [(m.content, m.status) for m in reopened.path] == [("Tell me more.", "done"), ("Some text", "stopped")]
    fresh.close()


def test_switching_away_stops_the_reply_and_puts_a_waiting_message_back_in_the_draft(chat: Chat) -> None:
    chat.turn.send("One.")
    chat.turn.send("Two.")
    chat.turn.close()
    assert chat.engine.last.cancelled and chat.turn.waiting is None
    assert chat.session.draft == "Two."
    chat.engine.last.finish()
    assert len(chat.engine.streams) == 1  # nothing was sent after the chat was put away


def test_quitting_saves_every_reply_and_ignores_their_late_events(chat: Chat) -> None:
    chat.turn.send("Quick.")
    stream = chat.engine.last
    stream.say("Half a")
    chat.turn.send("And then?")
    chat.turn.finish_for_quit()
    assert stream.cancelled and not chat.turn.busy
    assert chat.session.draft == "And then?" and chat.turn.waiting is None  # kept for the next start
    stream.say(" reply")
    stream.finish()
    chat.clock.advance(5)
    assert chat.saved()[1] == ("assistant", "Half a", "stopped")


def test_deleting_a_chat_stops_its_reply_and_undo_brings_it_back_through_the_session(chat: Chat, db: Storage) -> None:
    chat.turn.send("Delete me.")
    chat.engine.last.say("Partial")
    chat.session.delete()
    assert chat.engine.last.cancelled and db.conversation(chat.session.id) is None
    chat.engine.last.finish()  # its end is still saved, in the deleted chat
    back = ChatSession.undelete(db, PresetStore(db), chat.session.id)
    assert back is not None and [(m.content, m.status) for m in back.path] == [("Delete me.", "done"),
                                                                              ("Partial", "stopped")]
