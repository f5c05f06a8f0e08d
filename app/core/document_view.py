"""What the model sees of a document longer than its context (pure functions).

The model's prompt is the document's memory (notes the writer keeps in view: synopsis,
characters, style), then as much of the text before the cursor as fits, and — when the
model can fill in the middle — the start of the text after the cursor.

The window's start is chosen on a coarse grid of paragraph starts, so it stays put
while the writer types and edits near the cursor: the engine keeps the longest cached
token prefix, and a stable start means an edit re-reads only from the edit on. The
start moves only when the text no longer fits, and then by a whole grid step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Count = Callable[[str], int]

MEMORY_END = "\n\n"
FIM_AFTER_SHARE = 4  # at most a quarter of the room goes to the text after the cursor


@dataclass(frozen=True)
class DocumentView:
    """The part of a document in the model's view.

    ``start`` is the offset in the text before the cursor where the view begins (0: all
    of it); ``words_outside`` counts the words before it. ``after`` is the text after the
    cursor that the model sees (empty unless filling in the middle).
    """

    memory: str
    before: str
    after: str
    start: int
    words_outside: int

    @property
    def prompt(self) -> str:
        """The plain-continuation prompt: memory, then the text before the cursor."""
        return memory_block(self.memory) + self.before


def memory_block(memory: str) -> str:
    """The memory as it opens the prompt (nothing when there is none)."""
    text = memory.strip()
    return text + MEMORY_END if text else ""


def grid_starts(text: str, step: int) -> list[int]:
    """Candidate view starts: for each multiple of ``step``, the first paragraph (else line, else word) start after it.

    A candidate depends only on the text before it, so typing and editing later in the
    text never moves it.
    """
    starts: list[int] = [0]
    k = 1
    while k * step < len(text):
        at = k * step
        window = text[at: at + step]
        para = window.find("\n\n")
        if para >= 0:
            pos = at + para + 2
        else:
            line = window.find("\n")
            space = re.search(r"\s\S", window)
            pos = at + line + 1 if line >= 0 else (at + space.start() + 1 if space else at + step)
        if pos < len(text) and pos > starts[-1]:
            starts.append(pos)
        k += 1
    return starts


def fit_after(after: str, count: Count, room: int) -> str:
    """The start of ``after`` that fits in ``room`` tokens, cut at a paragraph or sentence end where possible."""
    if not after or room <= 0:
        return ""
    if count(after) <= room:
        return after
    lo, hi = 0, len(after)  # longest prefix that fits, by bisection on characters
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(after[:mid]) <= room:
            lo = mid
        else:
            hi = mid - 1
    cut = after[:lo]
    for mark in ("\n\n", ". ", "\n", " "):
        at = cut.rfind(mark)
        if at > len(cut) // 2:
            return cut[: at + len(mark)].rstrip(" ")
    return cut


def layout_document(before: str, after: str, memory: str, count: Count, budget: int, *, fim: bool = False,
                    grid_tokens: int | None = None) -> DocumentView:
    """Lay out memory + the end of ``before`` (+ the start of ``after`` when ``fim``) in ``budget`` tokens.

    ``count`` counts the tokens of a text. The grid step is about a quarter of the room
    (``grid_tokens`` overrides it), in characters at ~4 characters a token; it depends on
    the budget and the memory, not on where the cursor is.
    """
    mem_tokens = count(memory_block(memory)) if memory.strip() else 0
    after_room = budget // FIM_AFTER_SHARE if fim and after else 0
    shown_after = fit_after(after, count, after_room) if after_room else ""
    room = max(budget - mem_tokens - after_room, 1)
    if count(before) <= room:
        return DocumentView(memory, before, shown_after, 0, 0)
    step = max(64, 4 * (grid_tokens or max(room // 4, 16)))
    starts = grid_starts(before, step)
    lo, hi = 0, len(starts) - 1  # first candidate whose remaining text fits (later starts leave less text)
    if count(before[starts[hi]:]) > room:
        start = starts[hi]
        # even the last grid step is too long: fall back to the last paragraph or line that fits
        while start < len(before) and count(before[start:]) > room:
            nxt = before.find("\n", start + 1)
            start = nxt + 1 if nxt >= 0 else start + max(1, (len(before) - start) // 2)
        start = min(start, len(before))
    else:
        while lo < hi:
            mid = (lo + hi) // 2
            if count(before[starts[mid]:]) <= room:
                hi = mid
            else:
                lo = mid + 1
        start = starts[lo]
    return DocumentView(memory, before[start:], shown_after, start, len(before[:start].split()))


# -- continuing in the middle without fill-in-the-middle tokens ------------------------------

_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s)")
_CLAUSE_END = re.compile(r"[,;:.!?…]")


def middle_stops(after: str) -> tuple[str, ...]:
    """Stop strings that end a suggestion before it repeats the start of the text after the cursor.

    The first few words of what follows (at least 12 characters) are enough to tell that
    the model has started writing it again.
    """
    head = after.strip()
    if not head:
        return ()
    words = head.split()
    picked = ""
    for word in words:
        picked = f"{picked} {word}".strip()
        if len(picked) >= 12 or len(picked.split()) >= 4:
            break
    return (picked, picked[:1].swapcase() + picked[1:]) if picked[:1].isalpha() else (picked,)


def middle_end(generated: str, after: str) -> int | None:
    """Where a suggestion written at the cursor should end so that it meets the text after it, or None.

    - the text after the cursor starts a new paragraph: end at the suggestion's first line break;
    - it starts a new sentence: end after the suggestion's first complete sentence;
    - it goes on mid-sentence: end before the suggestion's first punctuation, so the phrase
      runs into it.
    Nothing is cut before the suggestion has some words of its own.
    """
    if not after.strip() or not generated.strip():
        return None
    body_at = len(generated) - len(generated.lstrip())
    if after.lstrip(" \t").startswith("\n"):
        at = generated.find("\n", body_at)
        return at if at >= 0 else None
    first = after.lstrip()[:1]
    if first.isupper() or first in "\"“'‘([":
        match = _SENTENCE_END.search(generated, body_at)
        return match.end() if match else None
    match = _CLAUSE_END.search(generated, body_at)
    return match.start() if match else None
