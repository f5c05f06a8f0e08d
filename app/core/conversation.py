"""A conversation as a tree of messages, and its active branch.

Edit and regenerate add a sibling instead of overwriting, so every version stays
reachable with ←/→. The active branch is the path from the root to the
conversation's current leaf. Export and import of a branch live here too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.core.storage import MessageRow

EXPORT_FORMAT = "inkling-conversation"


class ConversationTree:
    """Read-only view over a conversation's messages (rebuilt after each change)."""

    def __init__(self, messages: list[MessageRow]) -> None:
        self.by_id = {m.id: m for m in messages}
        self.children: dict[int | None, list[MessageRow]] = {}
        for m in sorted(messages, key=lambda m: m.id):
            self.children.setdefault(m.parent_id, []).append(m)

    def siblings(self, message_id: int) -> list[MessageRow]:
        msg = self.by_id[message_id]
        return self.children.get(msg.parent_id, [])

    def sibling_position(self, message_id: int) -> tuple[int, int]:
        """(1-based index, count) of a message among its versions."""
        sibs = self.siblings(message_id)
        return [s.id for s in sibs].index(message_id) + 1, len(sibs)

    def latest_leaf(self, message_id: int) -> int:
        """Follow the newest child down to a leaf (what the user saw last in that branch)."""
        current = message_id
        while self.children.get(current):
            current = self.children[current][-1].id
        return current

    def path(self, leaf_id: int | None) -> list[MessageRow]:
        if leaf_id is None or leaf_id not in self.by_id:
            roots = self.children.get(None, [])
            if not roots:
                return []
            leaf_id = self.latest_leaf(roots[-1].id)
        out = []
        node: int | None = leaf_id
        while node is not None:
            msg = self.by_id[node]
            out.append(msg)
            node = msg.parent_id
        return out[::-1]

    def switch_version(self, message_id: int, step: int) -> int | None:
        """The leaf to show after moving ``step`` versions from ``message_id`` (None if no such version)."""
        sibs = self.siblings(message_id)
        ids = [s.id for s in sibs]
        target = ids.index(message_id) + step
        if not 0 <= target < len(ids):
            return None
        return self.latest_leaf(ids[target])


@dataclass(frozen=True)
class ExportedConversation:
    """A branch as plain data: what export writes and import reads."""

    title: str
    system_prompt: str
    messages: list[dict[str, str]]
    model: str = ""
    settings: dict[str, Any] | None = None


def to_json(conv: ExportedConversation) -> str:
    return json.dumps({
        "format": EXPORT_FORMAT, "version": 1, "title": conv.title, "system_prompt": conv.system_prompt,
        "model": conv.model, "settings": conv.settings or {}, "messages": conv.messages,
    }, ensure_ascii=False, indent=2)


def from_json(text: str) -> ExportedConversation:
    """Parse an exported conversation; ValueError with a readable reason if it is not one."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the file is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise ValueError("the file is not an Inkling conversation export")
    messages = data.get("messages")
    if not isinstance(messages, list):
        raise ValueError("the export has no message list")
    clean = []
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant", "system") or not isinstance(m.get("content"), str):
            raise ValueError("a message in the export is malformed (needs role and content)")
        clean.append({"role": m["role"], "content": m["content"]})
    return ExportedConversation(str(data.get("title") or "Imported chat"), str(data.get("system_prompt") or ""),
                                clean, str(data.get("model") or ""), data.get("settings") or None)


def to_markdown(conv: ExportedConversation) -> str:
    lines = [f"# {conv.title}", ""]
    if conv.system_prompt:
        lines += ["> **System:** " + conv.system_prompt.replace("\n", "\n> "), ""]
    names = {"user": "You", "assistant": "Assistant", "system": "System"}
    for m in conv.messages:
        lines += [f"### {names.get(m['role'], m['role'])}", ""]
        if m.get("thinking"):  # only there when the export was asked to keep it
            lines += ["> **Thinking:** " + m["thinking"].replace("\n", "\n> "), ""]
        lines += [m["content"], ""]
    return "\n".join(lines)


def auto_title(first_user_message: str, limit: int = 48) -> str:
    """A title from the first exchange: the first line of the question, shortened at a word."""
    text = " ".join(first_user_message.strip().split())
    if not text:
        return "New chat"
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return (cut or text[:limit]) + "…"
