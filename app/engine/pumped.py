"""An engine for the core's live sessions without an event loop: its events run on the caller's thread.

``AskSession`` and the document's alternatives start generations through a port whose
events arrive "on the owner's thread" — in the window, the bridge queues them onto
the GUI thread. A command-line tool (``inkling edit``) or a test has no Qt loop: a
``PumpedEngine`` queues the engine's events and :meth:`PumpedEngine.run_until` hands
them to the session, one by one, on the thread that calls it.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any

from app.core.chat_turn import StreamEvents
from app.core.errors import InklingError
from app.core.events import Finished, PromptProgress, TokenEvent
from app.core.sampling import SamplingSettings


class PumpedEngine:
    """Starts chats and completions on an engine (local or remote); :meth:`run_until` delivers their events."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self._events: queue.SimpleQueue[tuple[StreamEvents, object]] = queue.SimpleQueue()

    @property
    def parallel_sequences(self) -> int:
        return 1

    def start_chat(self, history: list[dict[str, str]], sampling: SamplingSettings, *, continue_last: bool,
                   events: StreamEvents) -> Any:
        return self.engine.chat(history, sampling, continue_last=continue_last,
                                listener=lambda event: self._events.put((events, event)))

    def start_completion(self, prompt: str, suffix: str, sampling: SamplingSettings, *, memory: str,
                         events: StreamEvents, sequences: int = 1, alternatives: bool = True) -> Any:
        return self.engine.complete(prompt, sampling, suffix=suffix, memory=memory, sequences=sequences,
                                    listener=lambda event: self._events.put((events, event)))

    def run_until(self, done: Callable[[], bool], timeout: float = 600.0) -> bool:
        """Deliver events (on this thread) until ``done()``; False if ``timeout`` seconds passed first."""
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                events, event = self._events.get(timeout=min(left, 0.1))
            except queue.Empty:
                continue
            if isinstance(event, TokenEvent):
                events.tokens([event])
            elif isinstance(event, PromptProgress):
                events.progress(event)
            elif isinstance(event, Finished):
                events.finished(event)
            elif isinstance(event, InklingError):
                events.failed(event)
        return True
