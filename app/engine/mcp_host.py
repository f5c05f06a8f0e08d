"""Runs MCP tool servers with the official ``mcp`` package: starts them, lists their tools, calls them.

``McpHost`` owns one asyncio thread (``inkling-mcp``) and, on it, one live
connection per server that has been used (a stdio child process, or a
streamable-HTTP session). Everything it offers returns a ``concurrent.futures.Future``
so the window never waits on a tool; the command line simply calls ``.result()``.

What can go wrong with a tool, and what the caller gets (a typed ``ToolError``):

- the server does not start or can't be reached: ``ToolServerUnavailable``;
- the call takes longer than ``timeout``: ``ToolTimeout`` (the server is stopped,
  since a hung call holds it, and started again for the next call);
- the server exits or drops the connection mid-call: ``ToolServerExited``;
- it writes something that is not JSON-RPC: ``ToolBadResponse`` (the SDK reports it
  to the message handler, which fails the calls in flight at once instead of letting
  them hang until the timeout);
- it returns more than ``max_chars`` of text: ``ToolResultTooLarge``.

A tool that reports its own failure (``isError``) is not an exception: its text comes
back as an error result for the model to read. Stop cancels the call's future, which
ends the call and stops the server that was running it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from app.core.errors import (
    ToolBadResponse,
    ToolError,
    ToolResultTooLarge,
    ToolServerExited,
    ToolServerUnavailable,
    ToolTimeout,
    UnknownTool,
)
from app.core.tools import DEFAULT_TIMEOUT, MAX_RESULT_CHARS, McpServerConfig, ToolOutcome, ToolSpec

T = TypeVar("T")
START_TIMEOUT = 30.0  # seconds for a server to start and list its tools


@dataclass(eq=False)
class _Connection:
    config: McpServerConfig
    client: Any = None
    ready: asyncio.Future[None] | None = None
    close: asyncio.Event = field(default_factory=asyncio.Event)
    broken: asyncio.Event = field(default_factory=asyncio.Event)
    broken_reason: str = ""
    task: asyncio.Task[None] | None = None
    tools: list[ToolSpec] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return (self.task is not None and not self.task.done() and not self.broken.is_set()
                and not self.close.is_set())


class McpHost:
    """The tool servers of one Inkling process, and the calls to them."""

    def __init__(self, servers: list[McpServerConfig] | None = None, *, timeout: float = DEFAULT_TIMEOUT,
                 max_chars: int = MAX_RESULT_CHARS) -> None:
        self.timeout = timeout
        self.max_chars = max_chars
        self._configs: dict[str, McpServerConfig] = {s.name: s for s in servers or []}
        # the SDK logs a traceback for every line a server writes that is not JSON; the card says it once
        logging.getLogger("mcp.client.stdio").setLevel(logging.CRITICAL)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="inkling-mcp", daemon=True)
        self._thread.start()
        self._conns: dict[str, _Connection] = {}
        self._owner: dict[str, str] = {}  # tool name -> server name, from the last listings
        self.problems: dict[str, str] = {}  # server name -> why it did not start, at the last listing

    # -- what callers use ----------------------------------------------------------------

    @property
    def servers(self) -> list[McpServerConfig]:
        return list(self._configs.values())

    def set_servers(self, servers: list[McpServerConfig]) -> None:
        """The servers to offer from now on; connections to removed or changed ones are closed."""
        new = {s.name: s for s in servers}
        for name, old in list(self._configs.items()):
            if new.get(name) != old:
                self._submit(self._drop(name))
        self._configs = new

    def tools_async(self, names: list[str] | None = None) -> Future[list[ToolSpec]]:
        """Every tool of these servers (default: all that are not disabled), starting them as needed."""
        wanted = [n for n in (names if names is not None else
                              [s.name for s in self._configs.values() if not s.disabled]) if n in self._configs]
        return self._submit(self._tools(wanted))

    def test_async(self, name: str) -> Future[list[ToolSpec]]:
        """Start (again) one server and list its tools: the Tools tab's Test."""
        return self._submit(self._test(name))

    def call_async(self, tool: str, arguments: dict[str, Any]) -> Future[ToolOutcome]:
        """Run one tool; ``cancel()`` on the future stops it (and the server running it)."""
        return self._submit(self._call(tool, arguments))

    def close(self) -> None:
        """Stop every server and the thread (at quit)."""
        if self._loop.is_closed():
            return
        with contextlib.suppress(Exception):
            self._submit(self._close_all()).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    # -- on the host's thread ------------------------------------------------------------

    def _submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def _tools(self, names: list[str]) -> list[ToolSpec]:
        """The tools of the servers that start; one that fails is left out (``problems`` says why)."""
        specs: list[ToolSpec] = []
        failures: list[ToolError] = []
        for name in names:
            try:
                conn = await self._connection(name)
            except ToolError as exc:
                self.problems[name] = str(exc)
                failures.append(exc)
                continue
            self.problems.pop(name, None)
            specs.extend(conn.tools)
        if failures and len(failures) == len(names):
            raise failures[0]
        return specs

    async def _test(self, name: str) -> list[ToolSpec]:
        await self._drop(name)
        return (await self._connection(name)).tools

    async def _connection(self, name: str) -> _Connection:
        conn = self._conns.get(name)
        if conn is not None and conn.alive:
            assert conn.ready is not None
            await asyncio.shield(conn.ready)
            return conn
        config = self._configs.get(name)
        if config is None:
            raise ToolServerUnavailable(name, "there is no such server")
        conn = _Connection(config, ready=self._loop.create_future())
        self._conns[name] = conn
        conn.task = asyncio.create_task(self._serve(conn), name=f"mcp-{name}")
        assert conn.ready is not None
        try:
            await asyncio.wait_for(asyncio.shield(conn.ready), START_TIMEOUT)
        except TimeoutError:
            conn.close.set()
            raise ToolServerUnavailable(name, f"it did not answer within {START_TIMEOUT:g} s") from None
        for spec in conn.tools:
            self._owner.setdefault(spec.name, name)
        return conn

    async def _serve(self, conn: _Connection) -> None:
        """Hold one server's connection open until it is closed (the SDK wants one task to enter and leave it)."""
        from mcp import Client
        from mcp.client.stdio import StdioServerParameters

        config = conn.config
        assert conn.ready is not None

        async def on_message(message: Any) -> None:
            if isinstance(message, Exception):  # a line that is not JSON-RPC: fail what is in flight now
                conn.broken_reason = " ".join(str(message).split())[:300]
                conn.broken.set()

        target: Any
        if config.url:
            target = config.url
            if config.headers:
                import httpx2
                from mcp.client.streamable_http import streamable_http_client

                target = _HttpTarget(config.url, dict(config.headers), httpx2, streamable_http_client)
        else:
            target = StdioServerParameters(command=config.command, args=list(config.args),
                                           env=dict(config.env) or None, cwd=config.cwd or None)
        try:
            async with Client(target.transport() if isinstance(target, _HttpTarget) else target,
                              message_handler=on_message) as client:
                conn.client = client
                listed = await client.list_tools()
                conn.tools = [ToolSpec(config.name, t.name, t.description or "", dict(t.input_schema or {}))
                              for t in listed.tools]
                conn.ready.set_result(None)
                await conn.close.wait()
        except Exception as exc:
            if not conn.ready.done():
                conn.ready.set_exception(ToolServerUnavailable(config.name, _reason(exc)))
        finally:
            if not conn.ready.done():
                conn.ready.set_exception(ToolServerUnavailable(config.name, "it stopped while starting"))
            conn.broken.set()

    async def _call(self, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        server = self._owner.get(tool)
        if server is None or server not in self._configs:
            await self._tools([s.name for s in self._configs.values() if not s.disabled])
            server = self._owner.get(tool)
        if server is None:
            raise UnknownTool(tool)
        conn = await self._connection(server)
        call = asyncio.create_task(conn.client.call_tool(tool, arguments))
        broken = asyncio.create_task(conn.broken.wait())
        try:
            done, _ = await asyncio.wait({call, broken}, timeout=self.timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # Stop: end the call and the server that runs it
            call.cancel()
            self._retire(conn)
            raise
        finally:
            broken.cancel()
        if call in done:
            try:
                result = call.result()
            except ToolError:
                raise
            except Exception as exc:
                self._retire(conn)
                if conn.broken_reason:
                    raise ToolBadResponse(tool, conn.broken_reason) from None
                raise ToolServerExited(tool, _reason(exc)) from None
            return self._outcome(tool, result)
        call.cancel()
        self._retire(conn)  # a hung or confused server is stopped; the next call starts it again
        if broken in done:
            if conn.broken_reason:
                raise ToolBadResponse(tool, conn.broken_reason)
            raise ToolServerExited(tool)
        raise ToolTimeout(tool, self.timeout)

    def _outcome(self, tool: str, result: Any) -> ToolOutcome:
        pieces: list[str] = []
        for block in result.content or []:
            kind = getattr(block, "type", "")
            if kind == "text":
                pieces.append(str(block.text))
            elif kind in ("image", "audio"):
                pieces.append(f"[{kind}: {getattr(block, 'mime_type', '') or 'data'} not shown]")
            elif kind == "resource_link":
                pieces.append(f"[link: {getattr(block, 'uri', '')}]")
            else:
                pieces.append(f"[{kind or 'content'} not shown]")
        text = "\n".join(pieces)
        if not text and result.structured_content is not None:
            import json

            text = json.dumps(result.structured_content, ensure_ascii=False)
        if len(text) > self.max_chars:
            raise ToolResultTooLarge(tool, len(text.encode("utf-8", errors="replace")), self.max_chars)
        return ToolOutcome(text, bool(result.is_error))

    def _retire(self, conn: _Connection) -> None:
        """Stop this connection's server; the next call to it starts a new one."""
        conn.close.set()
        if self._conns.get(conn.config.name) is conn:
            del self._conns[conn.config.name]

    async def _drop(self, name: str) -> None:
        conn = self._conns.pop(name, None)
        if conn is not None:
            conn.close.set()
        for tool in [t for t, s in self._owner.items() if s == name]:
            del self._owner[tool]

    async def _close_all(self) -> None:
        conns = list(self._conns.values())
        self._conns.clear()
        for conn in conns:
            conn.close.set()
        tasks = [c.task for c in conns if c.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=8)


@dataclass
class _HttpTarget:
    """A streamable-HTTP server that needs headers (an API key): the SDK's transport over an httpx2 client."""

    url: str
    headers: dict[str, str]
    httpx2: Any
    factory: Any

    def transport(self) -> Any:
        return _HeaderTransport(self)


class _HeaderTransport:
    def __init__(self, target: _HttpTarget) -> None:
        self.target = target
        self._client: Any = None
        self._cm: Any = None

    async def __aenter__(self) -> Any:
        self._client = self.target.httpx2.AsyncClient(headers=self.target.headers)
        self._cm = self.target.factory(self.target.url, http_client=self._client)
        return await self._cm.__aenter__()

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self._cm.__aexit__(*exc)
        finally:
            await self._client.aclose()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        inner = exc.exceptions[0] if exc.exceptions else exc
        return _reason(inner)
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
