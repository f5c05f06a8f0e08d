"""Fitting a conversation into the model's context window (pure functions).

When the messages plus the reply's budget do not fit, the oldest turns after the
system prompt go first, and the caller is told how many went. The newest message
always stays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Message = dict[str, str]


@dataclass(frozen=True)
class Fitted:
    """The messages that fit, how many were dropped, and the prompt's token count."""

    messages: list[Message]
    dropped: int
    prompt_tokens: int


def fit_messages(
    messages: Sequence[Message], count_tokens: Callable[[list[Message]], int], budget: int
) -> Fitted:
    """Keep leading system messages and the newest turns whose prompt fits in ``budget`` tokens.

    ``count_tokens`` renders and counts a candidate list (it is called O(log n) times:
    the number of dropped messages is found by bisection, since dropping more never
    makes a prompt longer). If even the system prompt plus the last message exceed
    the budget, that minimal list is returned and the caller decides.
    """
    msgs = list(messages)
    head = 0
    while head < len(msgs) - 1 and msgs[head].get("role") == "system":
        head += 1
    system, rest = msgs[:head], msgs[head:]

    def candidate(drop: int) -> list[Message]:
        kept = rest[drop:]
        # never start the history with a reply whose question was dropped
        while drop and len(kept) > 1 and kept[0].get("role") == "assistant":
            kept = kept[1:]
        return system + kept

    full = count_tokens(msgs)
    if full <= budget or len(rest) <= 1:
        return Fitted(msgs, 0, full)
    lo, hi = 1, len(rest) - 1  # smallest drop that fits lies in [lo, hi]
    if count_tokens(candidate(hi)) > budget:
        last = candidate(hi)
        return Fitted(last, len(msgs) - len(last), count_tokens(last))
    while lo < hi:
        mid = (lo + hi) // 2
        if count_tokens(candidate(mid)) <= budget:
            hi = mid
        else:
            lo = mid + 1
    kept = candidate(lo)
    return Fitted(kept, len(msgs) - len(kept), count_tokens(kept))


def keep_tail(tokens: Sequence[int], limit: int, keep_first: int | None = None) -> list[int]:
    """The last ``limit`` tokens of a completion prompt (its end matters most).

    ``keep_first`` is a start-of-text token to keep in front, when the model uses one.
    """
    if len(tokens) <= limit:
        return list(tokens)
    if keep_first is not None and tokens and tokens[0] == keep_first:
        return [keep_first, *tokens[len(tokens) - (limit - 1):]]
    return list(tokens[len(tokens) - limit:])


class StopMatcher:
    """Cuts streamed text at the first stop string, never showing part of one.

    Text that could be the start of a stop string is held back until it is clear
    either way; :meth:`flush` releases it when the stream ends for another reason.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self._pending = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        """Add streamed text; return what may be shown now."""
        if self.stopped:
            return ""
        if not self.stops:
            return piece
        text = self._pending + piece
        cut = min((i for i in (text.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self._pending = ""
            return text[:cut]
        hold = 0
        for stop in self.stops:
            for n in range(min(len(stop) - 1, len(text)), 0, -1):
                if text.endswith(stop[:n]):
                    hold = max(hold, n)
                    break
        self._pending = text[len(text) - hold:] if hold else ""
        return text[: len(text) - hold]

    def flush(self) -> str:
        out, self._pending = self._pending, ""
        return out


class BanGuard:
    """Finds banned words in generated text, token by token, so generation can back off.

    A banned word matches case-insensitively where a word starts ("cat" also rules
    out "Cats" but not "concat"). Tokens whose text might still turn into a banned
    word are held back; :meth:`releasable` says how many tokens are safe to show.
    """

    def __init__(self, words: Sequence[str]) -> None:
        self.words = [w.lower() for w in words if w.strip()]
        self.texts: list[str] = []
        self._ends: list[int] = []
        self._text = ""

    def __bool__(self) -> bool:
        return bool(self.words)

    def add(self, text: str) -> int | None:
        """Add a token's text; return the index of the token where a banned word begins, if one now does."""
        before = len(self._text)
        self.texts.append(text)
        self._text += text
        self._ends.append(len(self._text))
        lower = self._text.lower()
        for word in self.words:
            start = max(0, before - len(word) + 1)
            while True:
                at = lower.find(word, start)
                if at < 0:
                    break
                if at == 0 or not lower[at - 1].isalnum():
                    return self._token_at(at)
                start = at + 1
        return None

    def _token_at(self, offset: int) -> int:
        for i, end in enumerate(self._ends):
            if end > offset:
                return i
        return len(self._ends) - 1

    def rollback(self, index: int) -> None:
        """Forget tokens from ``index`` on."""
        del self.texts[index:]
        del self._ends[index:]
        self._text = "".join(self.texts)

    def releasable(self) -> int:
        """How many leading tokens can no longer become part of a banned word."""
        lower = self._text.lower()
        hold = len(lower)
        for word in self.words:
            for n in range(min(len(word) - 1, len(lower)), 0, -1):
                at = len(lower) - n
                if lower.endswith(word[:n]) and (at == 0 or not lower[at - 1].isalnum()):
                    hold = min(hold, at)
                    break
        if hold == len(lower):
            return len(self._ends)
        return next((i for i, end in enumerate(self._ends) if end > hold), len(self._ends))
