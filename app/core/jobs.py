"""What a background job in a child process reports: progress, pause, and its end. Qt-free data.

A job (Compare's perplexity of one model, indexing sources, training an adapter)
runs as ``fn(args, ctx)`` in its own process, started through a ``JobRunnerPort``
(``app/core/ports.py``; ``app/engine/jobs.py`` implements it). Its events reach the
``on_event`` callback in order, on a background thread (``app/ui/jobs.py`` moves
them onto the GUI thread): any number of ``JobProgress`` and ``JobPaused``, then
exactly one ``JobEnded``. They pickle, like everything that crosses a process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core.errors import InklingError, JobCancelled


@dataclass(frozen=True)
class JobProgress:
    """``done`` of ``total`` steps (the job's own unit: models, files, epochs), and what it is doing."""

    done: int
    total: int
    message: str = ""


@dataclass(frozen=True)
class JobPaused:
    """The job took a pause (``paused``) or went on after one: said by the job itself, at a safe point."""

    paused: bool


@dataclass(frozen=True)
class JobEnded:
    """The job's end: its ``result``, or ``error`` (``JobCancelled``, ``JobCrashed``, ``JobFailed`` or its own)."""

    result: Any = None
    error: InklingError | None = None

    @property
    def cancelled(self) -> bool:
        return isinstance(self.error, JobCancelled)


JobEvent = JobProgress | JobPaused | JobEnded
JobListener = Callable[[JobEvent], None]
