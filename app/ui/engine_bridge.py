"""Qt adapter over an EnginePort: model state as signals, streams as coalesced token batches.

Token events arrive on the engine client's reader thread. They are queued, and
the GUI thread is woken at most once a frame (FRAME_MS): the first event of a
stream at once, later ones in one batch per frame, so a fast model never floods
the event loop and no token is ever dropped. On a small machine the engine's
threads use every core while they write: each wake-up of the window takes time
from them, so there are 20 frames a second: smooth for text. Model
state changes only on the GUI thread.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.core.engine_status import EnginePhase, EngineStatus
from app.core.errors import InklingError
from app.core.events import Finished, LoadOptions, ModelInfo, PromptProgress, TokenEvent
from app.core.ports import EnginePort, StreamPort
from app.core.sampling import SamplingSettings
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

    state_changed = Signal(str)
    """One of: empty, loading, ready, generating, error."""
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
    _status_arrived = Signal(object)  # from the engine's supervisor thread; queued onto the GUI thread

    def __init__(self, engine: EnginePort, options: LoadOptions | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.options = options or LoadOptions()
        self.state = "empty"
        self.loading_path = ""
        self.info: ModelInfo | None = None
        self.active: StreamHandle | None = None
        self._load_serial = 0  # counts loads asked for: only the newest one's outcome is shown
        self.status: EngineStatus = engine.status
        """The engine's status as the window shows it (the one every view reads; see ``_mirror_status``)."""
        self._told: EngineStatus = engine.status  # as the engine last told it
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
        """
        status = self._told
        if status.phase is EnginePhase.WRITING and self.active is not None and not self.active.wrote:
            status = replace(status, phase=EnginePhase.READING)
        if status != self.status:
            self.status = status
            self.status_changed.emit(status)

    def _on_handle_tokens_arrived(self, _batch: list[TokenEvent]) -> None:
        if self.status.phase is EnginePhase.READING and self.sender() is self.active:
            self._mirror_status()  # the first token: reading is over

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    def load(self, path: str | Path, options: LoadOptions | None = None) -> None:
        """Load ``path`` in the background; the newest load asked for decides what the model is."""
        if options is not None:
            self.options = options
        self.loading_path = str(path)
        self._load_serial += 1
        serial = self._load_serial
        self._set_state("loading")
        when_done(self.engine.load_async(str(path), self.options),
                  lambda info: self._on_engine_loaded(serial, info),
                  lambda exc: self._on_engine_load_failed(serial, exc), context=self)

    def _on_engine_loaded(self, serial: int, info: ModelInfo) -> None:
        if serial != self._load_serial:
            return  # a newer load was asked for meanwhile: its outcome is the one that counts
        self.info = info
        self._set_state("generating" if self.active is not None else "ready")
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
        self._set_state(("generating" if self.active is not None else "ready") if self.info is not None else "error")
        if self.info is not None and (before is None or before.path != self.info.path):
            self.model_loaded.emit(self.info)  # an older load, superseded by this one, is what the engine kept
        self.model_failed.emit(exc)

    def chat(self, messages: list[dict[str, str]], settings: SamplingSettings, *, alternatives: int = 0,
             continue_last: bool = False) -> StreamHandle:
        handle = self._begin()
        handle.stream = self.engine.chat(messages, settings, alternatives=alternatives, listener=handle.listen,
                                         continue_last=continue_last)
        self._note_deviations(handle.stream)
        return handle

    def complete(self, prompt: str, settings: SamplingSettings, *, alternatives: int = 0, suffix: str = "",
                 memory: str = "", sequences: int = 1) -> StreamHandle:
        """Continue ``prompt`` with ``memory`` in view; ``sequences`` up to ``parallel_sequences`` side by side."""
        handle = self._begin()
        handle.stream = self.engine.complete(prompt, settings, alternatives=alternatives, listener=handle.listen,
                                             suffix=suffix, memory=memory, sequences=sequences)
        self._note_deviations(handle.stream)
        return handle

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
        if self.state != "loading":  # a request made during a load waits for it; the state stays "loading"
            self._set_state("generating")
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
            if self.state != "loading":
                self._set_state("ready" if self.engine.info is not None or exc is None else "error")
            self.busy_changed.emit(False)

    @property
    def busy(self) -> bool:
        return self.active is not None
