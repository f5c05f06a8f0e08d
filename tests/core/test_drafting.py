"""Drafts from the text's own n-grams (prompt-lookup decoding), as a pure function."""

from __future__ import annotations

from app.core.drafting import DraftIndex, draft_tokens


def test_a_repeated_trigram_proposes_what_followed_it() -> None:
    text = [1, 2, 3, 4, 5, 6, 7, 9, 1, 2, 3]
    assert draft_tokens(text, ngram=3, max_draft=3) == [4, 5, 6]


def test_no_match_means_no_draft() -> None:
    assert draft_tokens([1, 2, 3, 4, 5, 6], ngram=3) == []
    assert draft_tokens([1, 2], ngram=3) == []


def test_the_latest_occurrence_wins_and_the_index_grows_with_the_text() -> None:
    index = DraftIndex([1, 2, 3, 8, 0, 1, 2, 3, 9, 0], ngram=3, max_draft=2)
    assert index.draft() == []
    index.extend([1, 2, 3])
    assert index.draft() == [9, 0]  # after the second "1 2 3", not the first


def test_a_draft_never_runs_past_the_text() -> None:
    assert draft_tokens([5, 6, 7, 5, 6, 7], ngram=3, max_draft=10) == [5, 6, 7]
