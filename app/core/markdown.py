"""Preparing untrusted model text for Qt's Markdown renderer (pure functions).

A reply is cut into top-level blocks: fenced code, and runs of text that end at a
blank line. The view renders each block once, in time slices, so no shape of
text (a 1 MB line, a 20,000-row table, an unclosed code block) can freeze the
window: a text block within a size and complexity budget is rendered as Markdown,
a bigger one as plain text, and code always as a card of plain lines.

Raw HTML is switched off in the renderer itself. Single newlines in model text
are kept as line breaks (as LM Studio and Jan do), which Markdown would otherwise
fold into spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COPY_SCHEME = "inkling-copy"

# Past these a text block is shown as plain text: Qt's Markdown import and layout
# cost grows with them (measured: a 100-row table takes ~50 ms, a 20,000-char line
# is laid out in ~65 ms, and both grow faster than linearly).
MARKDOWN_MAX_CHARS = 4000
MARKDOWN_MAX_LINES = 150
MARKDOWN_MAX_LINE = 1500
TABLE_MAX_CELLS = 120
DISPLAY_LINE = 1000
"""Plain lines longer than this are shown cut into several display lines (the text itself is unchanged)."""

_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_LIST_ITEM = re.compile(r"^\s*([-*+]|\d{1,9}[.)])(\s|$)")
_TABLE_DELIMITER = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


@dataclass
class Block:
    """One top-level piece of a reply: ``source[start:end]`` is its text (code: without the fences)."""

    kind: str  # "text" or "code"
    start: int
    end: int
    language: str = ""
    complete: bool = False


class BlockSplitter:
    """Cuts a growing text into blocks, reading each new line once.

    ``feed(text)`` takes the whole text so far (it must extend what was fed
    before); ``blocks`` then lists every block, the last one possibly still open.
    ``finish()`` closes the last block (an unclosed fence included).
    """

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.fed = 0  # characters of the text read so far (whole lines only)
        self._fence = ""
        self._blank_at = -1  # start of a blank line that may end the current text block
        self._list = False  # the current text block is a list (a blank line inside it does not end it)
        self.finished = False

    def feed(self, text: str) -> None:
        end = text.rfind("\n") + 1
        pos = self.fed
        while pos < end:
            if self._fence:  # inside code: only a closing fence matters
                skip = _FENCE_LINE
            elif self.blocks and not self.blocks[-1].complete and self._blank_at < 0:
                skip = _INTERESTING  # inside text: only a blank line or a fence matters
            else:
                skip = None
            if skip is not None:
                match = skip.search(text, pos, end)
                if match is None or match.start() >= end:
                    pos = end
                    break
                pos = match.start()
            nl = text.find("\n", pos)
            self._line(text, pos, nl)
            pos = nl + 1
        self.fed = max(self.fed, pos)
        last = self.blocks[-1] if self.blocks else None
        if last is not None and not last.complete:
            if last.kind == "code":  # the growing last line too, unless it may become the closing fence
                last.end = self.fed if text[self.fed:].lstrip(" ")[:1] in ("`", "~") else len(text)
            elif self._blank_at < 0:
                last.end = len(text)

    def finish(self, text: str) -> None:
        self.feed(text)
        if self.fed < len(text):  # the last line has no newline
            self._line(text, self.fed, len(text))
            self.fed = len(text)
        if self.blocks and not self.blocks[-1].complete:
            block = self.blocks[-1]
            if block.kind == "text":
                block.end = self._blank_at if self._blank_at >= 0 else len(text)
            else:
                block.end = len(text)
            block.complete = True
        self.finished = True

    def _line(self, text: str, start: int, nl: int) -> None:
        line = text[start:nl]
        after = nl + 1
        if self._fence:
            match = _FENCE.match(line)
            if match and match.group(2).startswith(self._fence) and not match.group(3).strip():
                block = self.blocks[-1]
                block.end, block.complete = start, True
                self._fence = ""
            return
        blank = not line.strip()
        open_text = bool(self.blocks) and not self.blocks[-1].complete
        if open_text and self._blank_at >= 0 and not blank:
            # a blank line ended the block, unless this line carries on an indented part or a list
            if line[:1] in (" ", "\t") or (self._list and _LIST_ITEM.match(line)):
                self._blank_at = -1
            else:
                block = self.blocks[-1]
                block.end, block.complete = self._blank_at, True
                self._blank_at = -1
                open_text = False
        match = _FENCE.match(line)
        if match:
            if open_text:
                block = self.blocks[-1]
                block.end, block.complete = (self._blank_at if self._blank_at >= 0 else start), True
                self._blank_at = -1
            self._fence = match.group(2)[0] * len(match.group(2))
            language = match.group(3).strip().split(" ")[0] if match.group(3).strip() else ""
            self.blocks.append(Block("code", after, after, language))
            return
        if blank:
            if open_text and self._blank_at < 0:
                self._blank_at = self.blocks[-1].end = start
            return
        if not open_text:
            self.blocks.append(Block("text", start, after))
            self._list = bool(_LIST_ITEM.match(line))
        self.blocks[-1].end = after


# a line that may end or change a text block: a blank one, or a fence
_INTERESTING = re.compile(r"^[ \t]*$|^ {0,3}(?:`{3,}|~{3,})", re.M)
_FENCE_LINE = re.compile(r"^ {0,3}(?:`{3,}|~{3,})", re.M)


def fits_markdown(text: str) -> bool:
    """Whether Qt can render this text block as Markdown within a frame's budget."""
    if len(text) > MARKDOWN_MAX_CHARS or text.count("\n") > MARKDOWN_MAX_LINES:
        return False
    lines = text.split("\n")
    if max(len(line) for line in lines) > MARKDOWN_MAX_LINE:
        return False
    if any(_TABLE_DELIMITER.match(line) and "-" in line for line in lines[1:]):
        cells = sum(line.count("|") for line in lines if "|" in line)
        if cells > TABLE_MAX_CELLS:
            return False
    return True


def keep_line_breaks(text: str) -> str:
    """Markdown in which each single newline of the model's text stays a line break.

    Two trailing spaces make a hard break; table rows, lines that already end in
    a break and lines before a blank one are left as they are.
    """
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if (following.strip() and line.strip() and "|" not in line and "|" not in following
                and not line.endswith(("\\", "  "))):
            line += "  "
        out.append(line)
    return "\n".join(out)


def cut_long_lines(text: str, column: int, width: int = DISPLAY_LINE) -> tuple[list[str], int]:
    """Display lines for appending ``text`` where the current display line already holds ``column`` characters.

    The first piece continues the current line; each further piece starts a new
    one. Lines longer than ``width`` are cut (display only: the text is unchanged),
    because Qt lays out one very long line in time that grows faster than its length.
    Returns the pieces and the column after them.
    """
    pieces: list[str] = []
    for i, line in enumerate(text.split("\n")):
        if i:
            column = 0
        while column + len(line) > width:
            take = width - column
            pieces.append(line[:take])
            line, column = line[take:], 0
        pieces.append(line)
        column += len(line)
    return pieces, column


def safe_link(url: str) -> bool:
    """Only web links may be opened (after the user confirms); never files or scripts."""
    return url.lower().startswith(("http://", "https://"))
