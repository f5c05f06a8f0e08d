"""Long work that is not a reply (Compare, indexing sources, training) in a child process of its own.

The engine client's lessons, for any job: a spawned process (the same on Windows,
macOS, Linux and in a frozen bundle), so a native crash costs that job only; a
shared stop flag checked by the job (and by llama.cpp's abort callback, when the job
hands ``ctx.stop_flag`` to a ``LlamaRuntime``), then a kill if it has not stopped a
grace period later; a reader thread per job that turns the pipe into events; and
the child's last stderr lines (llama.cpp's abort message, Python's fault trace) in
the crash report.

Use::

    handle = start_job("app.engine.evaluate:perplexity_job", {"path": p, "text": t}, on_event)
    handle.cancel() / handle.pause() / handle.resume() / handle.result()

In the child the target runs as ``fn(args, ctx)``; it calls ``ctx.progress(done,
total, message)`` as it goes, ``ctx.should_stop()`` (return, or raise
``Interrupted``, when it says True) and ``ctx.wait_if_paused()`` at safe points.
Its return value (picklable) is the job's result; an ``InklingError`` it raises
is the job's error as is; anything else becomes a ``JobFailed`` with the last lines
of its traceback. ``on_event`` gets ``JobProgress``, ``JobPaused`` and one final
``JobEnded`` (``app/core/jobs.py``) on the job's reader thread.

Job processes are daemonic: they end with the app, and a job cannot start processes
of its own (run its work in the job's process instead).
"""

from __future__ import annotations

import ctypes
import importlib
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import traceback
from concurrent.futures import Future
from typing import Any

from app.core.errors import InklingError, Interrupted, JobCancelled, JobCrashed, JobFailed
from app.core.jobs import JobEnded, JobEvent, JobListener, JobPaused, JobProgress

CANCEL_GRACE = 2.0  # seconds a cancelled job has to stop on its own before its process is killed
STDERR_TAIL = 4000  # characters of the child's stderr kept for a crash report
_STOP = b"\x01"


class JobContext:
    """What a job's function gets in its child process: progress, the stop flag, the pause gate."""

    def __init__(self, conn: Any, stop_flag: Any, running: Any) -> None:
        self._conn = conn
        self.stop_flag = stop_flag
        """A shared ``RawArray(c_char, 2)``; ``LlamaRuntime(ctx.stop_flag)`` aborts a long decode on cancel."""
        self._running = running

    def progress(self, done: int, total: int, message: str = "") -> None:
        """Tell the parent how far the job is (``done`` of ``total``, in the job's own unit)."""
        self._conn.send(("event", JobProgress(int(done), int(total), message)))

    def should_stop(self) -> bool:
        """True once the job was cancelled: return (or raise ``Interrupted``) soon."""
        return self.stop_flag[0] == _STOP

    def wait_if_paused(self) -> None:
        """At a safe point: while the job is paused, wait here (a cancel ends the wait)."""
        if self._running.is_set() or self.should_stop():
            return
        self._conn.send(("event", JobPaused(True)))
        while not self._running.wait(0.2):
            if self.should_stop():
                break
        self._conn.send(("event", JobPaused(False)))

    def check(self) -> None:
        """``wait_if_paused`` then raise ``Interrupted`` if the job was cancelled: one call per safe point."""
        self.wait_if_paused()
        if self.should_stop():
            raise Interrupted()


def _resolve(target: str) -> Any:
    module, _, name = target.partition(":")
    if not module or not name:
        raise ValueError(f"a job target is 'package.module:function', not {target!r}")
    return getattr(importlib.import_module(module), name)


def _redirect_stderr(path: str) -> None:
    """Native messages (llama.cpp's abort, ggml's asserts) and Python's fault trace go to the job's stderr file."""
    import faulthandler

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    sys.stderr.flush()
    os.dup2(fd, 2)
    os.close(fd)
    faulthandler.enable()  # a SIGSEGV / SIGABRT prints the Python stack to fd 2: the crash report's last words


def _job_main(conn: Any, target: str, args: dict[str, Any], name: str, stop_flag: Any, running: Any,
              stderr_path: str) -> None:
    """Entry point of a job's process."""
    os.environ["GGML_NO_BACKTRACE"] = "1"  # ggml's backtrace helper can hang instead of dying (FACTS.md)
    _redirect_stderr(stderr_path)
    ctx = JobContext(conn, stop_flag, running)
    try:
        value = _resolve(target)(args, ctx)
        message: tuple[Any, ...] = ("result", value)
    except Interrupted:
        message = ("error", JobCancelled(name))
    except InklingError as exc:
        message = ("error", exc)
    except BaseException as exc:  # the job's unexpected failure becomes its typed error
        traceback.print_exc()
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        message = ("error", JobFailed(name, last))
    try:
        conn.send(message)
    except Exception as exc:  # a result that does not pickle
        conn.send(("error", JobFailed(name, f"its result could not be sent back ({exc})")))
    conn.close()


def _tail(path: str) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - STDERR_TAIL))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


class JobHandle:
    """A running job, seen from the parent: cancel, pause, resume, its end (implements ``JobHandlePort``)."""

    def __init__(self, target: str, args: dict[str, Any], on_event: JobListener | None, name: str,
                 grace: float = CANCEL_GRACE) -> None:
        self.name = name or target.rpartition(":")[2]
        self.target = target
        self._on_event = on_event
        self._grace = grace
        self._future: Future[Any] = Future()
        self._paused = False
        self._cancelled = False
        ctx = mp.get_context("spawn")
        self._stop = ctx.RawArray(ctypes.c_char, 2)
        self._running = ctx.Event()
        self._running.set()
        fd, self._stderr_path = tempfile.mkstemp(prefix="inkling-job-", suffix=".log")
        os.close(fd)
        parent, child = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=_job_main, name=f"inkling-job-{self.name}", daemon=True,
                                    args=(child, target, args, self.name, self._stop, self._running,
                                          self._stderr_path))
        self._process.start()
        child.close()  # the parent's copy: the pipe reads EOF when the child is gone
        self._conn = parent
        self._reader = threading.Thread(target=self._read, name=f"inkling-job-reader-{self.name}", daemon=True)
        self._reader.start()

    # -- the port ------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def done(self) -> bool:
        return self._future.done()

    @property
    def paused(self) -> bool:
        return self._paused

    def result(self, timeout: float | None = None) -> Any:
        return self._future.result(timeout)

    def cancel(self) -> None:
        """Set the stop flag (a paused job wakes to see it); kill the process if it lingers past the grace."""
        if self.done or self._cancelled:
            return
        self._cancelled = True
        self._stop[0] = _STOP
        self._running.set()
        timer = threading.Timer(self._grace, self._kill_if_alive)
        timer.daemon = True
        timer.start()

    def pause(self) -> None:
        if not self.done:
            self._paused = True
            self._running.clear()

    def resume(self) -> None:
        self._paused = False
        self._running.set()

    # -- the reader thread ------------------------------------------------------------------

    def _kill_if_alive(self) -> None:
        if self._process.is_alive():
            self._process.kill()

    def _tell(self, event: JobEvent) -> None:
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:  # a listener's bug must not stop the job's bookkeeping
                traceback.print_exc()

    def _read(self) -> None:
        ended: JobEnded | None = None
        while ended is None:
            try:
                kind, payload = self._conn.recv()
            except (EOFError, OSError):
                break
            except Exception as exc:  # a result the parent cannot unpickle
                ended = JobEnded(error=JobFailed(self.name, f"its answer could not be read ({exc})"))
                break
            if kind == "event":
                self._tell(payload)
            elif kind == "result":
                ended = JobEnded(result=payload)
            else:
                ended = JobEnded(error=payload)
        self._process.join(self._grace + 5)
        if ended is None:  # the process died without an answer
            if self._cancelled:
                ended = JobEnded(error=JobCancelled(self.name))
            else:
                ended = JobEnded(error=JobCrashed(self.name, self._process.exitcode, _tail(self._stderr_path)))
        self._conn.close()
        try:
            os.unlink(self._stderr_path)
        except OSError:
            pass
        if ended.error is not None:  # first, so a listener told of the end sees ``done``
            self._future.set_exception(ended.error)
        else:
            self._future.set_result(ended.result)
        self._tell(ended)


def start_job(target: str, args: dict[str, Any], on_event: JobListener | None = None, *, name: str = "",
              grace: float = CANCEL_GRACE) -> JobHandle:
    """Run ``target`` (``"package.module:function"``) as ``fn(args, ctx)`` in a new child process."""
    return JobHandle(target, args, on_event, name, grace)


class JobRunner:
    """The ``JobRunnerPort`` the composition root hands the window."""

    def __init__(self, grace: float = CANCEL_GRACE) -> None:
        self.grace = grace

    def start(self, target: str, args: dict[str, Any], on_event: JobListener | None = None, *,
              name: str = "") -> JobHandle:
        return start_job(target, args, on_event, name=name, grace=self.grace)
