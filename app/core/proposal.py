"""A proposed edit of a range of a document, as hunks to accept or reject one by one (pure Python, no Qt).

The model answers an instruction ("make the opening warmer") with the edited text of a
range. A :class:`Proposal` holds that range of the document as it was when asked
(``base``), where it now lies (``start``), and the model's text (``text``, growing while
it streams). Its hunks are the differences between the two: paragraphs are matched first
(``difflib`` over lines), and inside a paragraph that changed, words — so "colour" for
"color" is one small hunk, not a whole paragraph. A paragraph added or removed whole is
one hunk.

Nothing changes in the document until a hunk is accepted: :meth:`Proposal.accept` says
which characters of the document to replace (an :class:`Edit`) and keeps the proposal's
own bookkeeping in step; :meth:`Proposal.reject` only marks the hunk.

The document may change under a proposal (the writer types elsewhere while it streams):
:meth:`Proposal.rebase` shifts the range for an edit before it, ignores one after it,
and marks the proposal *stale* for one inside it — a stale proposal accepts nothing, so
the text is never corrupted. :meth:`Proposal.check` compares the range with the text
(the guard for edits it was not told about).

A proposal stopped before the model finished (:meth:`Proposal.cut_short`) keeps what was
proposed: the part of the range the model had not reached yet is left as it is, not
proposed for deletion.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Literal

HunkState = Literal["open", "accepted", "rejected"]
ProposalState = Literal["writing", "ready", "stopped", "failed", "stale"]

_WORDS = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass
class Hunk:
    """One difference: ``base[start:end]`` (offsets in the proposal's base) becomes ``new``."""

    start: int
    end: int
    old: str
    new: str
    state: HunkState = "open"

    @property
    def open(self) -> bool:
        return self.state == "open"


@dataclass(frozen=True)
class Edit:
    """Replace the document's characters ``start:end`` with ``text``."""

    start: int
    end: int
    text: str

    def apply(self, document: str) -> str:
        return document[:self.start] + self.text + document[self.end:]


def diff_hunks(base: str, text: str) -> list[Hunk]:
    """The hunks that turn ``base`` into ``text``: paragraphs matched first, then words inside a changed one."""
    old_lines, new_lines = base.splitlines(keepends=True), text.splitlines(keepends=True)
    old_at = _offsets(old_lines)
    new_at = _offsets(new_lines)
    hunks: list[Hunk] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        old, new = base[old_at[i1]:old_at[i2]], text[new_at[j1]:new_at[j2]]
        if op == "replace":
            hunks.extend(_word_hunks(old, new, old_at[i1]))
        else:  # a paragraph (or several) added or removed whole
            hunks.append(Hunk(old_at[i1], old_at[i2], old, new))
    return hunks


def _offsets(lines: list[str]) -> list[int]:
    at = [0]
    for line in lines:
        at.append(at[-1] + len(line))
    return at


def _word_hunks(old: str, new: str, offset: int) -> list[Hunk]:
    """Word-level hunks of a changed run of paragraphs; two changes with only a space between are one hunk."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    a_at, b_at = _offsets(a), _offsets(b)
    spans: list[list[int]] = []  # [i1, i2, j1, j2] in words
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if spans and _only_space(a[spans[-1][1]:i1]) and _only_space(b[spans[-1][3]:j1]) and "\n" not in "".join(a[spans[-1][1]:i1]):
            spans[-1][1], spans[-1][3] = i2, j2
        else:
            spans.append([i1, i2, j1, j2])
    return [Hunk(offset + a_at[i1], offset + a_at[i2], old[a_at[i1]:a_at[i2]], new[b_at[j1]:b_at[j2]])
            for i1, i2, j1, j2 in spans]


def _only_space(words: list[str]) -> bool:
    return len(words) <= 1 and all(not w.strip() for w in words)


@dataclass
class Proposal:
    """The model's edit of one range of a document: its base, its text, its hunks and where it lies now.

    ``start`` is where the range begins in the document now; the range is ``length`` characters long
    (``base`` with the accepted hunks applied). ``label`` names it for a person ("Selection",
    "Section 2 of 5").
    """

    instruction: str
    base: str
    start: int
    label: str = ""
    text: str = ""
    state: ProposalState = "writing"
    hunks: list[Hunk] = field(default_factory=list)
    error: str = ""
    _shift: int = 0  # how much the accepted hunks lengthened the range

    # -- what it is ------------------------------------------------------------------------

    @property
    def length(self) -> int:
        """How long the range is in the document now (the base with the accepted hunks in)."""
        return len(self.base) + self._shift

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def current(self) -> str:
        """The range as the document should hold it now: the base with the accepted hunks applied."""
        out, at = [], 0
        for h in self.hunks:
            if h.state == "accepted":
                out += [self.base[at:h.start], h.new]
                at = h.end
        out.append(self.base[at:])
        return "".join(out)

    @property
    def open_hunks(self) -> list[int]:
        return [i for i, h in enumerate(self.hunks) if h.open]

    @property
    def reviewable(self) -> bool:
        """Hunks can be accepted: the model has stopped writing and the base has not changed under it."""
        return self.state in ("ready", "stopped")

    @property
    def settled(self) -> bool:
        """Nothing is left to decide: no open hunk (or it went stale, or failed)."""
        return self.state in ("stale", "failed") or (self.state != "writing" and not self.open_hunks)

    def document_range(self, index: int) -> tuple[int, int]:
        """Where hunk ``index``'s old text lies in the document now (its new text once accepted)."""
        h = self.hunks[index]
        before = sum(len(g.new) - (g.end - g.start) for g in self.hunks[:index] if g.state == "accepted")
        end = h.start + (len(h.new) if h.state == "accepted" else h.end - h.start)
        return self.start + before + h.start, self.start + before + end

    # -- while the model writes --------------------------------------------------------------

    def add(self, text: str) -> None:
        """More of the model's text (live hunks follow it; a hunk is only final when the model ends)."""
        self.text += text
        if self.state == "writing":
            self.hunks = diff_hunks(self.base, self.text)

    def finish(self) -> None:
        """The model wrote all of it: the hunks are final, all open."""
        if self.state != "writing":
            return
        self.text = _trimmed(self.text, self.base)
        self.hunks, self.state = diff_hunks(self.base, self.text), "ready"

    def cut_short(self) -> None:
        """Stopped before the end: what was proposed stays; the part of the range not reached stays as it is."""
        if self.state != "writing":
            return
        self.hunks, self.state = diff_hunks(self.base[:_reached(self.base, self.text)], _whole_words(self.text)), "stopped"

    def fail(self, error: str) -> None:
        self.state, self.error, self.hunks = "failed", error, []

    # -- decisions ---------------------------------------------------------------------------

    def accept(self, index: int) -> Edit:
        """Accept hunk ``index``: the document edit to make (the caller makes it as one undo step)."""
        if not self.reviewable:
            raise ValueError(f"a {self.state} proposal accepts nothing")
        h = self.hunks[index]
        if not h.open:
            raise ValueError(f"hunk {index} is already {h.state}")
        start, end = self.document_range(index)
        h.state = "accepted"
        self._shift += len(h.new) - (h.end - h.start)
        return Edit(start, end, h.new)

    def reject(self, index: int) -> None:
        """The hunk stays as the document has it."""
        if self.hunks[index].open:
            self.hunks[index].state = "rejected"

    def reject_all(self) -> None:
        for i in self.open_hunks:
            self.reject(i)

    # -- the document changed under it ---------------------------------------------------------

    def rebase(self, position: int, removed: int, added: int, document: str | None = None) -> None:
        """The document changed at ``position`` (``removed`` characters gave way to ``added``).

        Before the range: the range moves. After it: nothing. Inside it (or across an edge): stale —
        unless ``document`` (the text after the edit) shows that an accepted hunk was undone: that hunk
        is open again. An insertion exactly at the range's end is outside it; at its start, before it.
        """
        if self.state in ("stale", "failed"):
            return
        if position + removed <= self.start:
            self.start += added - removed
        elif (position < self.end and (self.state == "writing" or self.open_hunks or self._shift_any())
              and not (self.state != "writing" and document is not None and self._undone(document))):
            self.state = "stale"
            self._shift += added - removed  # the range still covers the text the edit left there

    def check(self, document: str) -> bool:
        """Whether the document still holds the range as the proposal expects; marks it stale if not."""
        if self.state in ("stale", "failed"):
            return self.state != "stale"
        if document[self.start:self.end] != self.current and not self._undone(document):
            self.state = "stale"
            return False
        return True

    def _shift_any(self) -> bool:
        return any(h.state == "accepted" for h in self.hunks)

    def _undone(self, document: str) -> bool:
        """Whether ``document`` holds the range with one accepted hunk taken back (Undo): it is open again."""
        if document[self.start:self.end] == self.current:
            return True
        for h in reversed(self.hunks):
            if h.state != "accepted":
                continue
            h.state = "open"
            self._shift -= len(h.new) - (h.end - h.start)
            if document[self.start:self.end] == self.current:
                return True
            h.state = "accepted"
            self._shift += len(h.new) - (h.end - h.start)
        return False


def _whole_words(text: str) -> str:
    """A stopped text without its last, maybe unfinished, word."""
    if not text or not text[-1].isalnum():
        return text
    cut = max(text.rfind(" "), text.rfind("\n"))
    return text[:cut + 1] if cut >= 0 else ""


def _reached(base: str, text: str) -> int:
    """How far into ``base`` a stopped ``text`` got: after the base word matched last, plus as many words
    as the text wrote since (the text's unmatched tail replaces about as many words of the base)."""
    text = _whole_words(text)
    a, b = _WORDS.findall(base), _WORDS.findall(text)
    if not b:
        return 0
    a_at = _offsets(a)
    blocks = [m for m in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks() if m.size]
    i, j = (blocks[-1].a + blocks[-1].size, blocks[-1].b + blocks[-1].size) if blocks else (0, 0)
    return a_at[min(len(a), i + (len(b) - j))]


def _trimmed(text: str, base: str) -> str:
    """The model's text with the edge whitespace of the base: a model's own blank lines around an answer are not edits."""
    core = text.strip()
    if not core:
        return text
    lead = base[:len(base) - len(base.lstrip())]
    trail = base[len(base.rstrip()):]
    return lead + core + trail
