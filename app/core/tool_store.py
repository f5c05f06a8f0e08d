"""The tool servers a person set up, and which of them each chat uses: one ``mcp.json`` file.

The file is an ``mcpServers`` object exactly as Claude Desktop and LM Studio write it
(so it can be copied in or out as is), plus Inkling's own ``inklingChats``: per chat,
the servers switched off there. A new chat uses every server that is not ``disabled``.
``ToolStore`` is the only writer and announces each change (``"servers"`` or
``"chats"``); the Tools tab and the chat's tool offer listen.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.core.announcer import Announcer
from app.core.errors import ToolConfigError
from app.core.tools import McpServerConfig, parse_mcp_config


class ToolStore(Announcer["ToolStore", str]):
    """The servers of ``mcp.json`` and the per-chat switches."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.servers: list[McpServerConfig] = []
        self.off: dict[int, set[str]] = {}
        self.problem = ""  # why the file could not be read (it is then left as it is)
        if path.exists():
            try:
                text = path.read_text(encoding="utf-8")
                self.servers = parse_mcp_config(text)
                chats = json.loads(text).get("inklingChats", {})
                self.off = {int(k): set(v) for k, v in chats.items() if isinstance(v, list)}
            except (OSError, ToolConfigError, ValueError, AttributeError) as exc:
                self.problem = str(exc)

    def _save(self) -> None:
        data = {"mcpServers": {s.name: s.to_json() for s in self.servers},
                "inklingChats": {str(k): sorted(v) for k, v in self.off.items() if v}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        tmp.replace(self.path)

    def import_text(self, text: str) -> list[str]:
        """Add (or replace, by name) the servers of an ``mcpServers`` JSON text; their names."""
        new = parse_mcp_config(text)
        names = {s.name for s in new}
        self.servers = [s for s in self.servers if s.name not in names] + new
        self._save()
        self._announce(self, "servers")
        return [s.name for s in new]

    def remove(self, name: str) -> None:
        self.servers = [s for s in self.servers if s.name != name]
        self._save()
        self._announce(self, "servers")

    def enabled_for(self, chat_id: int) -> list[str]:
        """The servers a chat uses: every one not disabled, less those switched off in that chat."""
        off = self.off.get(chat_id, set())
        return [s.name for s in self.servers if not s.disabled and s.name not in off]

    def set_enabled(self, chat_id: int, name: str, on: bool) -> None:
        off = self.off.setdefault(chat_id, set())
        if on == (name not in off):
            return
        (off.discard if on else off.add)(name)
        self._save()
        self._announce(self, "chats")
