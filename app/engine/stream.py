"""A streamed reply from an engine, local or remote, as its caller sees it.

A ``Stream`` receives TokenEvents and exactly one final event: a ``Finished``
(also for Stop, with reason "cancelled") or a typed ``InklingError``. The engine
client pushes events in from its own threads; the caller either iterates the
stream (blocking) or passes a ``listener`` that is called on the client's threads.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator

from app.core.errors import InklingError
from app.core.events import Finished, PromptProgress, TokenEvent

StreamEvent = TokenEvent | PromptProgress | Finished | InklingError
Listener = Callable[[StreamEvent], None]
log = logging.getLogger(__name__)


class Stream:
    """A streamed reply: iterate for TokenEvents, or pass ``listener`` to get them pushed.

    The final event is a ``Finished`` (also kept in ``finished``); a failure is
    raised by iteration, or delivered to the listener as an InklingError. Nothing
    is delivered after the final event.
    """

    def __init__(self, cancel: Callable[[Stream], None], listener: Listener | None = None, *,
                 not_applied: tuple[str, ...] = (), note: str = "") -> None:
        self._cancel = cancel
        self._listener = listener
        self._queue: queue.SimpleQueue[StreamEvent] = queue.SimpleQueue()
        self._text: list[str] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self.finished: Finished | None = None
        self.error: InklingError | None = None
        self.cancel_requested = False
        self.not_applied = not_applied  # settings the engine did not apply (a server's; the local engine applies all)
        self.note = note  # how the request was served differently from what was asked ("" as asked)

    # -- called on the engine client's threads ---------------------------------

    def _deliver(self, event: StreamEvent) -> None:
        with self._lock:
            if self._done.is_set():
                return
            if isinstance(event, TokenEvent):
                self._text.append(event.text)
            elif isinstance(event, PromptProgress):
                pass  # listeners see it; iteration skips it
            elif isinstance(event, Finished):
                self.finished = event
            else:
                self.error = event
            final = not isinstance(event, TokenEvent | PromptProgress)
            if final:
                self._done.set()
        if self._listener is None:
            self._queue.put(event)
            return
        try:
            self._listener(event)
        except Exception:  # a broken listener must not take the engine's reader down with it
            log.exception("a stream listener failed")

    # -- the caller's side -------------------------------------------------------

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def text(self) -> str:
        return "".join(self._text)

    def cancel(self) -> None:
        """Stop the reply; it ends with a Finished whose reason is "cancelled"."""
        self._cancel(self)

    def wait(self, timeout: float | None = None) -> Finished:
        """Consume the stream and return its Finished event (raises its error, or TimeoutError after ``timeout`` s)."""
        if self._listener is None:
            for _ in self._events(None if timeout is None else time.monotonic() + timeout):
                pass
        elif not self._done.wait(timeout):
            raise TimeoutError("the stream did not finish in time")
        if self.error is not None:
            raise self.error
        assert self.finished is not None
        return self.finished

    def __iter__(self) -> Iterator[TokenEvent]:
        return self._events(None)

    def _events(self, deadline: float | None) -> Iterator[TokenEvent]:
        while True:
            try:
                event = self._queue.get(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError("the stream did not finish in time") from None
            if isinstance(event, TokenEvent):
                yield event
            elif isinstance(event, PromptProgress):
                continue
            elif isinstance(event, Finished):
                return
            else:
                raise event
