"""A message is a list of typed parts, stored and rendered by kind.

Text, thinking, a tool call, a tool result, a citation, an image: each is a frozen
dataclass with a ``kind``. Whoever makes a message (the chat turn, a tool runner)
says what each piece is; a pane shows each kind by its own widget and never parses
the model's text to find them. The JSON form is one object per part with its
``kind`` and its fields, so a stored message reads back exactly as it was written.
A message's plain text (what the model is sent back, what search looks in) is its
text parts joined.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Union

from app.core.errors import StorageError


@dataclass(frozen=True)
class TextPart:
    """What the model (or the person) wrote; shown as Markdown."""

    text: str
    kind: ClassVar[str] = "text"


@dataclass(frozen=True)
class ThinkingPart:
    """The model's reasoning before its answer; shown collapsed and dimmed."""

    text: str
    kind: ClassVar[str] = "thinking"


@dataclass(frozen=True)
class ToolCallPart:
    """A call the model asked for: a tool's name and its arguments (JSON text, as the model gave them)."""

    name: str
    arguments: str = "{}"
    call_id: str = ""
    kind: ClassVar[str] = "tool_call"


@dataclass(frozen=True)
class ToolResultPart:
    """What a tool gave back to the call with the same ``call_id``."""

    name: str
    content: str
    call_id: str = ""
    is_error: bool = False
    kind: ClassVar[str] = "tool_result"


@dataclass(frozen=True)
class CitationPart:
    """A source the reply leans on: a title, where it is (path or address), the words quoted."""

    title: str
    source: str = ""
    quote: str = ""
    found_by: str = ""  # how a retrieved passage was found ("keywords and meaning", "keywords only (...)")
    kind: ClassVar[str] = "citation"


@dataclass(frozen=True)
class ImagePart:
    """A picture stored as a file beside the database; ``alt`` says what it shows."""

    path: str
    alt: str = ""
    mime: str = ""
    kind: ClassVar[str] = "image"


Part = Union[TextPart, ThinkingPart, ToolCallPart, ToolResultPart, CitationPart, ImagePart]  # noqa: UP007
PART_TYPES: dict[str, type[Part]] = {t.kind: t for t in (TextPart, ThinkingPart, ToolCallPart, ToolResultPart,
                                                          CitationPart, ImagePart)}


def plain_text(parts: Iterable[Part]) -> str:
    """The text parts joined: a message's plain text."""
    return "".join(p.text for p in parts if isinstance(p, TextPart))


def with_text(parts: Sequence[Part], text: str) -> tuple[Part, ...]:
    """``parts`` with its text replaced by ``text``: one text part where the first one was (else at the end)."""
    out: list[Part] = []
    placed = False
    for p in parts:
        if isinstance(p, TextPart):
            if not placed and text:
                out.append(TextPart(text))
            placed = True
        else:
            out.append(p)
    if not placed and text:
        out.append(TextPart(text))
    return tuple(out)


def part_to_dict(part: Part) -> dict[str, Any]:
    return {"kind": part.kind, **asdict(part)}


def part_from_dict(data: dict[str, Any]) -> Part:
    """One part from its JSON object; unknown kinds or fields are a StorageError (a newer Inkling wrote them)."""
    kind = data.get("kind")
    cls = PART_TYPES.get(str(kind))
    if cls is None:
        raise StorageError(f"A message has a part of kind {kind!r} this Inkling does not know; update Inkling.")
    names = {f.name for f in fields(cls)}
    values = {k: v for k, v in data.items() if k != "kind"}
    if not set(values) <= names:
        raise StorageError(f"A {kind} part has fields {sorted(set(values) - names)} this Inkling does not know.")
    try:
        return cls(**values)
    except TypeError as e:
        raise StorageError(f"A {kind} part is incomplete: {e}") from e


def parts_to_json(parts: Iterable[Part]) -> str:
    """The stable JSON form: a list of objects, keys sorted, no spaces to vary."""
    return json.dumps([part_to_dict(p) for p in parts], sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parts_from_json(text: str) -> tuple[Part, ...]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise StorageError(f"A message's parts are not valid JSON: {e}") from e
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise StorageError("A message's parts are not a list of objects.")
    return tuple(part_from_dict(d) for d in data)
