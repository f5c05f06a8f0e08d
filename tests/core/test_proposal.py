"""A proposed edit as hunks: word-level in a paragraph, whole paragraphs across, accepted one by one,
rebased past edits elsewhere, stale after an edit inside, and partial when stopped."""

from __future__ import annotations

import itertools

import pytest

from app.core.ask import split_sections
from app.core.proposal import Proposal, diff_hunks

BASE = "The color of the sea was gray.\n\nA second paragraph stays.\n\nThe last line is old.\n"
TEXT = "The colour of the sea was grey.\n\nA second paragraph stays.\n\nThe last line is new and longer.\n"


def ready(base: str = BASE, text: str = TEXT, start: int = 0) -> Proposal:
    p = Proposal("British spelling", base, start)
    p.add(text)
    p.finish()
    return p


def test_hunks_are_words_inside_a_paragraph_and_whole_paragraphs_across() -> None:
    hunks = diff_hunks(BASE, TEXT)
    assert [(h.old, h.new) for h in hunks] == [("color", "colour"), ("gray", "grey"), ("old", "new and longer")]
    added = diff_hunks("One.\n", "One.\nTwo whole new lines.\nThree.\n")
    assert [(h.old, h.new) for h in added] == [("", "Two whole new lines.\nThree.\n")]


def test_accepting_one_hunk_changes_only_its_text_and_the_rest_still_apply() -> None:
    document = "Intro.\n" + BASE + "Outro."
    p = ready(start=len("Intro.\n"))
    document = p.accept(2).apply(document)
    assert document == "Intro.\n" + BASE.replace("is old", "is new and longer") + "Outro."
    assert p.check(document)
    document = p.accept(0).apply(document)
    p.reject(1)
    assert document == "Intro.\n" + TEXT.replace("grey", "gray") + "Outro."
    assert p.settled and p.check(document)


def test_edits_before_the_range_move_it_and_edits_after_leave_it() -> None:
    document = "Intro.\n" + BASE + "Outro."
    p = ready(start=7)
    document = "Typed " + document
    p.rebase(0, 0, len("Typed "))
    document += " More."
    p.rebase(len(document) - 6, 0, 6)
    assert p.check(document) and p.state == "ready"
    assert p.accept(0).apply(document) == "Typed Intro.\n" + BASE.replace("color", "colour") + "Outro. More."


def test_an_edit_inside_the_range_makes_it_stale_and_it_accepts_nothing() -> None:
    p = ready(start=7)
    p.rebase(7 + 4, 0, 3)
    assert p.state == "stale"
    with pytest.raises(ValueError, match="stale"):
        p.accept(0)
    q = ready(start=7)
    assert not q.check("Intro.\n" + BASE.replace("sea", "SEA"))
    assert q.state == "stale"


def test_a_stopped_proposal_keeps_what_was_proposed_and_leaves_the_rest() -> None:
    p = Proposal("x", "The cat sat on the mat. It was warm there, and quiet.", 0)
    p.add("The dog sat on the ma")
    p.cut_short()
    assert p.state == "stopped"
    assert [(h.old, h.new) for h in p.hunks] == [("cat", "dog")]


def test_sections_cover_the_text_in_order_cut_at_headings_then_paragraphs() -> None:
    text = "# One\n\n" + "Alpha beta gamma. " * 10 + "\n\n# Two\n\n" + "Delta epsilon. " * 30 + "\n\nEnd."
    sections = split_sections(text, 200)
    assert sections[0][0] == 0 and sections[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(sections))
    assert all(b - a <= 200 for a, b in sections)
    assert any(text[a:].startswith("# Two") for a, _ in sections)


def test_undoing_an_accepted_hunk_opens_it_again_instead_of_going_stale() -> None:
    p = ready()
    before = BASE
    after = p.accept(0).apply(before)
    p.rebase(4, len("colour"), len("color"), before)  # Ctrl+Z put the old word back
    assert p.state == "ready" and p.hunks[0].open
    assert p.accept(0).apply(before) == after
