"""The engine process's main loop: read a request, run it, send events back.

Requests are dicts ``{"id", "op", ...}``; events are tuples ``(kind, id, payload)``
with kind one of ``started`` (the request was taken: sent before anything runs, so
the client knows which requests never started), ``token``, ``done``, ``result``,
``error``. Expected failures travel
as typed InklingError objects; anything else becomes an EngineError with its text.
The first event of a new engine is ``ready`` with its pid and the CPU variant it
chose (backends.CpuChoice), sent once it reads requests.

Test seam: ``INKLING_FAULT_ON_COMPUTE=segv`` (or ``ill``, ``bus``) makes the engine
kill itself with that signal at the first compute after each load, as llama.cpp's
AMX code does on some CPUs; ``segv:zen4,haswell`` only when the chosen CPU variant
(see backends.FAKE_VARIANTS_ENV) or the loaded model's file name is one of those.
Nothing else reads it.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from app.core.errors import EngineError, InklingError

COMPUTE_OPS = frozenset({"chat", "complete", "score", "peek"})  # requests that run the model's graph
FAULT_ENV = "INKLING_FAULT_ON_COMPUTE"
_FAULTS = {"segv": signal.SIGSEGV, "ill": signal.SIGILL, "bus": signal.SIGBUS}


def _fault_if_asked(variant: str, model: str) -> None:
    """The test seam: die of a native signal here, at a first compute, when INKLING_FAULT_ON_COMPUTE says so."""
    spec = os.environ.get(FAULT_ENV, "")
    if not spec:
        return
    kind, _, only = spec.partition(":")
    if kind in _FAULTS and (not only or {variant, os.path.basename(model)} & set(only.split(","))):
        os.kill(os.getpid(), _FAULTS[kind])


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


def engine_main(conn: Any, cancel_flag: Any, log_path: str | None, skip: tuple[str, ...] = ()) -> None:
    """Entry point of the engine process (spawned, so it works the same everywhere).

    ``skip`` names CPU variants the client saw crash (besides those in the data folder's marks).
    """
    # ggml's backtrace helper can hang under gdb instead of dying (FACTS.md)
    os.environ["GGML_NO_BACKTRACE"] = "1"
    _redirect_output(log_path)
    # now, so the first load is fast, and before numpy (runtime imports it): with a CUDA
    # build, numpy's OpenBLAS mapped first made the next model load crash
    import llama_cpp  # noqa: F401

    from app.engine.backends import ensure_backends
    from app.engine.runtime import LlamaRuntime

    try:
        choice = ensure_backends(tuple(skip))  # a portable build loads its CPU variant now, so the client knows it
    except Exception:  # said as a typed error by the first load, which tries again; the engine must start
        choice = None
    runtime = LlamaRuntime(cancel_flag)
    conn.send(("ready", 0, {"pid": os.getpid(), "cpu": choice}))
    computed = True  # no model yet: nothing to compute for the first time
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            break
        rid = request["id"]
        op = request["op"]
        conn.send(("started", rid, None))
        runtime.log.begin()
        if op in COMPUTE_OPS and not computed:
            computed = True
            _fault_if_asked(choice.variant if choice else "", runtime.info.path if runtime.info is not None else "")
        try:
            if op == "load":
                computed = False
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
                                                      continue_last=r.get("continue_last", False),
                                                      tools=r.get("tools"))))
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
    elif op == "adapter":  # switch the LoRA on the loaded model (no reload)
        conn.send(("result", rid, runtime.set_adapter(r["path"], r["scale"])))
    elif op == "tokenize":
        conn.send(("result", rid, runtime.token_pieces(r["text"])))
    else:
        raise EngineError(f"unknown engine request {op!r}")
