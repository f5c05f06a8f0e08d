"""Drafting from the text (prompt-lookup speculative decoding), the pure part.

When a rewrite or a continuation copies the text it was given, the next tokens are
already in the prompt: find the latest earlier place where the last few tokens
occur, and propose what followed them there. The engine checks the whole draft in
one batch and keeps the longest run the model agrees with, so a copied passage costs
one model pass per run instead of one per token.
"""

from __future__ import annotations

from collections.abc import Sequence


class DraftIndex:
    """Where each n-gram of a growing token sequence occurred, for O(1) look-ups per token.

    ``ngram`` tokens must match before anything is proposed: shorter matches guess
    wrong too often, and a wrong guess costs a wasted batch.
    """

    def __init__(self, tokens: Sequence[int], ngram: int = 3, max_draft: int = 10) -> None:
        self.ngram = ngram
        self.max_draft = max_draft
        self.tokens: list[int] = []
        self._last: dict[tuple[int, ...], int] = {}  # n-gram -> index just after its latest occurrence
        self.extend(tokens)

    def extend(self, tokens: Sequence[int]) -> None:
        n = self.ngram
        for t in tokens:
            self.tokens.append(int(t))
            end = len(self.tokens)
            if end > n:  # index the n-gram that ends one before the newest token: it is followed by it
                self._last[tuple(self.tokens[end - n - 1: end - 1])] = end - 1

    def draft(self) -> list[int]:
        """Tokens that followed the latest earlier occurrence of the last ``ngram`` tokens (may be empty)."""
        n = self.ngram
        if len(self.tokens) < n:
            return []
        at = self._last.get(tuple(self.tokens[-n:]))
        if at is None:
            return []
        return self.tokens[at: at + self.max_draft]


def draft_tokens(tokens: Sequence[int], ngram: int = 3, max_draft: int = 10) -> list[int]:
    """The draft for ``tokens`` as a one-off (see :class:`DraftIndex`)."""
    return DraftIndex(tokens, ngram, max_draft).draft()
