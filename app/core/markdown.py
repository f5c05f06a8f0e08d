"""Preparing untrusted model text for Qt's Markdown renderer (pure functions).

Raw HTML is switched off in the renderer itself; here code blocks are found, so
each can get its own "Copy code" link, and an unclosed fence in a streaming
reply is closed for display so the rest of the reply does not flash as code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COPY_SCHEME = "inkling-copy"
_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")


@dataclass(frozen=True)
class Prepared:
    markdown: str
    code_blocks: list[str]


def prepare(text: str, first_index: int = 0) -> Prepared:
    """Markdown with a copy link after each fenced code block, plus the blocks' texts.

    ``first_index`` numbers the copy links of a chunk that follows earlier blocks.
    """
    out: list[str] = []
    blocks: list[str] = []
    fence = ""
    current: list[str] = []
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if not fence:
            out.append(line)
            if match:
                fence = match.group(2)[0] * len(match.group(2))
                current = []
            continue
        if match and match.group(2).startswith(fence) and not match.group(3).strip():
            out.append(line)
            blocks.append("\n".join(current))
            out.append("")
            out.append(f"[Copy code]({COPY_SCHEME}:{first_index + len(blocks) - 1})")
            out.append("")
            fence = ""
            continue
        current.append(line)
        out.append(line)
    if fence:  # still streaming: close it for display only
        out.append(fence)
    return Prepared("\n".join(out), blocks)


def stable_boundary(text: str) -> int:
    """Where the last finished paragraph ends: a blank line outside any code fence (0 if none).

    Text before it will not change meaning as more tokens arrive, so a streaming
    view can render it once and keep it.
    """
    boundary = 0
    fence = ""
    offset = 0
    for line in text.split("\n")[:-1]:  # the last line may still be growing
        offset += len(line) + 1
        match = _FENCE.match(line)
        if fence:
            if match and match.group(2).startswith(fence) and not match.group(3).strip():
                fence = ""
        elif match:
            fence = match.group(2)[0] * len(match.group(2))
        elif not line.strip():
            boundary = offset
    return boundary


def safe_link(url: str) -> bool:
    """Only web links may be opened (after the user confirms); never files or scripts."""
    return url.lower().startswith(("http://", "https://"))
