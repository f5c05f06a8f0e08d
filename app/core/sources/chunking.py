"""Cutting a text into overlapping passages on paragraph and sentence boundaries.

A passage is what retrieval returns and what the model reads, so it should be a
few paragraphs that stand on their own: paragraphs are kept whole while they fit,
a paragraph too long is cut between sentences, and a sentence too long (a table,
a minified line) is cut at a space. Each passage after the first starts with the
last sentences of the one before (``overlap`` characters at most), so a fact that
straddles a cut is found whole in one of the two. Offsets and the 1-based line of
each passage's start let a citation open the file at the right place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAGRAPH = re.compile(r"\n[ \t]*\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?…。])[\"')\]]*\s+")


@dataclass(frozen=True)
class Chunk:
    """One passage: its text, where it starts and ends in the source text, and its first line (1-based)."""

    text: str
    start: int
    end: int
    line: int


def _pieces(text: str, size: int) -> list[tuple[int, int]]:
    """(start, end) spans of paragraphs, with paragraphs over ``size`` cut into sentences, then at spaces."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in [*_PARAGRAPH.finditer(text), None]:
        end = m.start() if m else len(text)
        if text[pos:end].strip():
            spans.extend(_split_long(text, pos, end, size))
        if m:
            pos = m.end()
    return spans


def _split_long(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    if end - start <= size:
        return [(start, end)]
    out: list[tuple[int, int]] = []
    pos = start
    for m in [*_SENTENCE_END.finditer(text, start, end), None]:
        cut = m.end() if m else end
        if cut <= pos:
            continue
        while cut - pos > size:  # a sentence longer than a passage: cut at the last space that fits
            space = text.rfind(" ", pos + size // 2, pos + size)
            stop = space if space > pos else pos + size
            out.append((pos, stop))
            pos = stop
        if cut > pos:
            out.append((pos, cut))
            pos = cut
    return out


def chunk_text(text: str, size: int = 1000, overlap: int = 150) -> list[Chunk]:
    """Passages of about ``size`` characters (never more than ``size + overlap``), overlapping by whole sentences.

    ``overlap`` is how many characters of the previous passage's end a passage may
    repeat; 0 turns overlap off. An empty or blank text has no passages.
    """
    if size < 50:
        raise ValueError("A passage must be at least 50 characters long.")
    spans = [s for s in _pieces(text, size) if text[s[0]:s[1]].strip()]
    chunks: list[Chunk] = []
    i = 0
    line_at = _line_counter(text)
    while i < len(spans):
        first = i
        start, end = spans[i]
        i += 1
        while i < len(spans) and spans[i][1] - start <= size:
            end = spans[i][1]
            i += 1
        begin = start
        if chunks and overlap > 0:
            begin = _overlap_start(text, spans, first, overlap, start)
        body = text[begin:end].strip()
        lead = len(text[begin:end]) - len(text[begin:end].lstrip())
        chunks.append(Chunk(body, begin + lead, end, line_at(begin + lead)))
    return chunks


def _overlap_start(text: str, spans: list[tuple[int, int]], first: int, overlap: int, start: int) -> int:
    """Where a passage starts so it repeats the previous passage's last sentences (at most ``overlap`` chars)."""
    prev_start, prev_end = spans[first - 1]
    candidates = [prev_start] + [m.end() for m in _SENTENCE_END.finditer(text, prev_start, prev_end)]
    for c in candidates:
        if prev_end - c <= overlap and c < prev_end:
            return c
    return start


def _line_counter(text: str):
    """A function from an offset to its 1-based line, counting newlines incrementally (offsets ascend)."""
    state = {"pos": 0, "line": 1}

    def line_at(offset: int) -> int:
        if offset < state["pos"]:
            state["pos"], state["line"] = 0, 1
        state["line"] += text.count("\n", state["pos"], offset)
        state["pos"] = offset
        return state["line"]

    return line_at
