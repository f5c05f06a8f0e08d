"""A whole suggestion in core: start, tokens, stop mid-way, accept, reject, regenerate, an alternative.

``DocumentSession`` over a real SQLite file and a fake engine the test steps by
hand; no Qt, no model, milliseconds. The window keeps the end-to-end checks on
the real model (tests/ui/test_stop_and_send.py, tests/ui/test_write_pane.py).

The suggestion's text is the text on screen, the decoder's tail included.

At the end of a stream the engine releases what its decoder and stop matcher held
back (an incomplete character, text that looked like the start of a stop string)
as one last event with no token of its own (``token_id == -1``). The editor shows
it; the session once dropped it, so accepting, regenerating or rewriting from an
alternative worked on a text shorter than the one the writer saw.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.document_session import DocumentSession
from app.core.errors import EngineCrashed
from app.core.events import Alternative, TokenEvent
from app.core.presets import PresetStore
from app.core.sampling import SamplingSettings
from app.core.storage import Storage
from tests.core.fakes import FakeEngine


@pytest.fixture
def db(tmp_path: Path) -> Storage:
    storage = Storage(tmp_path / "inkling.db")
    yield storage
    storage.close()


def test_the_decoders_tail_is_part_of_the_suggestions_text(db: Storage) -> None:
    doc = DocumentSession.create(db, SamplingSettings(), content="The sea")
    suggestion = doc.begin_suggestion("The sea", "")
    batch = [TokenEvent(" was", 11, 0.5), TokenEvent(" calm", 12, 0.4), TokenEvent(" caf\u00e9.", -1)]
    suggestion.add(batch)
    on_screen = "".join(t.text for t in batch)  # what the editor appends
    assert suggestion.text == on_screen
    assert [t.token_id for t in suggestion.tokens] == [11, 12]  # the inspector's tokens stay the sampled ones


# -- the whole life of a suggestion, against a fake engine ------------------------------------------

STORY = "The lighthouse keeper climbed the stairs."


class Doc:
    def __init__(self, db: Storage) -> None:
        self.db = db
        self.session = DocumentSession.create(db, SamplingSettings(max_tokens=30), content=STORY + " The end.")
        self.session.set_memory("A story about the sea.")
        self.engine = FakeEngine()
        self.session.use_engine(self.engine)
        self.heard: list[str] = []
        self.session.subscribe(lambda _s, what: self.heard.append(what))

    def saved_text(self) -> str:
        fresh = Storage(self.db.path)
        try:
            again = DocumentSession.open(fresh, PresetStore(fresh), self.session.id)
            assert again is not None
            return again.content
        finally:
            fresh.close()


@pytest.fixture
def doc(db: Storage) -> Doc:
    return Doc(db)


def test_a_suggestion_streams_stops_mid_way_keeps_what_was_written_and_is_accepted(doc: Doc) -> None:
    s = doc.session.start_suggestion(STORY, " The end.")
    stream = doc.engine.last
    assert stream.request["prompt"] == STORY and stream.request["suffix"] == " The end."
    assert stream.request["memory"] == "A story about the sea." and stream.request["sampling"] == doc.session.sampling
    stream.read_prompt(10, 20)
    stream.say(" The sea", " was")
    assert s.writing and s.text == " The sea was" and doc.heard == ["suggestion-started", "suggestion-progress",
                                                                       "suggestion-text"]
    doc.session.stop_suggestion()
    assert stream.cancelled and s.writing  # ended when the engine says so
    stream.send([TokenEvent(" calm", 3, 0.4), TokenEvent("\u2026", -1)])  # a last batch, the decoder's tail in it
    stream.finish()
    assert doc.session.suggestion is s and s.state == "stopped" and s.text == " The sea was calm\u2026"
    assert doc.saved_text() == STORY + " The end."  # on offer, never saved
    assert doc.session.accept_suggestion() == " The sea was calm\u2026"
    assert doc.session.suggestion is None and doc.heard[-2:] == ["suggestion-ended", "suggestion-cleared"]
    assert doc.saved_text() == STORY + " The sea was calm\u2026 The end."
    assert doc.session.cursor == len(STORY + " The sea was calm\u2026")


def test_regenerate_writes_another_in_its_place_and_the_old_streams_late_tokens_are_ignored(doc: Doc) -> None:
    s = doc.session.start_suggestion(STORY)
    first = doc.engine.last
    first.say(" Waves")
    assert doc.session.regenerate_suggestion()
    second = doc.engine.last
    assert first.cancelled and second is not first and second.request["prompt"] == STORY
    assert s.text == "" and doc.heard[-1] == "suggestion-started"
    first.say(" crashed")  # late, from the stream that was replaced
    first.finish()
    second.say(" Gulls", " cried.")
    second.finish("length")
    assert s.state == "done" and s.text == " Gulls cried." and s.finished is not None
    assert s.finished.reason == "length"
    doc.session.reject_suggestion()
    assert doc.session.suggestion is None and doc.saved_text() == STORY + " The end."


def test_an_alternative_keeps_the_text_before_it_and_writing_goes_on_from_it(doc: Doc) -> None:
    alts = (Alternative(" storm", 5, 0.6), Alternative(" calm", 6, 0.3))
    s = doc.session.start_suggestion(STORY)
    doc.engine.last.send([TokenEvent(" A", 4, 0.9), TokenEvent(" storm", 5, 0.6, alts), TokenEvent(" came", 7, 0.5)])
    doc.engine.last.finish()
    assert doc.session.rewrite_from(1, alts[1])
    assert s.text == " A calm" and s.rewritten_at == 1 and s.writing
    assert doc.engine.last.request["prompt"] == STORY + " A calm"
    doc.engine.last.say(" night.")
    doc.engine.last.finish()
    assert s.text == " A calm night." and [t.token_id for t in s.tokens] == [4, 6, 1]


def test_stopped_before_anything_was_written_nothing_is_on_offer(doc: Doc) -> None:
    doc.session.start_suggestion(STORY)
    doc.session.stop_suggestion()
    doc.engine.last.finish()
    assert doc.session.suggestion is None and doc.heard[-2:] == ["suggestion-ended", "suggestion-cleared"]


def test_a_failure_keeps_what_was_written_on_offer_and_says_why(doc: Doc) -> None:
    s = doc.session.start_suggestion(STORY)
    doc.engine.last.say(" Half")
    doc.engine.last.fail(EngineCrashed("the engine stopped (test)"))
    assert s.state == "failed" and s.text == " Half" and s.finished is not None
    assert "the engine stopped (test)" in s.finished.error
    doc.engine.refuse = EngineCrashed("still down")
    s = doc.session.start_suggestion(STORY)
    assert s.state == "failed" and "still down" in s.finished.error  # type: ignore[union-attr]


def test_a_new_suggestion_replaces_the_one_on_offer(doc: Doc) -> None:
    first = doc.session.start_suggestion(STORY)
    doc.engine.last.say(" One")
    second = doc.session.start_suggestion(STORY + " The")
    assert doc.engine.streams[0].cancelled and doc.session.suggestion is second and first is not second
    doc.engine.streams[0].say(" late")
    assert second.text == ""


# -- alternatives side by side ------------------------------------------------------------------------


def test_alternatives_side_by_side_are_one_request_with_a_seed_each(doc: Doc) -> None:
    doc.engine.parallel_sequences = 4
    alts = doc.session.alternatives
    alts.generate(STORY, SamplingSettings(seed=10), 3, memory="notes")
    stream = doc.engine.last
    assert len(doc.engine.streams) == 1 and stream.request["sequences"] == 3 and not stream.request["alternatives"]
    assert stream.request["sampling"].seed == 10 and stream.request["memory"] == "notes"
    stream.send([TokenEvent(" A", 1, sequence=0), TokenEvent(" B", 2, sequence=1), TokenEvent(" C", 3, sequence=2),
                 TokenEvent(" a", 4, sequence=0)])
    assert alts.texts == [" A a", " B", " C"] and alts.busy
    stream.finish("length")
    assert not alts.busy and alts.ended == [True] * 3 and alts.cut_off == [True] * 3
    assert doc.heard[-2:] == ["alternatives-ended", "alternatives-finished"]


def test_alternatives_one_after_another_stop_and_fail_keep_what_was_written(doc: Doc) -> None:
    alts = doc.session.alternatives
    alts.generate(STORY, SamplingSettings(seed=10), 3)
    first = doc.engine.last
    first.say(" One.")
    first.finish()
    second = doc.engine.last
    assert second is not first and second.request["sampling"].seed == 10 + 7919  # its own seed, reproducible
    second.say(" Two")
    alts.stop()
    assert second.cancelled and not alts.busy and alts.texts == [" One.", " Two", ""]
    second.finish()  # late: ignored
    assert alts.ended == [True, False, False] and len(doc.engine.streams) == 2

    alts.rework([{"role": "user", "content": "Shorten: a long sentence."}], SamplingSettings(seed=1), "Shorten", 2)
    assert alts.texts == ["", ""] and alts.title == "Shorten"
    assert doc.engine.last.request["history"] == [{"role": "user", "content": "Shorten: a long sentence."}]
    doc.engine.last.say("Short.")
    doc.engine.last.fail(EngineCrashed("gone (test)"))
    assert not alts.busy and alts.texts == ["Short.", ""] and "gone (test)" in alts.error
    assert doc.heard[-1] == "alternatives-failed"
