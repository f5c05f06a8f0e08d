"""Tools Inkling offers a model itself, beside the MCP servers' tools: the seam and the per-chat tool host.

A built-in tool (``BuiltinTool``: a ``ToolSpec``, whether a chat offers it, and ``run``)
is registered with the Chat pane's tools (``ChatTools.add_builtin``), which adds its
spec to the offer of every chat where ``offered(chat)`` says so. Each chat's
``ToolTurn`` calls tools through a :class:`ChatToolHost`: a built-in tool's name, in a
chat that offers it, runs its ``run`` (in this process, on the built-in tools' own
worker thread, one call at a time: a search opens SQLite and may start the query
embedder, never on the GUI thread); any other name, or a built-in's name in a chat
that does not offer it, goes to the MCP host as before, and an MCP tool of a
built-in's name is left out of the offer where the built-in is offered. A built-in tool
that only reads what the person gave the chat (``needs_approval`` False) runs without
asking; its call and result are shown and stored like any other tool's.

The first one is ``search_sources`` (``app/core/sources/source_tool.py``): retrieval
offered to a tool-calling model instead of always-on.
"""

from __future__ import annotations

from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from app.core.errors import InklingError, ToolError
from app.core.tools import McpServerConfig, ToolOutcome, ToolSpec

if TYPE_CHECKING:
    from app.core.ports import ToolHostPort, ToolRunPort

BUILTIN_SERVER = "inkling"
"""The ``server`` of a built-in tool's spec (shown where a tool's server is named)."""

_worker: ThreadPoolExecutor | None = None


def _builtin_worker() -> ThreadPoolExecutor:
    """The one thread built-in tools run on (made when first needed)."""
    global _worker
    if _worker is None:
        _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inkling-builtin-tool")
    return _worker


BuiltinOutcome = ToolOutcome
"""What a built-in tool gives back: the same ``ToolOutcome`` an MCP tool's call gives."""


class BuiltinTool(Protocol):
    """One tool Inkling runs itself."""

    spec: ToolSpec
    needs_approval: bool

    def offered(self, chat_id: int) -> bool:
        """Whether chat ``chat_id`` offers this tool to the model now."""
        ...

    def run(self, chat_id: int, arguments: dict[str, Any]) -> BuiltinOutcome:
        """Run one call for chat ``chat_id``; an ``InklingError`` becomes an error result the model reads."""
        ...


class ChatToolHost:
    """The ``ToolHostPort`` one chat's ``ToolTurn`` calls: built-in tools here, the rest on the MCP host."""

    def __init__(self, host: ToolHostPort, builtins: list[BuiltinTool], chat_id: int) -> None:
        self.host = host
        self.builtins = builtins  # the Chat pane's list: a tool registered later is found too
        self.chat_id = chat_id

    def builtin(self, name: str) -> BuiltinTool | None:
        """The built-in tool ``name`` runs here: one of that name this chat offers (None: the MCP host's)."""
        return next((t for t in self.builtins if t.spec.name == name and t.offered(self.chat_id)), None)

    @property
    def servers(self) -> list[McpServerConfig]:
        return self.host.servers

    @property
    def problems(self) -> dict[str, str]:
        return self.host.problems

    def set_servers(self, servers: list[McpServerConfig]) -> None:
        self.host.set_servers(servers)

    def tools_async(self, names: list[str] | None = None) -> Future[list[ToolSpec]]:
        return self.host.tools_async(names)

    def test_async(self, name: str) -> Future[list[ToolSpec]]:
        return self.host.test_async(name)

    def call_async(self, tool: str, arguments: dict[str, Any]) -> Future[ToolRunPort]:
        builtin = self.builtin(tool)
        if builtin is None:
            return self.host.call_async(tool, arguments)
        chat_id = self.chat_id

        def run() -> ToolRunPort:
            try:
                return builtin.run(chat_id, arguments)
            except InklingError as exc:
                return BuiltinOutcome(str(exc), is_error=True)
            except Exception as exc:  # a bug in a built-in tool is the call's error, never the window's
                raise ToolError(f"The built-in tool {tool!r} failed: {type(exc).__name__}: {exc}") from exc

        answer: Future[ToolRunPort] = Future()  # its own, so Stop can cancel it while the search still runs

        def settle(done: Future[ToolRunPort]) -> None:
            if answer.cancelled():
                return
            try:
                exc = done.exception()
                if exc is not None:
                    answer.set_exception(exc)
                else:
                    answer.set_result(done.result())
            except InvalidStateError:  # cancelled meanwhile: the stop was recorded
                pass

        _builtin_worker().submit(run).add_done_callback(settle)
        return answer

    def close(self) -> None:
        """The MCP host is the window's; it closes with it."""
