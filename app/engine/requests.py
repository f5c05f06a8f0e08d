"""The engine client's bookkeeping: its state, one request, one engine process (internal to the client)."""

from __future__ import annotations

import enum
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.core.events import LoadOptions
from app.engine.stream import Stream

if TYPE_CHECKING:
    from app.engine.client import EngineClient


class EngineState(enum.Enum):
    """What the engine process is doing, as the supervisor knows it."""

    DEAD = "dead"  # no engine process (not started yet, or it died)
    IDLE = "idle"
    LOADING = "loading"
    RUNNING = "running"


class Call(Future):  # type: ignore[type-arg]
    """The Future of a non-streamed request; ``cancel()`` stops it (it then raises Interrupted)."""

    def __init__(self, client: EngineClient) -> None:
        super().__init__()
        self._client = client
        self._request: Request | None = None

    def cancel(self) -> bool:
        if self.done() or self._request is None:
            return False
        self._client._cancel_request(self._request)
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
    events: list[Any] = field(default_factory=list)


class Died(Exception):
    """The engine died while a request was in flight (internal to the supervisor)."""

    def __init__(self, started: bool, message: str) -> None:
        super().__init__(message)
        self.started = started
        self.message = message
