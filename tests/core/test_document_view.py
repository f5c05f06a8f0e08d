"""What the model sees of a long document: memory, a stable window, the text after the cursor (pure)."""

from __future__ import annotations

import itertools

from app.core.document_view import grid_starts, layout_document, memory_block, middle_end, middle_stops


def count(text: str) -> int:
    """A stand-in tokenizer: one token per word (the layout only needs a monotone count)."""
    return len(text.split())


def long_text(paragraphs: int = 60) -> str:
    return "".join(f"Paragraph {i} tells how the keeper climbed the tower and lit the lamp again.\n\n"
                   for i in range(paragraphs))


def test_a_short_document_is_seen_whole_after_the_memory() -> None:
    view = layout_document("Once upon a time", "", "A story about a lighthouse.", count, budget=100)
    assert view.start == 0 and view.words_outside == 0
    assert view.prompt == "A story about a lighthouse.\n\nOnce upon a time"


def test_a_long_document_keeps_the_memory_and_the_end_and_starts_on_a_paragraph() -> None:
    text = long_text()
    view = layout_document(text, "", "Synopsis: a keeper and the sea.", count, budget=300)
    assert view.prompt.startswith(memory_block("Synopsis: a keeper and the sea."))
    assert view.prompt.endswith(text[-40:])
    assert count(view.prompt) <= 300
    assert view.start > 0 and text[view.start - 2: view.start] == "\n\n"  # a paragraph start
    assert view.words_outside == len(text[: view.start].split())
    assert count(text[view.start:]) > 300 // 2  # most of the room is used


def test_the_window_does_not_move_while_the_writer_types_or_edits_near_the_cursor() -> None:
    text = long_text()
    start = layout_document(text, "", "Memory.", count, budget=300).start
    while layout_document(text, "", "Memory.", count, budget=300).start == start:
        text += "Another paragraph about the sea.\n\n"  # right after the window moved: the usual case
    first = layout_document(text, "", "Memory.", count, budget=300)
    starts = set()
    typed = text
    for word in ["And", "then", "the", "storm", "came", "over", "the", "bay", "and", "the", "keeper", "ran", "up", "the", "stairs."]:
        typed += word + " "
        starts.add(layout_document(typed, "", "Memory.", count, budget=300).start)
    edited = typed[:-60] + "The keeper laughed. " + typed[-60:]  # an edit a sentence back
    starts.add(layout_document(edited, "", "Memory.", count, budget=300).start)
    assert starts == {first.start}


def test_the_window_moves_by_a_whole_grid_step_when_the_text_outgrows_it() -> None:
    text = long_text()
    starts = []
    for extra in range(0, 40):
        view = layout_document(text + long_text(extra), "", "", count, budget=300)
        starts.append(view.start)
    moves = [b - a for a, b in itertools.pairwise(starts) if b != a]
    assert moves and len(moves) < len(starts) // 2  # it jumps now and then, not with every paragraph
    assert min(moves) >= 2 * 77  # more than a paragraph at a time (a grid step, snapped to paragraphs)


def test_grid_starts_depend_only_on_the_text_before_them() -> None:
    text = long_text(30)
    a = grid_starts(text, 200)
    b = grid_starts(text + "A new paragraph at the end.\n\n", 200)
    assert b[: len(a)] == a


def test_fill_in_the_middle_layout_keeps_a_quarter_for_the_text_after() -> None:
    before, after = long_text(40), "Paragraph after one.\n\n" * 80
    view = layout_document(before, after, "Memory.", count, budget=400, fim=True)
    assert count(view.after) <= 100 and view.after and after.startswith(view.after)
    assert count(view.prompt) + count(view.after) <= 400
    assert view.prompt.endswith(before[-30:])
    short = layout_document("Before.", "After it.", "", count, budget=400, fim=True)
    assert (short.before, short.after) == ("Before.", "After it.")
    plain = layout_document("Before.", "After it.", "", count, budget=400, fim=False)
    assert plain.after == ""


def test_a_suggestion_mid_document_stops_before_repeating_the_text_after_the_cursor() -> None:
    after = "The storm broke at midnight and the lamp went out."
    stops = middle_stops(after)
    assert stops[0] == "The storm broke" and "the storm broke" in stops


def test_a_suggestion_ends_where_the_following_text_picks_up() -> None:
    # the text after the cursor starts a new paragraph: end at the first line break
    assert middle_end("He waited by the door.\nThen", "\n\nThe storm came.") == len("He waited by the door.")
    # it starts a new sentence: end after one complete sentence
    assert middle_end(" He waited. Then he left", " The storm came.") == len(" He waited.")
    assert middle_end(" He waited", " The storm came.") is None
    # it goes on mid-sentence: end before the first punctuation so the phrase runs into it
    assert middle_end(" old and tired, he", " walked on.") == len(" old and tired")
    assert middle_end("anything", "") is None
