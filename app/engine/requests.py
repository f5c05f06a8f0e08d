"""The engine client's bookkeeping: its state, one request, one engine process (internal to the client)."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from app.core.events import LoadOptions
from app.engine.stream import Stream


class EngineState(enum.Enum):
    """What the engine process is doing, as the supervisor knows it."""

    DEAD = "dead"  # no engine process (not started yet, or it died)
    IDLE = "idle"
    LOADING = "loading"
    RUNNING = "running"


class Call(Future):  # type: ignore[type-arg]
    """The Future of a non-streamed request; ``cancel()`` stops it (it then raises Interrupted)."""

    def __init__(self, cancel: Callable[[Request], None]) -> None:
        super().__init__()
        self._cancel = cancel  # the client's: stops the request whether it runs or waits
        self._request: Request | None = None

    def cancel(self) -> bool:
        if self.done() or self._request is None:
            return False
        self._cancel(self._request)
        return True


@dataclass(eq=False)
class Request:
    op: str
    args: dict[str, Any]
    id: int
    future: Future[Any] | None = None
    stream: Stream | None = None
    cancel_requested: bool = False
    ended: bool = False  # its outcome was delivered (exactly once)
    log_offset: int = 0


@dataclass
class EngineProcess:
    """One engine process and the pipe to it."""

    proc: Any
    conn: Any
    gen: int
    killed_on_purpose: bool = False
    model: tuple[str, LoadOptions] | None = None  # what this process has loaded
    dead: bool = False
    exitcode: int | None = None
    ready: bool = False  # it said "ready": it reads requests now (set by the reader before its event)
    cpu: Any = None  # the backends.CpuChoice it reported when ready
    computed: bool = True  # False from a load until the model's first compute came back
    model_died_with: str | None = None  # the file it had loaded when it died
    wedged: bool = False  # killed because it did not acknowledge a request in time
    spawned_at: float = field(default_factory=time.monotonic)


class Died(Exception):
    """The engine died while a request was in flight (internal to the supervisor)."""

    def __init__(self, started: bool, message: str, exitcode: int | None = None, first_compute: bool = False,
                 model: str | None = None) -> None:
        super().__init__(message)
        self.started = started
        self.message = message
        self.exitcode = exitcode  # -11, -4 … for a signal
        self.first_compute = first_compute  # it died inside the first compute after a load
        self.model = model  # the file it had loaded
