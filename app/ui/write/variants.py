"""Several texts for the writer to choose from: continuations side by side, or a reworked selection.

When the engine can, the continuations are one request: it reads the document
once and decodes the texts as sequences side by side in one batch per step, so
three cost little more than one. Otherwise they run one after another, each
reusing the document prompt from the engine's cache.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal

from app.core.errors import InklingError
from app.core.events import Finished, TokenEvent
from app.core.sampling import SamplingSettings
from app.ui.engine_bridge import EngineBridge, StreamHandle
from app.ui.write.alternatives import AlternativesView


class VariantsController(QObject):
    """Fills an AlternativesView from the engine; one request at a time."""

    finished = Signal()
    """Every requested text is in."""
    failed = Signal(str)
    """Generation stopped with this message."""

    def __init__(self, bridge: EngineBridge, view: AlternativesView) -> None:
        super().__init__()
        self.bridge = bridge
        self.view = view
        self.handle: StreamHandle | None = None
        self._queue: list[int] = []
        self._prompt = ""
        self._settings = SamplingSettings()
        self._seed = 0
        self._memory = ""
        self._messages: list[dict[str, str]] | None = None  # a rework's chat, or None for continuations
        self.last_finished: Finished | None = None
        """How the latest text ended (its timings, how many tokens were drafted from the text)."""

    @property
    def busy(self) -> bool:
        return self.handle is not None

    def generate(self, prompt: str, settings: SamplingSettings, count: int, memory: str = "") -> None:
        """``count`` continuations of ``prompt`` (``memory`` before it), each with its own seed (reproducible if
        the settings fix one)."""
        self.stop()
        self.last_finished = None
        self._prompt, self._settings, self._memory, self._messages = prompt, settings, memory, None
        self._seed = settings.seed if settings.seed is not None else int(time.time() * 1000) % 2**31
        self.view.reset(count)
        if 1 < count <= self.bridge.parallel_sequences:
            # the engine gives text i the seed seed + 7919·i, as the one-by-one path does
            self._queue = []
            handle = self.bridge.complete(prompt, settings.replace(seed=self._seed), sequences=count, memory=memory)
            self._watch_side_by_side(handle, count)
            return
        self._queue = list(range(count))
        self._next()

    def rework(self, messages: list[dict[str, str]], settings: SamplingSettings, title: str, count: int = 1) -> None:
        """``count`` chat-style answers (e.g. a shortened selection), one after another, each with its own seed."""
        self.stop()
        self.last_finished = None
        self._messages, self._settings = messages, settings
        self._seed = settings.seed if settings.seed is not None else int(time.time() * 1000) % 2**31
        self.view.reset(count, title)
        self._queue = list(range(count))
        self._next()

    def stop(self) -> None:
        self._queue = []
        if self.handle is not None:
            handle, self.handle = self.handle, None
            handle.cancel()

    def _next(self) -> None:
        if not self._queue:
            self.finished.emit()
            return
        index = self._queue.pop(0)
        settings = self._settings.replace(seed=(self._seed + index * 7919) % 2**31)
        if self._messages is not None:
            self._watch(self.bridge.chat(self._messages, settings), index)
        else:
            self._watch(self.bridge.complete(self._prompt, settings, memory=self._memory), index)

    def _watch(self, handle: StreamHandle, index: int) -> None:
        self.handle = handle
        handle.tokens_arrived.connect(lambda batch: self.view.append(index, "".join(t.text for t in batch)))
        handle.finished.connect(lambda fin: self._on_done(handle, index, fin))
        handle.failed.connect(lambda exc: self._on_failed(handle, exc))

    def _watch_side_by_side(self, handle: StreamHandle, count: int) -> None:
        self.handle = handle
        handle.tokens_arrived.connect(lambda batch: self._on_side_by_side_tokens(handle, batch))
        handle.finished.connect(lambda fin: self._on_side_by_side_done(handle, count, fin))
        handle.failed.connect(lambda exc: self._on_failed(handle, exc))

    def _on_side_by_side_tokens(self, handle: StreamHandle, batch: list[TokenEvent]) -> None:
        if handle is not self.handle:
            return
        texts: dict[int, list[str]] = {}
        for event in batch:
            texts.setdefault(event.sequence, []).append(event.text)
        for index, parts in texts.items():
            if index < len(self.view.columns):
                self.view.append(index, "".join(parts))

    def _on_side_by_side_done(self, handle: StreamHandle, count: int, fin: Finished) -> None:
        if handle is not self.handle:
            return
        self.handle = None
        self.last_finished = fin
        for index in range(count):
            self.view.finish(index, cut_off=fin.reason == "length")
        self.finished.emit()

    def _on_done(self, handle: StreamHandle, index: int, fin: Finished) -> None:
        if handle is not self.handle:
            return
        self.handle = None
        self.last_finished = fin
        self.view.finish(index, cut_off=fin.reason == "length")
        self._next()

    def _on_failed(self, handle: StreamHandle, exc: InklingError) -> None:
        if handle is not self.handle:
            return
        self.handle = None
        self._queue = []
        self.failed.emit(str(exc))
