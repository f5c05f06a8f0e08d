"""The GUI-side handle on the engine process.

``EngineClient`` spawns the engine (multiprocessing, spawn), sends requests through
a sender thread and turns the engine's events into results on a reader thread, so
no caller ever blocks on a pipe. It owns three guarantees:

- **Stop is instant.** ``cancel()`` sets a shared flag that the engine checks
  between tokens and that llama.cpp's abort callback checks inside a prompt. If
  the engine has not finished within ``CANCEL_GRACE`` seconds it is killed, the
  stream ends as "cancelled", and the next request respawns it.
- **A crash is an error, never a dead window.** If the engine dies, every waiting
  caller gets ``EngineCrashed`` with a message a person can act on, and the next
  request starts a new engine and reloads the model.
- **One stream at a time.** Starting a stream cancels the one running.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import multiprocessing as mp
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import EngineCrashed, InklingError, NoModelLoaded
from app.core.events import Finished, LoadOptions, ModelInfo, ScoreResult, Timings, TokenEvent
from app.core.sampling import SamplingSettings

CANCEL_GRACE = 0.8  # seconds the engine gets to stop by itself before it is killed
StreamEvent = TokenEvent | Finished | InklingError
Listener = Callable[[StreamEvent], None]


class Stream:
    """A streamed reply: iterate for TokenEvents, or pass ``listener`` to get them pushed.

    The final event is a ``Finished`` (also kept in ``finished``); a failure is
    raised by iteration, or delivered to the listener as an InklingError.
    """

    def __init__(self, client: EngineClient, listener: Listener | None) -> None:
        self._client = client
        self._listener = listener
        self._queue: queue.SimpleQueue[StreamEvent] = queue.SimpleQueue()
        self._text: list[str] = []
        self._done = threading.Event()
        self.finished: Finished | None = None
        self.error: InklingError | None = None
        self.cancel_requested = False

    # called on the client's threads
    def _deliver(self, event: StreamEvent) -> None:
        if self._done.is_set():
            return
        if isinstance(event, TokenEvent):
            self._text.append(event.text)
        elif isinstance(event, Finished):
            self.finished = event
            self._done.set()
        else:
            self.error = event
            self._done.set()
        if self._listener is not None:
            self._listener(event)
        else:
            self._queue.put(event)

    def _cancelled_locally(self) -> None:
        self._deliver(Finished("cancelled", "".join(self._text), Timings()))

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def text(self) -> str:
        return "".join(self._text)

    def cancel(self) -> None:
        self._client.cancel_stream(self)

    def wait(self, timeout: float | None = None) -> Finished:
        """Consume the stream and return its Finished event (raises its error)."""
        if self._listener is None:
            for _ in self:
                pass
        elif not self._done.wait(timeout):
            raise TimeoutError("the stream did not finish in time")
        if self.error is not None:
            raise self.error
        assert self.finished is not None
        return self.finished

    def __iter__(self) -> Any:
        while True:
            event = self._queue.get()
            if isinstance(event, TokenEvent):
                yield event
            elif isinstance(event, Finished):
                return
            else:
                raise event


@dataclass
class _Request:
    op: str
    args: dict[str, Any]
    id: int
    future: Future[Any] | None = None
    stream: Stream | None = None
    sent: bool = False


class EngineClient:
    """Talks to one engine process; restarts it after a crash. Thread-safe."""

    def __init__(self, log_path: Path | None = None) -> None:
        self._mp = mp.get_context("spawn")
        self._flag = self._mp.RawArray(ctypes.c_char, 2)
        self._log_path = str(log_path) if log_path else None
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._outbox: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._pending: dict[int, _Request] = {}
        self._proc: Any = None
        self._conn: Any = None
        self._ready = threading.Event()
        self._active: _Request | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._killed_on_purpose = False
        self._wanted: tuple[str, LoadOptions] | None = None  # the model to (re)load
        self._engine_has_model = False
        self.info: ModelInfo | None = None
        self.crashes = 0
        self._closed = False
        self._sender = threading.Thread(target=self._send_loop, name="inkling-engine-sender", daemon=True)
        self._sender.start()

    # -- process ---------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.is_alive() else None

    def start(self) -> None:
        """Start the engine process now (it also starts on the first request)."""
        with self._lock:
            if self._proc is None or not self._proc.is_alive():
                self._spawn()

    def _spawn(self) -> None:
        from app.engine.worker import engine_main

        parent, child = self._mp.Pipe()
        self._ready.clear()
        self._flag[0] = b"\x00"
        proc = self._mp.Process(target=engine_main, args=(child, self._flag, self._log_path),
                                name="inkling-engine", daemon=True)
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        self._engine_has_model = False
        self._killed_on_purpose = False
        threading.Thread(target=self._read_loop, args=(proc, parent), name="inkling-engine-reader", daemon=True).start()

    def close(self) -> None:
        """Shut the engine down (politely, then by force)."""
        with self._lock:
            self._closed = True
            proc, conn = self._proc, self._conn
        self._outbox.put(None)
        if proc is not None and proc.is_alive():
            with contextlib.suppress(OSError):
                conn.send({"id": 0, "op": "shutdown"})
            proc.join(2.0)
            if proc.is_alive():
                self._killed_on_purpose = True
                proc.kill()
                proc.join(2.0)

    # -- public API ------------------------------------------------------------

    def load(self, path: str | Path, options: LoadOptions | None = None) -> ModelInfo:
        """Load a model (blocking; call from a background job). Raises a typed error."""
        return self.load_async(path, options).result()

    def load_async(self, path: str | Path, options: LoadOptions | None = None) -> Future[ModelInfo]:
        opts = options or LoadOptions()
        fut = self._call("load", path=str(path), options=opts)
        fut.add_done_callback(lambda f: self._on_loaded(f, str(path), opts))
        return fut

    def _on_loaded(self, fut: Future[Any], path: str, opts: LoadOptions) -> None:
        with self._lock:
            if fut.exception() is None:
                self._wanted = (path, opts)
                self.info = fut.result()
            else:
                self._wanted = None
                self.info = None

    def unload(self) -> None:
        with self._lock:
            self._wanted = None
            self.info = None
        self._call("unload").result()

    def chat(self, messages: list[dict[str, str]], sampling: SamplingSettings | None = None, *,
             alternatives: int = 0, listener: Listener | None = None, continue_last: bool = False) -> Stream:
        """Stream a reply; ``continue_last`` extends the last (assistant) message instead."""
        return self._stream("chat", listener, messages=list(messages), sampling=sampling or SamplingSettings(),
                            alternatives=alternatives, continue_last=continue_last)

    def complete(self, prompt: str, sampling: SamplingSettings | None = None, *,
                 alternatives: int = 0, listener: Listener | None = None, suffix: str = "") -> Stream:
        """Stream a continuation of ``prompt``; with ``suffix``, fill in between where the model can."""
        return self._stream("complete", listener, prompt=prompt, sampling=sampling or SamplingSettings(),
                            alternatives=alternatives, suffix=suffix)

    def score(self, text: str, top: int = 1) -> ScoreResult:
        return self._call("score", text=text, top=top).result()

    def score_async(self, text: str, top: int = 1) -> Future[ScoreResult]:
        return self._call("score", text=text, top=top)

    def peek_async(self, messages: list[dict[str, str]] | None = None, prompt: str | None = None,
                   top: int = 64) -> Future[Any]:
        """The likeliest next tokens for a chat or a text: ([(text, id, logit)], log-normaliser)."""
        return self._call("peek", messages=messages, prompt=prompt, top=top)

    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        return self._call("count_chat", messages=list(messages)).result()

    def count_text_async(self, text: str) -> Future[int]:
        return self._call("count_text", text=text)

    def tokenize(self, text: str) -> list[tuple[int, str]]:
        return self._call("tokenize", text=text).result()

    def cancel(self) -> None:
        """Stop whatever stream is running (no-op when none is)."""
        with self._lock:
            active = self._active
        if active is not None and active.stream is not None:
            self.cancel_stream(active.stream)

    def cancel_stream(self, stream: Stream) -> None:
        with self._lock:
            if stream.done or stream.cancel_requested:
                return
            stream.cancel_requested = True
            req = next((r for r in self._pending.values() if r.stream is stream), None)
            if req is None or not req.sent:
                return  # still queued: the sender will finish it as cancelled
            self._flag[0] = b"\x01"
        timer = threading.Timer(CANCEL_GRACE, self._kill_if_still_running, args=(req,))
        timer.daemon = True
        timer.start()

    # -- plumbing --------------------------------------------------------------

    def _call(self, op: str, **args: Any) -> Future[Any]:
        req = _Request(op, args, next(self._ids), future=Future())
        self._enqueue(req)
        assert req.future is not None
        return req.future

    def _stream(self, op: str, listener: Listener | None, **args: Any) -> Stream:
        stream = Stream(self, listener)
        req = _Request(op, args, next(self._ids), stream=stream)
        self.cancel()  # one stream at a time: a new one replaces the running one
        self._enqueue(req)
        return stream

    def _enqueue(self, req: _Request) -> None:
        with self._lock:
            if self._closed:
                raise EngineCrashed("The engine has been shut down.")
            self._pending[req.id] = req
        self._outbox.put(req)

    def _send_loop(self) -> None:
        while True:
            req = self._outbox.get()
            if req is None:
                return
            self._idle.wait()  # a stream still running finishes (or is killed) first
            try:
                self._send(req)
            except InklingError as exc:
                self._fail(req, exc)

    def _send(self, req: _Request) -> None:
        if req.stream is not None and req.stream.cancel_requested:
            with self._lock:
                self._pending.pop(req.id, None)
            req.stream._cancelled_locally()
            return
        self._ensure_engine(req.op)
        with self._lock:
            self._flag[0] = b"\x00"
            req.sent = True
            if req.stream is not None:
                self._active = req
                self._idle.clear()
            conn = self._conn
        try:
            conn.send({"id": req.id, "op": req.op, **req.args})
        except OSError:
            pass  # the reader sees the dead pipe and reports the crash

    def _ensure_engine(self, op: str) -> None:
        """Start the engine if needed and reload the model it had before a crash."""
        with self._lock:
            if self._proc is None or not self._proc.is_alive():
                self._spawn()
            wanted, has_model = self._wanted, self._engine_has_model
        if op in ("load", "unload") or has_model:
            return
        if wanted is None:
            raise NoModelLoaded()
        reload = _Request("load", {"path": wanted[0], "options": wanted[1]}, next(self._ids), future=Future())
        with self._lock:
            self._pending[reload.id] = reload
            reload.sent = True
            conn = self._conn
        with contextlib.suppress(OSError):
            conn.send({"id": reload.id, "op": "load", **reload.args})
        assert reload.future is not None
        self.info = reload.future.result()  # raises EngineCrashed or the load error

    def _fail(self, req: _Request, exc: InklingError) -> None:
        with self._lock:
            self._pending.pop(req.id, None)
            if self._active is req:
                self._active = None
                self._idle.set()
        if req.future is not None and not req.future.done():
            req.future.set_exception(exc)
        if req.stream is not None:
            req.stream._deliver(exc)

    def _finish_stream(self, req: _Request, event: Finished | InklingError) -> None:
        with self._lock:
            self._pending.pop(req.id, None)
            if self._active is req:
                self._active = None
                self._idle.set()
        assert req.stream is not None
        req.stream._deliver(event)

    def _kill_if_still_running(self, req: _Request) -> None:
        with self._lock:
            if req.id not in self._pending or self._proc is None:
                return
            self._killed_on_purpose = True
            proc = self._proc
        proc.kill()  # the reader thread notices and ends the stream as "cancelled"

    def _read_loop(self, proc: Any, conn: Any) -> None:
        while True:
            try:
                kind, rid, payload = conn.recv()
            except (EOFError, OSError):
                break
            except Exception:
                break
            if kind == "ready":
                self._ready.set()
                continue
            with self._lock:
                req = self._pending.get(rid)
            if req is None:
                continue
            if kind == "token":
                if req.stream is not None:
                    req.stream._deliver(payload)
            elif kind == "done":
                self._finish_stream(req, payload)
            elif kind == "result":
                with self._lock:
                    self._pending.pop(rid, None)
                    if req.op == "load":
                        self._engine_has_model = True
                    elif req.op == "unload":
                        self._engine_has_model = False
                if req.future is not None:
                    req.future.set_result(payload)
            elif kind == "error":
                if req.stream is not None:
                    self._finish_stream(req, payload)
                else:
                    with self._lock:
                        self._pending.pop(rid, None)
                        if req.op == "load":
                            self._engine_has_model = False
                    if req.future is not None:
                        req.future.set_exception(payload)
        self._on_engine_died(proc)

    def _on_engine_died(self, proc: Any) -> None:
        proc.join(1.0)
        code = proc.exitcode
        with self._lock:
            if self._proc is not proc:
                return
            on_purpose = self._killed_on_purpose
            pending = list(self._pending.values())
            self._pending.clear()
            self._active = None
            self._idle.set()
            self._engine_has_model = False
            loading = next((r for r in pending if r.op == "load"), None)
            if loading is not None and not on_purpose:
                self._wanted = None  # don't reload a model that crashes the engine
                self.info = None
            if not on_purpose and not self._closed:
                self.crashes += 1
        for req in pending:
            if req.stream is not None and (on_purpose or req.stream.cancel_requested):
                req.stream._cancelled_locally()
                continue
            exc = EngineCrashed(self._crash_message(req, code))
            if req.future is not None and not req.future.done():
                req.future.set_exception(exc)
            if req.stream is not None:
                req.stream._deliver(exc)

    def _crash_message(self, req: _Request, code: int | None) -> str:
        how = {-9: "it was killed (signal 9; out of memory?)", -6: "llama.cpp aborted (signal 6)",
               -11: "it crashed (segmentation fault)"}.get(code or 0, f"exit code {code}")
        detail = self._last_log_error()
        detail = f" llama.cpp said: {detail}" if detail else ""
        if req.op == "load":
            path = req.args.get("path", "the model")
            return (f"The engine crashed while loading {path}: {how}.{detail} The file may be damaged "
                    "or need a newer llama.cpp. Choose another model.")
        return (f"The model engine stopped unexpectedly: {how}.{detail} Your text is safe; "
                "the next request restarts the engine and reloads the model.")

    def _last_log_error(self) -> str:
        if not self._log_path:
            return ""
        try:
            with open(self._log_path, "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - 4096))
                lines = f.read().decode("utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        for line in reversed(lines):
            if "GGML_ASSERT" in line or "error" in line.lower():
                return line.strip()[:300]
        return ""
