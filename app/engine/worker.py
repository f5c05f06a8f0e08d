"""The engine process's main loop: read a request, run it, send events back.

Requests are dicts ``{"id", "op", ...}``; events are tuples ``(kind, id, payload)``
with kind one of ``started`` (the request was taken: sent before anything runs, so
the client knows which requests never started), ``token``, ``done``, ``result``,
``error``. Expected failures travel
as typed InklingError objects; anything else becomes an EngineError with its text.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from app.core.errors import EngineError, InklingError


def _redirect_output(log_path: str | None) -> None:
    """Send llama.cpp's C-level logging (and any abort message) to the engine log."""
    if not log_path:
        return
    try:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def engine_main(conn: Any, cancel_flag: Any, log_path: str | None) -> None:
    """Entry point of the engine process (spawned, so it works the same everywhere)."""
    # ggml's backtrace helper can hang under gdb instead of dying (FACTS.md)
    os.environ["GGML_NO_BACKTRACE"] = "1"
    _redirect_output(log_path)
    # now, so the first load is fast, and before numpy (runtime imports it): with a CUDA
    # build, numpy's OpenBLAS mapped first made the next model load crash
    import llama_cpp  # noqa: F401

    from app.engine.runtime import LlamaRuntime

    runtime = LlamaRuntime(cancel_flag)
    conn.send(("ready", 0, os.getpid()))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            break
        rid = request["id"]
        op = request["op"]
        conn.send(("started", rid, None))
        runtime.log.begin()
        try:
            if op == "shutdown":
                runtime.unload()
                conn.send(("result", rid, None))
                break
            _handle(runtime, conn, rid, op, request)
        except InklingError as exc:
            conn.send(("error", rid, exc))
        except Exception as exc:
            conn.send(("error", rid, EngineError(f"{type(exc).__name__}: {exc}")))


def _handle(runtime: Any, conn: Any, rid: int, op: str, r: dict[str, Any]) -> None:
    def emit(event: Any) -> None:
        conn.send(("token", rid, event))

    if op == "ping":
        conn.send(("result", rid, os.getpid()))
    elif op == "load":
        conn.send(("result", rid, runtime.load(r["path"], r["options"])))
    elif op == "unload":
        runtime.unload()
        conn.send(("result", rid, None))
    elif op == "chat":
        conn.send(("done", rid, runtime.chat(r["messages"], r["sampling"], r["alternatives"], emit,
                                                      continue_last=r.get("continue_last", False))))
    elif op == "complete":
        conn.send(("done", rid, runtime.complete(r["prompt"], r["sampling"], r["alternatives"], emit,
                                                          suffix=r.get("suffix", ""), memory=r.get("memory", ""),
                                                          sequences=r.get("sequences", 1))))
    elif op == "score":
        conn.send(("result", rid, runtime.score(r["text"], r["top"])))
    elif op == "peek":
        conn.send(("result", rid, runtime.peek(r.get("messages"), r.get("prompt"), r["top"])))
    elif op == "count_chat":
        conn.send(("result", rid, runtime.count_chat_tokens(r["messages"])))
    elif op == "count_text":
        conn.send(("result", rid, runtime.count_text_tokens(r["text"])))
    elif op == "last_prompt":  # what the model saw last time, as text (for tests and the log)
        conn.send(("result", rid, runtime.last_prompt_text()))
    elif op == "tokenize":
        conn.send(("result", rid, runtime.token_pieces(r["text"])))
    else:
        raise EngineError(f"unknown engine request {op!r}")
