"""DocumentSession over a real SQLite file: text, revisions, the pending suggestion, settings. No Qt, no model."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.document_session import REVISION_EVERY, DocumentSession, document_title
from app.core.events import Alternative, TokenEvent
from app.core.presets import PresetStore
from app.core.sampling import SamplingSettings
from app.core.storage import Storage


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Storage:
    storage = Storage(tmp_path / "inkling.db")
    yield storage
    storage.close()


def _reopen(db: Storage, doc: DocumentSession) -> DocumentSession:
    fresh = Storage(db.path)
    again = DocumentSession.open(fresh, PresetStore(fresh), doc.id)
    assert again is not None
    return again


def test_text_and_cursor_are_saved_and_an_unchanged_text_is_not_written_again(db: Storage) -> None:
    doc = DocumentSession.create(db, SamplingSettings())
    assert doc.save_text("Chapter one.", 8)
    assert not doc.save_text("Chapter one.", 8)
    again = _reopen(db, doc)
    assert (again.content, again.cursor) == ("Chapter one.", 8)


def test_a_revision_is_kept_every_few_minutes_of_editing_and_never_twice_the_same(db: Storage) -> None:
    clock = Clock()
    doc = DocumentSession.create(db, SamplingSettings(), clock=clock)
    doc.save_text("Draft one.", 0)
    assert doc.revisions() == []
    clock.now += REVISION_EVERY + 1
    doc.save_text("Draft two.", 0)
    assert [r[2] for r in doc.revisions()] == ["Draft two."]
    assert not doc.save_revision()  # the newest revision already is this text
    doc.save_text("Draft three.", 0)
    assert doc.save_revision()
    rid = doc.revisions()[-1][0]
    assert doc.revision_text(rid) == "Draft two." and doc.revision_text(12345) is None


def test_a_documents_settings_are_saved_and_come_back_resolved(db: Storage) -> None:
    doc = DocumentSession.create(db, SamplingSettings(), "Balanced")
    doc.set_sampling(SamplingSettings(temperature=0.25, max_tokens=24), "")
    again = _reopen(db, doc)
    assert again.sampling.temperature == 0.25 and again.sampling.max_tokens == 24 and again.preset == ""
    row = db.create_document()  # a document saved without settings gets the default preset's
    plain = DocumentSession.open(db, PresetStore(db, default="Creative"), row.id)
    assert plain is not None and plain.preset == "Creative" and plain.sampling.temperature == 1.1


def test_the_suggestion_holds_its_prompt_and_tokens_and_rewrites_from_an_alternative(db: Storage) -> None:
    doc = DocumentSession.create(db, SamplingSettings())
    doc.save_text("The sea was", 11)
    suggestion = doc.begin_suggestion("The sea was", "")
    alts = (Alternative(" calm", 5, 0.4), Alternative(" wild", 6, 0.3))
    suggestion.add([TokenEvent(" rest", 1, 0.5, alts), TokenEvent("", -1), TokenEvent("less", 2, 0.9)])
    assert suggestion.text == " restless" and len(suggestion.tokens) == 2  # placeholders are not tokens
    rewritten = suggestion.rewritten_from(0, alts[1])
    assert rewritten is not None
    prefix, kept = rewritten
    assert prefix == " wild" and [t.token_id for t in kept] == [6] and kept[0].alternatives == alts
    assert suggestion.rewritten_from(5, alts[0]) is None
    assert _reopen(db, doc).content == "The sea was"  # a suggestion is never saved
    doc.end_suggestion()
    assert doc.suggestion is None


def test_export_gives_markdown_a_title_unless_it_has_one(db: Storage) -> None:
    doc = DocumentSession.create(db, SamplingSettings())
    doc.rename("My novel")
    doc.save_text("Chapter one.", 0)
    assert doc.export_text(markdown=True) == "# My novel\n\nChapter one."
    assert doc.export_text(markdown=False) == "Chapter one."
    doc.save_text("# Own title\nText", 0)
    assert doc.export_text(markdown=True) == "# Own title\nText"


def test_export_adds_no_heading_for_a_title_taken_from_the_first_line(db: Storage) -> None:
    doc = DocumentSession.create(db, SamplingSettings())
    text = "The lighthouse keeper climbed the winding stone stairs every single night.\n\nThe sea was restless."
    doc.save_text(text, 0)
    assert doc.title.endswith("…")  # titled from the first line, shortened
    assert doc.export_text(markdown=True) == text  # not "# The lighthouse … stone…" above the same line


def test_delete_hides_the_document_until_undone(db: Storage) -> None:
    doc = DocumentSession.create(db, SamplingSettings())
    doc.delete()
    assert DocumentSession.open(db, PresetStore(db), doc.id) is None
    db.undelete_document(doc.id)
    assert DocumentSession.open(db, PresetStore(db), doc.id) is not None


def test_memory_is_saved_with_the_document_and_read_back(db: Storage) -> None:
    doc = DocumentSession.create(db, SamplingSettings(), content="Chapter one.")
    assert doc.memory == ""
    assert doc.set_memory("Synopsis: a keeper and the sea.\nStyle: short sentences.")
    assert not doc.set_memory("Synopsis: a keeper and the sea.\nStyle: short sentences.")  # unchanged: not written
    again = _reopen(db, doc)
    assert again.memory == "Synopsis: a keeper and the sea.\nStyle: short sentences."
    assert again.content == "Chapter one."
def test_a_document_is_titled_from_its_first_line_until_it_is_renamed(db: Storage) -> None:
    assert document_title("\n\n## Chapter one  \nIt was") == "Chapter one"
    assert document_title("   \n") == "Untitled"
    assert document_title("word " * 30).endswith("…") and len(document_title("word " * 30)) <= 49
    doc = DocumentSession.create(db, SamplingSettings())
    assert doc.title == "Untitled"
    doc.save_text("Notes on tides\nhigh at six", 5)
    assert doc.title == "Notes on tides" and db.document(doc.id).title == "Notes on tides"
    doc.save_text("Notes on the tides\nhigh at six", 5)
    assert doc.title == "Notes on the tides"  # it follows the first line
    doc.rename("Tides")
    doc.save_text("More notes\nhigh at six", 5)
    assert doc.title == "Tides" and db.document(doc.id).title == "Tides"  # a name the writer gave sticks


def test_a_deleted_document_comes_back_through_the_session(db: Storage) -> None:
    doc = DocumentSession.create(db, SamplingSettings(), content="Keep me.")
    doc.delete()
    assert db.document(doc.id) is None
    back = DocumentSession.undelete(db, PresetStore(db), doc.id)
    assert back is not None and back.content == "Keep me."
