"""The engine bridge as the live turns in core need it, and a Qt timer as their ``call_later``.

``ChatTurn`` (app.core.chat_turn) and the suggestion of ``DocumentSession``
start generations through a small port (``ChatEngine``, ``CompletionEngine``)
and get the stream's events as plain calls on the GUI thread. This adapter is
all the Qt they need: it starts the stream through ``EngineBridge`` (which
batches tokens per frame) and connects the ``StreamHandle``'s signals to those
calls. A test in ``tests/core`` gives the same turns a fake engine instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer

from app.core.chat_turn import StreamEvents
from app.core.errors import InklingError, NoModelLoaded
from app.core.fitting import TokenCounter
from app.core.sampling import SamplingSettings
from app.core.tools import ToolOffer
from app.ui.engine_bridge import EngineBridge, StreamHandle
from app.ui.jobs import run_in_background


class BridgeEngine:
    """Starts chats and completions through the bridge; their events go to the turn that asked."""

    def __init__(self, bridge: EngineBridge, alternatives: int = 0) -> None:
        self.bridge = bridge
        self.alternatives = alternatives  # token alternatives asked for with a completion (the inspector's)

    def start_chat(self, history: list[dict[str, str]], sampling: SamplingSettings, *, continue_last: bool,
                   events: StreamEvents, tools: ToolOffer | None = None) -> StreamHandle:
        """A reply (offering ``tools``); a model that is still loading is waited for, not refused."""
        self._require_model()
        return self._connect(self.bridge.chat(history, sampling, continue_last=continue_last, tools=tools), events)

    def start_completion(self, prompt: str, suffix: str, sampling: SamplingSettings, *, memory: str,
                         events: StreamEvents, sequences: int = 1, alternatives: bool = True) -> StreamHandle:
        self._require_model()
        handle = self.bridge.complete(prompt, sampling, alternatives=self.alternatives if alternatives else 0,
                                      suffix=suffix, memory=memory, sequences=sequences)
        return self._connect(handle, events)

    @property
    def parallel_sequences(self) -> int:
        return self.bridge.parallel_sequences

    def fit(self, job: Callable[[TokenCounter], Any], then: Callable[[Any], None],
            failed: Callable[[InklingError], None]) -> None:
        """Fit a chat or a document (``app.core.fitting``) on the thread pool: it waits on the engine's counts."""
        engine = self.bridge.engine

        def run() -> tuple[bool, Any]:
            try:
                return True, job(engine)
            except BaseException as exc:  # every failure reaches the turn (jobs would drop an Interrupted)
                return False, exc

        def done(outcome: tuple[bool, Any]) -> None:
            ok, value = outcome
            (then if ok else failed)(value)

        run_in_background(run, on_success=done)

    def current_model(self) -> tuple[str, str]:
        info = self.bridge.info
        return (info.name, info.path) if info is not None else ("", "")

    def _require_model(self) -> None:
        if not self.bridge.usable and self.bridge.engine.info is None:
            raise NoModelLoaded()

    @staticmethod
    def _connect(handle: StreamHandle, events: StreamEvents) -> StreamHandle:
        handle.tokens_arrived.connect(events.tokens)
        handle.prompt_progressed.connect(events.progress)
        handle.finished.connect(events.finished)
        handle.failed.connect(events.failed)
        return handle


def qt_call_later(context: QObject) -> Callable[[float, Callable[[], None]], None]:
    """``call_later`` on the GUI thread, dropped if ``context`` is gone by then."""
    def call_later(delay: float, callback: Callable[[], None]) -> None:
        QTimer.singleShot(max(0, int(delay * 1000)), context, callback)
    return call_later
