"""From a question to the numbered passages the model reads, and from its ``[n]`` marks back to them.

Pure functions: which hits fit the context budget, the system message that holds
them with their numbers, which numbers a reply cites, and the citation parts a
reply keeps (each pointing at ``path:line`` of its passage, so a link can open it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from app.core.parts import CitationPart
from app.core.sources.store import Hit

INSTRUCTIONS = ("Answer the question using the numbered sources below. After each claim, cite the source it "
                "comes from by its number in square brackets, like [1]. If the sources do not say, say so.")

_CITE = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")


def fit_hits(hits: Sequence[Hit], budget_tokens: int, count_tokens: Callable[[str], int] | None = None) -> list[Hit]:
    """The best hits, in order, whose passages fit ``budget_tokens`` together (at least none, never a cut passage)."""
    count = count_tokens or (lambda s: len(s) // 3 + 8)
    out: list[Hit] = []
    used = count(INSTRUCTIONS)
    for hit in hits:
        cost = count(hit.text) + 12
        if used + cost > budget_tokens:
            break
        out.append(hit)
        used += cost
    return out


def sources_message(hits: Sequence[Hit]) -> str:
    """The system message: the instructions, then each passage under its number and where it is from."""
    blocks = [f"[{n}] {hit.location}\n{hit.text}" for n, hit in enumerate(hits, start=1)]
    return INSTRUCTIONS + "\n\nSources:\n\n" + "\n\n".join(blocks)


def cited_numbers(text: str) -> list[int]:
    """The source numbers a reply cites, in order of first mention: ``[1]``, ``[2, 3]``."""
    seen: dict[int, None] = {}
    for m in _CITE.finditer(text):
        for n in m.group(1).split(","):
            seen[int(n)] = None
    return list(seen)


def citation_parts(text: str, hits: Sequence[Hit]) -> list[CitationPart]:
    """One citation part per passage the reply cites (numbers beyond the passages are ignored)."""
    parts = []
    for n in cited_numbers(text):
        if 1 <= n <= len(hits):
            hit = hits[n - 1]
            parts.append(CitationPart(title=hit.path.rsplit("/", 1)[-1], source=f"{hit.path}:{hit.line}",
                                      quote=hit.text))
    return parts


def used_parts(hits: Sequence[Hit]) -> list[CitationPart]:
    """Citation parts for every passage given to the model, numbered as it saw them ("Sources used")."""
    return [CitationPart(title=h.path.rsplit("/", 1)[-1], source=f"{h.path}:{h.line}", quote=h.text)
            for h in hits]


def link_citations(text: str, count: int) -> str:
    """Markdown with each ``[n]`` (n a passage's number) made a ``cite:n`` link a view can open."""

    def link(m: re.Match[str]) -> str:
        numbers = [int(n) for n in m.group(1).split(",")]
        if not all(1 <= n <= count for n in numbers):
            return m.group(0)
        return ", ".join(f"[\\[{n}\\]](cite:{n})" for n in numbers)

    return _CITE.sub(link, text)


def passage_span(text: str, line: int, quote: str) -> tuple[int, int]:
    """Where a cited passage is in its file's ``text``: (start, end) offsets, found from its line and words."""
    lines = text.split("\n")
    start = sum(len(x) + 1 for x in lines[: max(line - 1, 0)])
    whole = quote.strip()
    # the passage starts on its line: its first occurrence from there is it (repeated words elsewhere are not)
    for needle in (whole, whole[:60]):
        found = text.find(needle, start) if needle else -1
        if found >= 0:
            return found, found + len(whole)
    return start, start + (len(lines[line - 1]) if 0 < line <= len(lines) else 0)


def split_location(source: str) -> tuple[str, int]:
    """``path:line`` back into its path and line (a path without a line is line 1)."""
    path, _, line = source.rpartition(":")
    if path and line.isdigit():
        return path, int(line)
    return source, 1
