"""Run the training job in a child process of its own (spawn), with the job shape of ``app/engine/jobs.py``.

The job gets ``ctx`` with ``progress(done, total, message)``, ``should_stop()`` and
``wait_if_paused()``; the parent gets each progress (the message is JSON: a step, an epoch)
on a reader thread, and the record or the typed error at the end. A native crash or a kill
costs the job only; starting it again with the same work folder resumes from its checkpoint.
"""

from __future__ import annotations

import ctypes
import importlib
import multiprocessing as mp
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from app.core.errors import InklingError, Interrupted, TrainingError

_STOP = b"\x01"


class _Context:
    def __init__(self, conn: Any, flag: Any, running: Any) -> None:
        self._conn, self._flag, self._running = conn, flag, running

    def progress(self, done: int, total: int, message: str = "") -> None:
        self._conn.send(("progress", (int(done), int(total), message)))

    def should_stop(self) -> bool:
        return self._flag[0] == _STOP

    def wait_if_paused(self) -> None:
        while not self._running.wait(0.2):
            if self.should_stop():
                return


def _main(conn: Any, target: str, args: dict[str, Any], flag: Any, running: Any) -> None:
    module, _, name = target.partition(":")
    try:
        value = getattr(importlib.import_module(module), name)(args, _Context(conn, flag, running))
        conn.send(("result", value))
    except InklingError as exc:
        conn.send(("error", exc))
    except BaseException as exc:
        traceback.print_exc()
        conn.send(("error", TrainingError(f"Training failed: {type(exc).__name__}: {exc}")))


class JobProcess:
    """One job in a spawned process. ``result()`` waits; ``cancel()`` asks it to stop at the next step."""

    def __init__(self, target: str, args: dict[str, Any],
                 on_progress: Callable[[int, int, str], None] | None = None) -> None:
        ctx = mp.get_context("spawn")
        self._flag = ctx.RawArray(ctypes.c_char, 2)
        self._running = ctx.Event()
        self._running.set()
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_main, args=(child, target, args, self._flag, self._running),
                                name="inkling-train", daemon=True)
        self.proc.start()
        child.close()
        self._future: Future[Any] = Future()
        self._on_progress = on_progress
        threading.Thread(target=self._read, args=(parent,), name="inkling-train-reader", daemon=True).start()

    def _read(self, conn: Any) -> None:
        while True:
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):
                self.proc.join(5)
                if not self._future.done():
                    code = self.proc.exitcode
                    how = "was stopped" if self._flag[0] == _STOP else f"ended unexpectedly (exit code {code})"
                    self._future.set_exception(TrainingError(
                        f"The training process {how}. Start it again to resume from its last checkpoint."))
                return
            if kind == "progress" and self._on_progress is not None:
                self._on_progress(*payload)
            elif kind == "result":
                self._future.set_result(payload)
            elif kind == "error":
                self._future.set_exception(payload)

    def result(self, timeout: float | None = None) -> Any:
        return self._future.result(timeout)

    @property
    def pid(self) -> int | None:
        return self.proc.pid

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cancel(self) -> None:
        self._flag[0] = _STOP
        self._running.set()


def is_cancel(exc: BaseException) -> bool:
    return isinstance(exc, Interrupted)
