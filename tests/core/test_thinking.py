"""Thinking told apart from the answer as a reply streams: the markers, the chat turn, what is sent back.

The splitter is fed the text in every possible cut (a marker may arrive split over
tokens), and a whole chat turn runs over real SQLite with the scripted engine of
tests/core/fakes.py; the real model's version is tests/ui/test_thinking_window.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.chat_session import ChatSession
from app.core.conversation import to_markdown
from app.core.parts import TextPart, ThinkingPart
from app.core.rework import replacement
from app.core.sampling import SamplingSettings
from app.core.storage import Storage
from app.core.thinking import (
    KNOWN_MARKERS,
    ThinkingSplitter,
    answer_of,
    forced_open_marker,
    markers_in_template,
    split_text,
    template_has_think_switch,
)
from tests.core.fakes import FakeEngine, ManualClock


def _fed_in_pieces(text: str, size: int) -> tuple[str, str]:
    splitter = ThinkingSplitter()
    pieces = []
    for i in range(0, len(text), size):
        pieces += splitter.feed(text[i:i + size])
    pieces += splitter.finish()
    return "".join(t for k, t in pieces if k == "thinking"), "".join(t for k, t in pieces if k == "answer")


@pytest.mark.parametrize("markers", KNOWN_MARKERS, ids=lambda m: m.name)
def test_every_known_marker_splits_the_same_however_the_text_is_cut(markers) -> None:
    text = f"\n{markers.open}\nThe keeper lights it at dusk.\n{markers.close}{markers.answer_header}\n\nAt dusk."
    for size in range(1, len(text) + 1):
        assert _fed_in_pieces(text, size) == ("The keeper lights it at dusk.", "At dusk."), size


def test_gpt_oss_answering_at_once_shows_no_channel_header() -> None:
    assert split_text("<|channel|>final<|message|>At dusk.") == ("", "At dusk.")
    assert _fed_in_pieces("<|channel|>final<|message|>At dusk.", 3) == ("", "At dusk.")


def test_thinking_only_at_the_start_an_answer_about_tags_is_left_alone() -> None:
    text = "Use <think> tags like this: <think>x</think>."
    assert split_text(text) == ("", text)
    assert split_text("<thinking is fun") == ("", "<thinking is fun")  # looked like a marker, was not


def test_a_reply_that_ends_while_thinking_keeps_its_thinking_and_has_no_answer() -> None:
    assert split_text("<think>first the lamp, then the lens</") == ("first the lamp, then the lens</", "")
    # streamed, the held-back "</" is not shown until the end says it was thinking
    assert split_text("<think>lamp</", final=False) == ("lamp", "")


def test_the_template_says_which_markers_and_whether_thinking_can_be_switched() -> None:
    qwen3 = ("{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}"
             "{%- endif %}")
    assert [m.name for m in markers_in_template(qwen3)] == ["think"]
    assert template_has_think_switch(qwen3)
    assert not template_has_think_switch("{{ messages }}") and markers_in_template(None) == ()
    assert markers_in_template("{{ message['content'] + '<|end|>' }}") == ()  # Phi-3 ends a turn so: no thinking
    assert [m.name for m in markers_in_template("'<|channel|>analysis<|message|>' + thinking + '<|end|>'")] == \
        ["gpt-oss"]
    assert forced_open_marker("<|im_start|>assistant\n<think>\n") == "<think>"
    assert forced_open_marker("<|im_start|>assistant\n") == ""


def test_write_and_rework_insert_only_the_answer() -> None:
    assert answer_of("<think>\nshorter is better\n</think>\n\nThe lamp is lit.") == "The lamp is lit."
    assert replacement("<think>shorter</think>\n The lamp. ") == "The lamp."


@pytest.fixture
def db(tmp_path: Path) -> Storage:
    storage = Storage(tmp_path / "inkling.db")
    yield storage
    storage.close()


def test_a_thinking_reply_is_stored_in_parts_never_sent_back_and_counted_apart(db: Storage) -> None:
    session = ChatSession.create(db, SamplingSettings(max_tokens=24))
    engine, clock, heard = FakeEngine(), ManualClock(), []
    session.subscribe(lambda _s, what: heard.append(what))
    turn = session.use_engine(engine, clock.call_later, clock)
    turn.send("When is the lamp lit?")
    stream = engine.last
    stream.say("<th", "ink>\n", "dusk ", "comes ")
    assert turn.current.reply.thinking == "dusk comes" and turn.current.text == ""
    assert heard[-1] == "reply-thinking" and "reply-writing" not in heard
    clock.advance(1.0)  # the thinking is saved like text: a killed app keeps it
    assert [p.kind for p in Storage(db.path).messages(session.id)[-1].parts] == ["thinking"]
    stream.say("first", "\n</think>", "\n\nAt ", "dusk.")
    assert heard[-2:] == ["reply-thinking", "reply-writing"]  # the block fills, then the answer begins
    stream.finish()
    message = Storage(db.path).messages(session.id)[-1]
    assert message.parts == (ThinkingPart("dusk comes first"), TextPart("At dusk."))
    assert message.content == "At dusk."
    # 8 tokens arrived; the open marker's first piece came before the thinking began
    assert message.stats["thinking_tokens"] == 5 and message.stats["tokens"] == 8 - 5
    turn.send("And at dawn?")
    assert engine.last.request["history"] == [
        {"role": "user", "content": "When is the lamp lit?"}, {"role": "assistant", "content": "At dusk."},
        {"role": "user", "content": "And at dawn?"}]
    exported = session.exported()
    assert "dusk comes first" not in to_markdown(exported)
    assert "dusk comes first" in to_markdown(session.exported(thinking=True))


def test_a_reply_cut_off_while_thinking_keeps_its_thinking(db: Storage) -> None:
    from app.core.errors import EngineCrashed

    session = ChatSession.create(db, SamplingSettings(max_tokens=24))
    engine, clock = FakeEngine(), ManualClock()
    turn = session.use_engine(engine, clock.call_later, clock)
    turn.send("Why?")
    engine.last.say("<think>", "because</")
    engine.last.fail(EngineCrashed("the engine died"))
    message = Storage(db.path).messages(session.id)[-1]
    assert message.status == "error" and message.parts == (ThinkingPart("because</"),)
