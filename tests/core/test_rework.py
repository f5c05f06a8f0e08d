"""Reworking a selection: the whitespace at its edges stays, the answer's length follows the selection."""

from __future__ import annotations

from app.core.paths import file_stem
from app.core.rework import MARGIN_TOKENS, answer_budget, core_range, replacement


def test_the_whitespace_at_a_selections_edges_is_not_reworked() -> None:
    text = "First paragraph.\n\nIt was dusk. The wind rose."
    assert core_range(text, 0, len("First paragraph.\n")) == (0, len("First paragraph."))  # a triple-click
    start = text.index(" The")
    assert text[slice(*core_range(text, start, len(text)))] == "The wind rose."  # a leading space stays
    assert core_range(text, 16, 18) == (16, 16)  # only whitespace: nothing to rework
    assert replacement("\n\nShorter text.\n") == "Shorter text."


def test_the_answer_budget_follows_the_selection_not_the_documents_max_tokens() -> None:
    sentence = "The wind rose."
    page = "The wind rose over the harbour and the boats pulled at their ropes. " * 30
    assert answer_budget("Shorten", sentence) < 40
    assert answer_budget("Expand", page) > 1500  # more than a 512-token Max tokens would have allowed
    assert answer_budget("Shorten", page) < answer_budget("Rewrite", page) < answer_budget("Expand", page)
    assert answer_budget("Rewrite", "") == MARGIN_TOKENS


def test_a_file_name_from_a_title_has_no_stray_marks() -> None:
    assert file_stem("The lighthouse keeper climbed the stairs…", "document") == "The lighthouse keeper climbed the stairs"
    assert file_stem("Notes: 2024/05", "chat") == "Notes 2024 05"
    assert file_stem("…", "chat") == "chat"
