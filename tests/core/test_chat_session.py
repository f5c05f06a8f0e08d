"""ChatSession over a real SQLite file: the tree, versions, history, replies, settings. No Qt, no model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.chat_session import ChatSession
from app.core.conversation import from_json, to_json
from app.core.events import Finished, Timings
from app.core.presets import PresetStore
from app.core.sampling import BUILTIN_PRESETS, SamplingSettings
from app.core.storage import Storage


@pytest.fixture
def db(tmp_path: Path) -> Storage:
    storage = Storage(tmp_path / "inkling.db")
    yield storage
    storage.close()


def _reopen(db: Storage, session: ChatSession) -> ChatSession:
    """The same chat as a restarted app sees it: a new connection to the same file."""
    fresh = Storage(db.path)
    reopened = ChatSession.open(fresh, PresetStore(fresh), session.id)
    assert reopened is not None
    return reopened


def _answer(session: ChatSession, parent, text: str, reason: str = "stop"):
    reply, _history = session.start_reply(parent)
    reply.add(text)
    return session.finish_reply(reply, Finished(reason, text, Timings(5, 5, 1.0, 3, 100.0, 30.0), seed=7),
                                model_name="Starter", model_path="/models/starter.gguf")


def test_edit_and_regenerate_add_versions_and_the_arrows_switch_branches(db: Storage) -> None:
    chat = ChatSession.create(db, SamplingSettings())
    q1 = chat.add_user_message("Tell me about cats.")
    _answer(chat, q1, "Cats purr.")
    parent = chat.last_question_to_answer()
    assert parent is not None and parent.id == q1.id
    _answer(chat, parent, "Cats nap a lot.")
    assert [m.content for m in chat.path] == ["Tell me about cats.", "Cats nap a lot."]
    assert chat.tree.sibling_position(chat.path[1].id) == (2, 2)

    q2 = chat.edit(q1.id, "Tell me about dogs.")
    assert q2 is not None and chat.tree.sibling_position(q2.id) == (2, 2)
    _answer(chat, q2, "Dogs bark.")
    assert [m.content for m in chat.path] == ["Tell me about dogs.", "Dogs bark."]

    leaf = chat.switch_version(q2.id, -1)  # back to the cat question: its newest reply comes with it
    assert leaf is not None
    assert [m.content for m in chat.path] == ["Tell me about cats.", "Cats nap a lot."]
    assert chat.switch_version(chat.path[0].id, -1) is None  # there is no earlier version
    assert len(db.messages(chat.id)) == 5  # nothing was erased

    again = _reopen(db, chat)  # the branch on screen is remembered
    assert [m.content for m in again.path] == ["Tell me about cats.", "Cats nap a lot."]


def test_history_has_the_system_prompt_and_leaves_out_replies_that_failed_empty(db: Storage) -> None:
    chat = ChatSession.create(db, SamplingSettings())
    chat.set_system_prompt("Be brief.")
    q = chat.add_user_message("Hi")
    chat.fail_without_engine(q, "No model is loaded.")
    assert chat.path[-1].status == "error"
    assert chat.history() == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    reply, history = chat.start_reply(q)
    assert history == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    reply.add("Hello!")
    chat.finish_reply(reply, Finished("stop", "Hello!", Timings()))
    assert chat.history()[-1] == {"role": "assistant", "content": "Hello!"}
    assert chat.preview_history() == chat.history()[:-1]  # what the reply to the last question could start with
    assert chat.preview_history("And you?")[-1] == {"role": "user", "content": "And you?"}


def test_a_finished_reply_is_saved_done_with_its_statistics_model_and_a_title(db: Storage) -> None:
    chat = ChatSession.create(db, SamplingSettings())
    q = chat.add_user_message("What is the capital of France?")
    message = _answer(chat, q, "Paris.")
    assert message.status == "done" and message.stats["seed"] == 7 and message.stats["model"] == "Starter"
    saved = db.messages(chat.id)[-1]
    assert (saved.content, saved.status, saved.stats["tokens"]) == ("Paris.", "done", 3)
    again = _reopen(db, chat)
    assert again.title == "What is the capital of France?"
    assert again.model_path == "/models/starter.gguf"
    assert chat.reply is None


def test_a_stopped_reply_keeps_its_text_marked_stopped(db: Storage) -> None:
    chat = ChatSession.create(db, SamplingSettings())
    q = chat.add_user_message("Tell me a long story.")
    reply, _ = chat.start_reply(q)
    assert db.messages(chat.id)[-1].status == "streaming"
    reply.add("Once upon a time")
    chat.finish_reply(reply, Finished("cancelled", "Once upon a time", Timings()))
    saved = db.messages(chat.id)[-1]
    assert (saved.content, saved.status) == ("Once upon a time", "stopped")


def test_a_failed_reply_keeps_the_partial_text_and_the_reason(db: Storage) -> None:
    chat = ChatSession.create(db, SamplingSettings())
    q = chat.add_user_message("Write an essay.")
    reply, _ = chat.start_reply(q)
    reply.add("Rivers are")
    message = chat.fail_reply(reply, "The model engine stopped unexpectedly.")
    assert message.status == "error" and message.content == "Rivers are"
    saved = _reopen(db, chat).path[-1]
    assert saved.status == "error" and saved.content == "Rivers are"
    assert saved.stats["error"] == "The model engine stopped unexpectedly."
    assert chat.title == "New chat"  # a failed first reply does not name the chat


def test_streamed_text_is_committed_by_save_progress_before_the_reply_ends(db: Storage) -> None:
    chat = ChatSession.create(db, SamplingSettings())
    reply, _ = chat.start_reply(chat.add_user_message("Count."))
    reply.add("one two")
    assert chat.save_progress() and not chat.save_progress()  # nothing new the second time
    fresh = Storage(db.path)  # what survives a kill now
    assert fresh.messages(chat.id)[-1].content == "one two"
    assert fresh.mark_interrupted_streams() == 1


def test_continue_makes_the_same_reply_longer_and_keeps_its_first_statistics(db: Storage) -> None:
    chat = ChatSession.create(db, SamplingSettings())
    q = chat.add_user_message("History of Rome?")
    first = _answer(chat, q, "Rome was founded", reason="length")
    started = chat.continue_reply(first.id)
    assert started is not None
    reply, history = started
    assert history[-1] == {"role": "assistant", "content": "Rome was founded"}
    reply.add(" in 753 BC.")
    chat.finish_reply(reply, Finished("stop", " in 753 BC.", Timings()))
    saved = db.messages(chat.id)
    assert len(saved) == 2 and saved[1].content == "Rome was founded in 753 BC."
    assert saved[1].stats["seed"] is None and saved[1].stats["finish"] == "stop"


def test_a_stopped_reply_that_ends_after_a_newer_one_started_ends_only_itself(db: Storage) -> None:
    chat = ChatSession.create(db, SamplingSettings())
    q = chat.add_user_message("Hi")
    old, _ = chat.start_reply(q)
    old.add("Hel")
    new, _ = chat.start_reply(q)  # Regenerate while the old reply is still stopping
    chat.finish_reply(old, Finished("cancelled", "Hel", Timings()))
    assert chat.reply is new
    new.add("Hello there")
    chat.finish_reply(new, Finished("stop", "Hello there", Timings()))
    statuses = {m.id: (m.status, m.content) for m in db.messages(chat.id)}
    assert statuses[old.message.id] == ("stopped", "Hel")
    assert statuses[new.message.id] == ("done", "Hello there")


def test_a_chats_settings_and_preset_are_saved_and_come_back_resolved(db: Storage) -> None:
    chat = ChatSession.create(db, SamplingSettings(), "Balanced")
    warm = SamplingSettings(temperature=0.2, max_tokens=64)
    assert chat.set_sampling(warm, "")
    assert not chat.set_sampling(warm, "")  # unchanged: nothing written
    again = _reopen(db, chat)
    assert again.sampling == warm and again.sampling.temperature == 0.2 and again.preset == ""
    assert json.loads(db.conversation(chat.id).settings)["temperature"] == 0.2


def test_a_chat_without_readable_settings_gets_its_preset_else_the_default(db: Storage) -> None:
    presets = PresetStore(db, default="Precise")
    precise = next(p.settings for p in BUILTIN_PRESETS if p.name == "Precise")
    creative = next(p.settings for p in BUILTIN_PRESETS if p.name == "Creative")
    a = db.create_conversation(settings="", preset="Creative")
    b = db.create_conversation(settings="{not json", preset="No such preset")
    c = db.create_conversation(settings=json.dumps({"temperature": 9.0}), preset="")
    assert (ChatSession.open(db, presets, a.id).sampling, ChatSession.open(db, presets, a.id).preset) == (creative, "Creative")
    assert ChatSession.open(db, presets, b.id).sampling == precise
    assert ChatSession.open(db, presets, c.id).preset == "Precise"
    assert ChatSession.open(db, presets, 999) is None


def test_draft_system_prompt_and_title_are_saved_as_they_change(db: Storage) -> None:
    chat = ChatSession.create(db, SamplingSettings())
    chat.set_draft("half a thought")
    chat.set_system_prompt("You are a poet.")
    chat.rename("  Poems  ")
    again = _reopen(db, chat)
    assert (again.draft, again.system_prompt, again.title) == ("half a thought", "You are a poet.", "Poems")
    assert not chat.rename("   ")


def test_an_exported_branch_imports_as_a_new_chat_with_its_settings(db: Storage) -> None:
    chat = ChatSession.create(db, SamplingSettings(temperature=0.3))
    chat.set_system_prompt("Be brief.")
    _answer(chat, chat.add_user_message("2 + 2?"), "4")
    data = from_json(to_json(chat.exported("Starter")))
    copy = ChatSession.import_exported(db, PresetStore(db), data)
    assert copy.id != chat.id and copy.system_prompt == "Be brief."
    assert [(m.role, m.content) for m in copy.path] == [("user", "2 + 2?"), ("assistant", "4")]
    assert copy.sampling.temperature == 0.3


def test_a_rename_is_announced_and_a_named_chat_keeps_its_name_after_its_first_reply(db: Storage) -> None:
    chat = ChatSession.create(db, SamplingSettings())
    heard: list[tuple[int, str, str]] = []
    chat.subscribe(lambda session, what: heard.append((session.id, what, session.title)))
    assert chat.rename("Trip planning")
    assert not chat.rename("  Trip planning ")  # no change, nothing announced
    assert heard == [(chat.id, "title", "Trip planning")]
    question = chat.add_user_message("Where should we go in May?")
    reply, _ = chat.start_reply(question)
    chat.finish_reply(reply, Finished("stop", "Lisbon.", Timings()))
    assert chat.title == "Trip planning" and _reopen(db, chat).title == "Trip planning"

    fresh = ChatSession.create(db, SamplingSettings())  # an unnamed chat is named after its question, announced
    fresh.subscribe(lambda session, what: heard.append((session.id, what, session.title)))
    question = fresh.add_user_message("Why is the sky blue?")
    reply, _ = fresh.start_reply(question)
    fresh.finish_reply(reply, Finished("stop", "Rayleigh scattering.", Timings()))
    assert heard[-1] == (fresh.id, "title", fresh.title) and fresh.title != "New chat"
