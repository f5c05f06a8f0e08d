"""The Ask conversation of a document: stored with it, proposals from the model's answers, sections in turn."""

from __future__ import annotations

from pathlib import Path

from app.core.ask import AskSession
from app.core.proposal import Edit
from app.core.sampling import SamplingSettings
from app.core.storage import Storage
from tests.core.fakes import FakeEngine


def make(tmp_path: Path) -> tuple[Storage, int, AskSession, FakeEngine]:
    storage = Storage(tmp_path / "db.sqlite")
    doc = storage.create_document(content="x")
    engine = FakeEngine()
    return storage, doc.id, AskSession(storage, doc.id, engine), engine


def test_the_conversation_is_stored_with_the_document(tmp_path: Path) -> None:
    storage, doc_id, ask, engine = make(tmp_path)
    document = "The color is gray."
    ask.ask("British spelling", document, settings=SamplingSettings(), context_tokens=2048)
    engine.last.say("The colour ", "is grey.")
    engine.last.finish()
    assert [h.new for h in ask.proposals[0].hunks] == ["colour", "grey"]
    again = AskSession(storage, doc_id)
    assert [(t.role, t.text) for t in again.turns] == [("user", "British spelling"),
                                                        ("assistant", "Proposed 2 changes.")]


def test_a_long_document_is_asked_section_by_section_and_stop_keeps_the_finished(tmp_path: Path) -> None:
    _storage, _doc_id, ask, engine = make(tmp_path)
    document = "\n\n".join(f"Paragraph {i} is here with some words in it." * 6 for i in range(12))
    seen: list[tuple[int, int]] = []
    ask.subscribe(lambda a, what: seen.append(a.progress) if what == "ask-progress" else None)
    ask.ask("Shorter", document, settings=SamplingSettings(), context_tokens=400)
    total = ask.progress[1]
    assert total >= 4
    for _ in range(2):
        engine.last.say("Short.")
        engine.last.finish()
    engine.last.say("Half of a ")
    ask.stop()
    engine.last.finish()
    assert not ask.busy
    assert [p.state for p in ask.proposals] == ["ready", "ready", "stopped"]
    assert seen[:3] == [(0, total), (1, total), (2, total)]
    assert "Stopped after 3 of" in ask.turns[-1].text


def test_typing_elsewhere_while_it_streams_is_kept_and_inside_makes_it_stale(tmp_path: Path) -> None:
    _storage, _doc_id, ask, engine = make(tmp_path)
    document = "Keep this. The color is gray. Keep that."
    ask.ask("British", document, 11, 29, settings=SamplingSettings(), context_tokens=2048)
    engine.last.say("The colour ")
    document = "Typed! " + document
    ask.document_edited(0, 0, 7, document)
    engine.last.say("is grey.")
    engine.last.finish()
    p = ask.proposals[0]
    for i in p.open_hunks:
        document = ask.accept(p, i, lambda e: None).apply(document)
    assert document == "Typed! Keep this. The colour is grey. Keep that."
    ask.ask("Back", document, 18, 37, settings=SamplingSettings(), context_tokens=2048)
    engine.last.say("The color")
    document = document[:22] + "X" + document[22:]
    ask.document_edited(22, 0, 1, document)
    engine.last.finish()
    assert ask.proposals[-1].state == "stale"
    assert isinstance(Edit(0, 0, ""), Edit)
