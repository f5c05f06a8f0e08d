"""A found passage as Write uses it: a quote with its citation for the text, or a note for the memory.

Write stores plain text that exports as Markdown (``app.ui.write.export``), so a
quote is a Markdown blockquote whose last line says where it is from, by file
name and line (a PDF's by page), the way a reader finds it again::

    > The keeper climbs the stairs and lights the lamp at dusk.
    >
    > — lighthouse.md, line 12

The memory (notes the model reads before the text, ``DocumentSession.memory``)
gets the passage on one line, quoted and cited, so it costs as few tokens as
the words themselves. Pure functions: the Write pane and its tests call them.
"""

from __future__ import annotations

from app.core.sources.store import Hit

PAGED = (".pdf",)  # formats whose passages a person finds by page rather than by line


def citation(hit: Hit) -> str:
    """Where the passage is, for a person: ``notes.md, line 12`` (a PDF: ``book.pdf, page 3``)."""
    name = hit.path.replace("\\", "/").rsplit("/", 1)[-1]
    if name.lower().endswith(PAGED):
        return f"{name}, page {max(hit.page, 1)}"
    return f"{name}, line {hit.line}"


def _lines(text: str) -> list[str]:
    """The passage's lines without trailing spaces, runs of blank lines kept as one, none at either end."""
    lines: list[str] = []
    for line in text.replace("\f", "\n").splitlines():
        line = line.rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def quote_block(hit: Hit) -> str:
    """The passage as a Markdown blockquote, its citation as the quote's last line (no newline at the end)."""
    body = [f"> {line}" if line else ">" for line in _lines(hit.text)]
    return "\n".join([*body, ">", f"> — {citation(hit)}"])


def quote_insertion(before: str, after: str, hit: Hit) -> str:
    """What to insert between ``before`` and ``after`` (the text around the cursor) to quote ``hit`` there.

    The quote is a paragraph of its own: blank lines separate it from the text on either side (no more
    than are missing), and at the end of the text a blank line follows it, so writing goes on below it.
    """
    lead = "" if not before or before.endswith("\n\n") else "\n" if before.endswith("\n") else "\n\n"
    tail = "" if after.startswith("\n\n") else "\n" if after.startswith("\n") else "\n\n"
    return lead + quote_block(hit) + tail


def memory_entry(hit: Hit) -> str:
    """The passage as one line of the memory: its words in quotation marks, then where it is from."""
    words = " ".join(hit.text.split())
    return f"“{words}” — {citation(hit)}"


def memory_with(memory: str, entry: str) -> str:
    """``memory`` with ``entry`` appended as a paragraph of its own (unchanged if it already holds it)."""
    if entry in memory:
        return memory
    kept = memory.rstrip()
    return f"{kept}\n\n{entry}" if kept else entry
