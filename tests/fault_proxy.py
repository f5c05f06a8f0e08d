"""A small fault-injecting HTTP proxy on 127.0.0.1 in front of the real test server.

It forwards requests to the server and, depending on ``mode``, breaks the reply
the way real networks and servers do:

- ``pass``: forward faithfully (the fault is gone)
- ``die``: forward ``after`` SSE events, then drop the connection (a server dying mid-stream)
- ``garbage``: forward ``after`` events, then send a line that is not JSON
- ``stall``: forward ``after`` events, then send nothing while keeping the connection open
- ``slow``: send nothing at all (no status line) for ``delay`` seconds, then forward
- ``status``: answer every generation request with ``status``/``body``/``headers`` (401, 404, 429, 5xx)

and with ``no_completions`` it plays a chat-only server (404 for ``/v1/completions``).
With ``reasoning_first`` = N it plays a thinking model's server (llama-server's
``--reasoning-format auto``, vLLM): the first N pieces of text of a streamed chat
go out as ``delta.<reasoning_key>`` (``reasoning_content``) instead of ``delta.content``.

Only POST requests to ``/v1/*completions`` are broken; model lists and probes pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from typing import Any

import httpx


class FaultProxy:
    """Runs on its own asyncio loop in a thread; change ``mode`` and friends between requests."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")  # http://127.0.0.1:PORT (no /v1)
        self.mode = "pass"
        self.after = 3
        self.delay = 5.0
        self.status = 500
        self.body = b'{"error": {"message": "boom"}}'
        self.headers: dict[str, str] = {}
        self.upstream_closed = threading.Event()
        self.no_completions = False  # answer /v1/completions with 404, like a chat-only server
        self.inflight = 0  # requests being answered (changed on the proxy's loop only)
        self.reasoning_first = 0  # the first N text deltas of a chat become reasoning deltas
        self.reasoning_key = "reasoning_content"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self.port = 0
        self._thread.start()
        self._ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(None))
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, httpx.HTTPError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                keep = await self._answer(method, path, headers, body, reader, writer)
                if not keep:
                    return
        with contextlib.suppress(Exception):
            writer.close()

    async def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes,
                      reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        self.inflight += 1
        try:
            return await self._answer_one(method, path, headers, body, reader, writer)
        finally:
            self.inflight -= 1

    async def _answer_one(self, method: str, path: str, headers: dict[str, str], body: bytes,
                          reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        breakable = method == "POST" and path.endswith("completions")
        mode = self.mode if breakable else "pass"
        if mode == "status":
            extra = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
            writer.write(f"HTTP/1.1 {self.status} Fault\r\nContent-Type: application/json\r\n{extra}"
                         f"Content-Length: {len(self.body)}\r\n\r\n".encode() + self.body)
            await writer.drain()
            return True
        if self.no_completions and method == "POST" and path.endswith("/v1/completions"):
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n"
                         b'{"detail":"Not Found"}')
            await writer.drain()
            return True
        if mode == "slow":
            await asyncio.sleep(self.delay)
        forward = {k: v for k, v in headers.items() if k in ("authorization", "content-type", "accept")}
        request = self._client.build_request(method, self.upstream + path, headers=forward, content=body)
        response = await self._client.send(request, stream=True)
        try:
            ctype = response.headers.get("content-type", "application/octet-stream")
            writer.write(f"HTTP/1.1 {response.status_code} {response.reason_phrase}\r\nContent-Type: {ctype}\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n".encode())
            events = 0
            texts = 0
            async for line in response.aiter_lines():
                if line.startswith("data:") and breakable and texts < self.reasoning_first:
                    line, turned = self._as_reasoning(line)
                    texts += turned
                if line.startswith("data:"):
                    events += 1
                    if breakable and mode != "pass" and events > self.after:
                        if mode == "die":
                            writer.transport.abort()
                            return False
                        if mode == "garbage":
                            self._chunk(writer, b"data: {this is not json\n\n")
                            await writer.drain()
                        elif mode == "stall":
                            await self._stall(reader)
                            return False
                self._chunk(writer, line.encode() + b"\n")
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return True
        finally:
            await response.aclose()
            self.upstream_closed.set()

    def _as_reasoning(self, line: str) -> tuple[str, bool]:
        """A streamed chat chunk with its ``delta.content`` moved to the reasoning field (and whether it had one)."""
        try:
            chunk = json.loads(line[len("data:"):])
        except ValueError:
            return line, False
        turned = False
        for choice in chunk.get("choices") or [] if isinstance(chunk, dict) else []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                delta[self.reasoning_key] = delta.pop("content")
                choice.pop("logprobs", None)
                turned = True
        return ("data: " + json.dumps(chunk), True) if turned else (line, False)

    @staticmethod
    async def _stall(reader: asyncio.StreamReader) -> None:
        """Hold the connection open, sending nothing, until the client closes it (or 60 s pass)."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.read(1), 60)

    @staticmethod
    def _chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until no request is being answered (a stray one would cut the next test's stream)."""
        deadline = time.monotonic() + timeout
        while self.inflight and time.monotonic() < deadline:
            time.sleep(0.05)

    def reset(self, **changes: Any) -> None:
        self.mode = "pass"
        for k, v in changes.items():
            setattr(self, k, v)
