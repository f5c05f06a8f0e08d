"""Qt adapter over an EnginePort: model state as signals, streams as coalesced token batches.

Token events arrive on the engine client's reader thread. They are queued, and
the GUI thread is woken at most once a frame (FRAME_MS): the first event of a
stream at once, later ones in one batch per frame, so a fast model never floods
the event loop and no token is ever dropped. On a small machine the engine's
threads use every core while they write: each wake-up of the window takes time
from them, so there are 20 frames a second: smooth for text.

What the engine is doing is one value, ``EngineBridge.status`` (the engine's
EngineStatus mirrored onto the GUI thread, refined by what only the window
knows); which model the window shows is another, ``EngineBridge.info``. Every
view reads these two (and ``free``/``usable``, made of them), and nothing else.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.core.adapters import NO_ADAPTER, AdapterInfo, adapter_key
from app.core.engine_status import EnginePhase, EngineStatus
from app.core.errors import InklingError
from app.core.events import Finished, LoadOptions, ModelInfo, PromptProgress, ScoreResult, TokenEvent
from app.core.ports import EnginePort, PeekResult, StreamPort
from app.core.sampling import SamplingSettings
from app.core.tools import ToolOffer
from app.ui.jobs import when_done

FRAME_MS = 50  # the GUI thread takes a stream's events (and the chat renders a reply) at most this often


class StreamHandle(QObject):
    """One generation as seen by the GUI thread."""

    tokens_arrived = Signal(list)
    """A batch of TokenEvents (in order) arrived."""
    prompt_progressed = Signal(object)
    """The engine read another batch of the prompt (a PromptProgress)."""
    finished = Signal(object)
    """The stream ended normally or by Stop (a Finished)."""
    failed = Signal(object)
    """The stream ended with an error (an InklingError)."""
    _wake = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[Any] = deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self.stream: StreamPort | None = None
        self.wrote = False
        """A token of this stream reached the GUI thread (the engine is past reading the prompt)."""
        self._wake.connect(self._on_self_wake)

    # reader thread
    def listen(self, event: Any) -> None:
        with self._lock:
            self._queue.append(event)
            if self._scheduled:
                return
            self._scheduled = True
        self._wake.emit()

    # GUI thread
    def _on_self_wake(self) -> None:
        with self._lock:
            events = list(self._queue)
            self._queue.clear()  # _scheduled stays set: the reader thread does not wake us while we rest
        # after taking a batch the GUI thread rests for a frame; events meanwhile wait for the next one.
        # Not a QTimer child: a handle freed by the garbage collector on another thread (handle and
        # stream refer to each other) would take a live timer of the GUI thread with it (a crash seen).
        QTimer.singleShot(FRAME_MS, self._on_rest_timeout)
        self._deliver(events)

    def _on_rest_timeout(self) -> None:
        with self._lock:
            if not self._queue:
                self._scheduled = False  # nothing came: the next event wakes us at once
                return
        self._on_self_wake()

    def _deliver(self, events: list[Any]) -> None:
        batch: list[TokenEvent] = []
        progress = [e for e in events if isinstance(e, PromptProgress)]
        if progress:  # only the latest matters
            self.prompt_progressed.emit(progress[-1])
        for event in events:
            if isinstance(event, TokenEvent):
                batch.append(event)
                self.wrote = True
                continue
            if isinstance(event, PromptProgress):
                continue
            if batch:
                self.tokens_arrived.emit(batch)
                batch = []
            if isinstance(event, Finished):
                self.finished.emit(event)
            elif isinstance(event, InklingError):
                self.failed.emit(event)
        if batch:
            self.tokens_arrived.emit(batch)

    def cancel(self) -> None:
        if self.stream is not None:
            self.stream.cancel()


class EngineBridge(QObject):
    """The window's view of the engine: what is loaded, loading, or broken."""

    model_loaded = Signal(object)
    """A model finished loading (ModelInfo)."""
    model_failed = Signal(object)
    """Loading a model failed (an exception)."""
    busy_changed = Signal(bool)
    """A stream started (True) or the last one ended (False): whether there is anything to stop."""
    deviation_noted = Signal(str)
    """A request could not be served exactly as asked (a remote server ignoring a setting): what and why."""
    status_changed = Signal(object)
    """The engine's EngineStatus changed (on the GUI thread): reloading after a crash, reading the prompt, writing…"""
    adapter_switched = Signal(object)
    """The engine put on (or took off) a LoRA adapter: its AdapterInfo (``cache_dropped``: the cached prompt went)."""
    adapter_refused = Signal(object)
    """Putting an adapter on failed: the exception (AdapterError with the reason, FeatureUnavailable on a server)."""
    _status_arrived = Signal(object)  # from the engine's supervisor thread; queued onto the GUI thread

    def __init__(self, engine: EnginePort, options: LoadOptions | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.options = options or LoadOptions()
        self.loading_path = ""
        """The model last asked for (the one loading, or that failed to load when ``info`` is None)."""
        self.info: ModelInfo | None = None
        """The model the window shows: the last one loaded (None: none yet, or the last load failed with none kept)."""
        self.active: StreamHandle | None = None
        self._load_serial = 0  # counts loads asked for: only the newest one's outcome is shown
        self._load_pending = False
        self.status: EngineStatus = engine.status
        """The engine's status as the window shows it (the one every view reads; see ``_mirror_status``)."""
        self._told: EngineStatus = engine.status  # as the engine last told it
        self.adapter: tuple[str, float] = NO_ADAPTER
        """The LoRA (path, strength) the engine has on the model, as far as the window asked for it."""
        self._status_arrived.connect(self._on_status_arrived)
        engine.status_changed.subscribe(self._status_arrived.emit)

    def _on_status_arrived(self, status: EngineStatus) -> None:
        self._told = status
        self._mirror_status()

    def _mirror_status(self) -> None:
        """Take the engine's status as told, with one refinement only the window can make.

        The local engine says *writing* from the moment it takes a stream; until that stream's
        first token reaches the window, it is still reading the prompt (a server's engine says
        *reading* itself), so the window says "Reading the prompt…" there, then "Writing…".
        Likewise a stream of the window's is read or written until its end reaches the window (the
        engine may tell *idle* a frame before), and a load asked for is *loading* from the moment it
        is asked until its outcome reaches the window (the engine tells it a moment later, and may
        tell *idle* before the outcome).
        """
        status = self._told
        if self._load_pending and status.phase is not EnginePhase.RELOADING:
            status = EngineStatus(EnginePhase.LOADING, self.loading_path)
        elif self.active is not None and status.phase in (EnginePhase.WRITING, EnginePhase.IDLE):
            status = replace(status, phase=EnginePhase.WRITING if self.active.wrote else EnginePhase.READING)
        if status != self.status:
            self.status = status
            self.status_changed.emit(status)

    def _on_handle_tokens_arrived(self, _batch: list[TokenEvent]) -> None:
        if self.status.phase is EnginePhase.READING and self.sender() is self.active:
            self._mirror_status()  # the first token: reading is over

    @property
    def free(self) -> bool:
        """A model is in view and the engine runs nothing: a peek, a score or a count is answered now.

        An engine that died while idle (DEAD) counts as free: the next request starts a new one.
        """
        return (self.info is not None and self.active is None
                and self.status.phase in (EnginePhase.IDLE, EnginePhase.DEAD))

    @property
    def usable(self) -> bool:
        """A request made now is served: a model is in view, or one is loading (the request waits for it)."""
        return self.info is not None or self.status.phase in (EnginePhase.LOADING, EnginePhase.RELOADING)

    @property
    def load_pending(self) -> bool:
        """The newest load asked for (``loading_path``) has no outcome yet: ``status`` says LOADING for it."""
        return self._load_pending

    @property
    def load_failed(self) -> bool:
        """The last load asked for failed and no model was kept."""
        return self.info is None and bool(self.loading_path) and not self._load_pending

    def load(self, path: str | Path, options: LoadOptions | None = None) -> None:
        """Load ``path`` in the background; the newest load asked for decides what the model is."""
        if options is not None:
            self.options = options
        self.loading_path = str(path)
        self._load_serial += 1
        serial = self._load_serial
        self._load_pending = True
        self._mirror_status()
        when_done(self.engine.load_async(str(path), self.options),
                  lambda info: self._on_engine_loaded(serial, info),
                  lambda exc: self._on_engine_load_failed(serial, exc), context=self)

    def _on_engine_loaded(self, serial: int, info: ModelInfo) -> None:
        if serial != self._load_serial:
            return  # a newer load was asked for meanwhile: its outcome is the one that counts
        self.info = info
        self._load_pending = False
        self.adapter = NO_ADAPTER  # a model chosen anew starts without an adapter (the next request puts it on)
        self._mirror_status()
        self.model_loaded.emit(info)

    def _on_engine_load_failed(self, serial: int, exc: BaseException) -> None:
        """The model loaded before stays the model (the engine loads it again for the next request).

        A failure while a newer load is queued is reported, but changes nothing: the newer load
        decides what the model is (the engine goes on to it).
        """
        if serial != self._load_serial:
            self.model_failed.emit(exc)
            return
        before, self.info = self.info, self.engine.info
        if self.info is not None:
            self.loading_path = self.info.path
        self._load_pending = False
        self._mirror_status()
        if self.info is not None and (before is None or before.path != self.info.path):
            self.model_loaded.emit(self.info)  # an older load, superseded by this one, is what the engine kept
        self.model_failed.emit(exc)

    def chat(self, messages: list[dict[str, str]], settings: SamplingSettings, *, alternatives: int = 0,
             continue_last: bool = False, tools: ToolOffer | None = None) -> StreamHandle:
        self._sync_adapter(settings)
        handle = self._begin()
        handle.stream = self.engine.chat(messages, settings, alternatives=alternatives, listener=handle.listen,
                                         continue_last=continue_last, tools=tools)
        self._note_deviations(handle.stream)
        return handle

    def complete(self, prompt: str, settings: SamplingSettings, *, alternatives: int = 0, suffix: str = "",
                 memory: str = "", sequences: int = 1) -> StreamHandle:
        """Continue ``prompt`` with ``memory`` in view; ``sequences`` up to ``parallel_sequences`` side by side."""
        self._sync_adapter(settings)
        handle = self._begin()
        handle.stream = self.engine.complete(prompt, settings, alternatives=alternatives, listener=handle.listen,
                                             suffix=suffix, memory=memory, sequences=sequences)
        self._note_deviations(handle.stream)
        return handle

    def switch_adapter(self, path: str, scale: float = 1.0, on_success: Callable[[AdapterInfo], None] | None = None,
                       on_failure: Callable[[BaseException], None] | None = None) -> None:
        """Put the adapter at ``path`` on the loaded model at ``scale`` ("" takes it off), without a reload.

        ``adapter_switched`` or ``adapter_refused`` says how it went (on the GUI thread), after ``on_success``
        or ``on_failure``; a refusal leaves the adapter the engine had.
        """
        wanted, before = adapter_key(path, scale), self.adapter
        self.adapter = wanted  # a request made meanwhile queues behind the switch: it needs no second one

        def done(info: AdapterInfo) -> None:
            if on_success is not None:
                on_success(info)
            self.adapter_switched.emit(info)

        def failed(exc: BaseException) -> None:
            if self.adapter == wanted:
                self.adapter = before
            if on_failure is not None:
                on_failure(exc)
            self.adapter_refused.emit(exc)

        when_done(self.engine.set_adapter_async(wanted[0] or None, wanted[1]), done, failed, context=self)

    def _sync_adapter(self, settings: SamplingSettings) -> None:
        """Before a request: put on the session's adapter when the engine has another (switching chats, say)."""
        wanted = adapter_key(settings.adapter, settings.adapter_scale)
        if wanted != self.adapter and self.engine.capabilities.adapters and self.usable:
            self.switch_adapter(*wanted)

    @property
    def parallel_sequences(self) -> int:
        """How many texts the engine can make side by side in one request (1: one at a time)."""
        return self.engine.parallel_sequences

    def _note_deviations(self, stream: StreamPort) -> None:
        """Never drop a setting silently: say which ones the server does not take, and any fallback."""
        words = []
        if stream.not_applied:
            words.append(f"Not applied on this server: {', '.join(stream.not_applied)}.")
        if stream.note:
            words.append(stream.note)
        if words:
            self.deviation_noted.emit(" ".join(words))

    def _begin(self) -> StreamHandle:
        if self.active is not None:
            self.active.cancel()
        handle = StreamHandle()
        was_busy, self.active = self.active is not None, handle
        handle.finished.connect(self._on_handle_finished)
        handle.failed.connect(self._on_handle_failed)
        handle.tokens_arrived.connect(self._on_handle_tokens_arrived)
        self._mirror_status()
        if not was_busy:
            self.busy_changed.emit(True)
        return handle

    def _on_handle_finished(self, _fin: object) -> None:
        self._on_stream_ended(self.sender())  # type: ignore[arg-type]

    def _on_handle_failed(self, exc: BaseException) -> None:
        self._on_stream_ended(self.sender(), exc)  # type: ignore[arg-type]

    def _on_stream_ended(self, handle: StreamHandle, exc: BaseException | None = None) -> None:
        if self.active is handle:
            self.active = None
            info = self.engine.info
            if info is not None and self.info is not None and info.path == self.info.path:
                self.info = info  # the engine reloaded it on its own (after a crash, on another CPU variant)
            self._mirror_status()  # a stream that ended before its first token no longer holds "reading"
            self.busy_changed.emit(False)

    @property
    def busy(self) -> bool:
        return self.active is not None

    # -- the engine's quick answers, through the bridge like its streams ------------------------

    def peek_async(self, messages: list[dict[str, str]] | None = None, prompt: str | None = None,
                   top: int = 64) -> Future[PeekResult]:
        """The next-token candidates for ``messages`` or ``prompt`` (the Sampling chart)."""
        return self.engine.peek_async(messages=messages, prompt=prompt, top=top)

    def score_async(self, text: str, top: int = 1) -> Future[ScoreResult]:
        """How surprising each token of ``text`` is to the model (Write's Surprise)."""
        return self.engine.score_async(text, top=top)

    def count_text_async(self, text: str) -> Future[int]:
        """How many tokens ``text`` is for the model."""
        return self.engine.count_text_async(text)
