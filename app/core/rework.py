"""Reworking a selection (Rewrite, Shorten, Expand…): what is sent, how long the answer may be, what is replaced.

Pure functions, so the rules are tested without a window or a model:
the whitespace around a selection is not part of what the model reworks (a
triple-clicked paragraph carries its paragraph break, a selection may start with
a space), and the answer's length limit follows the selection, not the
document's Max tokens (a Shorten of one sentence has no use for 512 tokens, and
an Expand of a long paragraph must not be cut at them).
"""

from __future__ import annotations

from app.core.thinking import answer_of

SELECTION_ACTIONS = {
    "Rewrite": "Rewrite the following text so it reads better. Keep its meaning. Reply with the rewritten text only.",
    "Shorten": "Shorten the following text to about half its length. Reply with the shortened text only.",
    "Expand": "Expand the following text with more detail, in the same voice. Reply with the expanded text only.",
    "Continue in this style": "Continue the following text in exactly the same style. Reply with the continuation only.",
}
# how long an answer may be, as a multiple of the selection's length (a margin is added for short ones)
LENGTH_FACTOR = {"Rewrite": 1.5, "Shorten": 1.0, "Expand": 3.0, "Continue in this style": 2.0}
CHARS_PER_TOKEN = 3  # English runs ~4 characters a token: 3 errs on the generous side
MARGIN_TOKENS = 24
MOST_TOKENS = 4096


def core_range(text: str, start: int, end: int) -> tuple[int, int]:
    """The part of ``text[start:end]`` without the whitespace at its edges (empty: ``(start, start)``)."""
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return start, start
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + lead + len(stripped)


def answer_budget(action: str, selection: str) -> int:
    """The most tokens the model may write for ``action`` on ``selection``: it follows the selection's length."""
    tokens = len(selection) / CHARS_PER_TOKEN
    return min(MOST_TOKENS, int(tokens * LENGTH_FACTOR.get(action, 1.5)) + MARGIN_TOKENS)


def replacement(answer: str) -> str:
    """What goes in place of the selection: the answer without the blank lines or spaces a model puts around it,
    and without the reasoning a thinking model writes before it."""
    return answer_of(answer).strip()
