"""The one way to run background work: a callable or a Future, with callbacks on the GUI thread.

Failures go to the error presenter unless the caller handles them; ``Interrupted``
(a user's cancel) is never shown as an error. A job that reports progress (Compare's
bar) gets a ``progress`` function to call from its thread; ``on_progress`` receives
each value on the GUI thread, in order, before the outcome.

Long work in a child process (Compare, indexing, training) goes through ``run_job``:
a ``JobRunnerPort`` starts it, and its ``JobEvent``s (progress, pause, the end) reach
``on_event`` on the GUI thread, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.core.errors import Interrupted
from app.core.jobs import JobEvent
from app.core.ports import JobHandlePort, JobRunnerPort

Success = Callable[[Any], None]
Progress = Callable[[Any], None]
Failure = Callable[[BaseException], None]
_default_failure: Failure | None = None
_live: set[_Relay] = set()


def set_default_failure_handler(handler: Failure) -> None:
    """Where failures go when a job names no handler (the error presenter)."""
    global _default_failure
    _default_failure = handler


class _Relay(QObject):
    """Carries a job's outcome from a worker thread to the GUI thread (queued signals)."""

    succeeded = Signal(object)
    """The job returned a value."""
    failed = Signal(object)
    """The job raised."""
    progressed = Signal(object)
    """The job reported progress (a value of its own kind)."""

    def __init__(self, on_success: Success | None, on_failure: Failure | None, context: QObject | None,
                 on_progress: Progress | None = None) -> None:
        super().__init__()
        self._on_success, self._on_failure, self._on_progress = on_success, on_failure, on_progress
        owner = context or getattr(on_success, "__self__", None)
        self._context = owner if isinstance(owner, QObject) else None
        self.succeeded.connect(self._on_relay_succeeded)
        self.failed.connect(self._on_relay_failed)
        self.progressed.connect(self._on_relay_progressed)
        _live.add(self)

    def _gone(self) -> bool:
        """The widget that asked for this job was closed meanwhile: drop the result."""
        return self._context is not None and not shiboken6.isValid(self._context)

    def _on_relay_succeeded(self, value: Any) -> None:
        _live.discard(self)
        if self._gone():
            return
        if self._on_success is not None:
            self._on_success(value)

    def _on_relay_progressed(self, value: Any) -> None:
        if self._on_progress is not None and not self._gone():
            self._on_progress(value)

    def _on_relay_failed(self, exc: BaseException) -> None:
        _live.discard(self)
        if isinstance(exc, Interrupted) or self._gone():
            return
        handler = self._on_failure or _default_failure
        if handler is not None:
            handler(exc)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.fn, self.relay = fn, relay

    def run(self) -> None:
        try:
            value = self.fn()
        except BaseException as exc:
            self.relay.failed.emit(exc)
        else:
            self.relay.succeeded.emit(value)


def run_in_background(fn: Callable[..., Any], on_success: Success | None = None,
                      on_failure: Failure | None = None, context: QObject | None = None,
                      on_progress: Progress | None = None, pool: QThreadPool | None = None) -> None:
    """Run ``fn`` on the thread pool (``pool``, else Qt's global one); call back on the GUI thread.

    With ``on_progress``, ``fn`` is called with one argument, a function it may call from
    its thread with any value: ``on_progress`` gets each on the GUI thread, in order. The
    callbacks are skipped if ``context`` (by default the object a bound-method callback
    belongs to) has been destroyed by then.
    """
    relay = _Relay(on_success, on_failure, context, on_progress)
    job = fn if on_progress is None else lambda: fn(relay.progressed.emit)
    (pool or QThreadPool.globalInstance()).start(_Job(job, relay))


def when_done(future: Future[Any], on_success: Success | None = None, on_failure: Failure | None = None,
              context: QObject | None = None) -> None:
    """Call back on the GUI thread when ``future`` (e.g. from the engine client) resolves."""
    relay = _Relay(on_success, on_failure, context)

    def done(f: Future[Any]) -> None:
        exc = f.exception()
        if exc is not None:
            relay.failed.emit(exc)
        else:
            relay.succeeded.emit(f.result())

    future.add_done_callback(done)


class _JobRelay(QObject):
    """Carries a child-process job's events from its reader thread to the GUI thread."""

    arrived = Signal(object)
    """A JobEvent (emitted on the job's reader thread, delivered queued)."""

    def __init__(self, on_event: Callable[[JobEvent], None], context: QObject | None) -> None:
        super().__init__()
        self._on_event, self._context = on_event, context
        self.arrived.connect(self._on_self_arrived)

    def _on_self_arrived(self, event: JobEvent) -> None:
        from app.core.jobs import JobEnded

        if isinstance(event, JobEnded):
            _live_jobs.discard(self)
        if self._context is not None and not shiboken6.isValid(self._context):
            return  # the widget that asked is gone
        self._on_event(event)


_live_jobs: set[_JobRelay] = set()


def run_job(runner: JobRunnerPort, target: str, args: dict[str, Any], on_event: Callable[[JobEvent], None], *,
            name: str = "", context: QObject | None = None) -> JobHandlePort:
    """Start ``target`` as a child-process job; ``on_event`` gets its events on the GUI thread, in order.

    The last event is a ``JobEnded``: its ``error`` (a ``JobCrashed``, ``JobCancelled``…) is the
    caller's to show (``report_failure`` hands one to the error presenter). Events for a
    ``context`` that has been destroyed are dropped.
    """
    relay = _JobRelay(on_event, context)
    _live_jobs.add(relay)
    return runner.start(target, args, relay.arrived.emit, name=name)


def report_failure(exc: BaseException) -> None:
    """Show a failure as an unhandled job failure would be shown (a cancel is never shown)."""
    if not isinstance(exc, Interrupted) and _default_failure is not None:
        _default_failure(exc)
