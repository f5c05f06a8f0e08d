"""Several texts for the writer to choose from, without Qt: continuations side by side, or a reworked selection.

``Alternatives`` belongs to a ``DocumentSession`` (``session.alternatives``) and
announces through the session's ``subscribe``:

- ``"alternatives-reset"``: ``texts`` holds a new, empty set (``title`` says what it is for);
- ``"alternatives-text"``: some of ``texts`` grew;
- ``"alternatives-ended"``: more of them are complete (``ended``; ``cut_off`` says
  which stopped at the length limit);
- ``"alternatives-finished"``: every text asked for is in (``last_finished`` says how the last ended);
- ``"alternatives-failed"``: the engine failed (``error``); the texts so far stay.

When the engine can, continuations are one request: it reads the document once
and decodes the texts as sequences side by side, so three cost little more than
one. Otherwise they run one after another, each reusing the document prompt
from the engine's cache. Text ``i`` gets the seed ``seed + 7919·i`` either way,
so a fixed seed gives the same texts on both paths.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from app.core.chat_turn import ReplyStream, StreamEvents
from app.core.errors import InklingError
from app.core.events import Finished, PromptProgress, TokenEvent
from app.core.sampling import SamplingSettings

SEED_STEP = 7919


class AlternativesEngine(Protocol):
    """The engine as alternatives need it."""

    @property
    def parallel_sequences(self) -> int:
        """How many texts one request can decode side by side (1: one after another)."""
        ...

    def start_completion(self, prompt: str, suffix: str, sampling: SamplingSettings, *, memory: str,
                         events: StreamEvents, sequences: int = 1, alternatives: bool = True) -> ReplyStream: ...

    def start_chat(self, history: list[dict[str, str]], sampling: SamplingSettings, *, continue_last: bool,
                   events: StreamEvents) -> ReplyStream: ...


@dataclass(eq=False)
class Alternatives:
    """The texts on offer, and the requests still writing them (one at a time)."""

    announce: Callable[[str], None]
    engine: AlternativesEngine | None = None
    texts: list[str] = field(default_factory=list)
    ended: list[bool] = field(default_factory=list)
    cut_off: list[bool] = field(default_factory=list)
    title: str = ""
    last_finished: Finished | None = None
    """How the latest text ended (its timings, how many tokens were drafted from the text)."""
    error: str = ""
    _queue: list[int] = field(default_factory=list)
    _stream: ReplyStream | None = None
    _prompt: str = ""
    _memory: str = ""
    _messages: list[dict[str, str]] | None = None  # a rework's chat, or None for continuations
    _settings: SamplingSettings = field(default_factory=SamplingSettings)
    _seed: int = 0

    @property
    def busy(self) -> bool:
        return self._stream is not None

    def generate(self, prompt: str, settings: SamplingSettings, count: int, memory: str = "") -> None:
        """``count`` continuations of ``prompt`` (``memory`` before it), each with its own seed."""
        self._begin(count, "", settings)
        self._prompt, self._memory, self._messages = prompt, memory, None
        if self.engine is not None and 1 < count <= self.engine.parallel_sequences:
            self._watch(list(range(count)), lambda events: self.engine.start_completion(  # type: ignore[union-attr]
                prompt, "", settings.replace(seed=self._seed), memory=memory, events=events, sequences=count,
                alternatives=False))
            return
        self._queue = list(range(count))
        self._next()

    def rework(self, messages: list[dict[str, str]], settings: SamplingSettings, title: str, count: int = 1) -> None:
        """``count`` chat-style answers (e.g. a shortened selection), one after another, each with its own seed."""
        self._begin(count, title, settings)
        self._messages = messages
        self._queue = list(range(count))
        self._next()

    def stop(self) -> None:
        """Stop writing; the texts so far stay (a view may let them be used)."""
        self._queue = []
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.cancel()

    def _begin(self, count: int, title: str, settings: SamplingSettings) -> None:
        self.stop()
        self.texts, self.ended, self.cut_off = [""] * count, [False] * count, [False] * count
        self.title, self.last_finished, self.error, self._settings = title, None, "", settings
        self._seed = settings.seed if settings.seed is not None else int(time.time() * 1000) % 2**31
        self.announce("alternatives-reset")

    def _next(self) -> None:
        if not self._queue:
            self.announce("alternatives-finished")
            return
        index = self._queue.pop(0)
        settings = self._settings.replace(seed=(self._seed + index * SEED_STEP) % 2**31)
        engine = self.engine
        if engine is None:
            raise RuntimeError("DocumentSession.use_engine was not called")
        if self._messages is not None:
            messages = self._messages
            self._watch([index], lambda events: engine.start_chat(messages, settings, continue_last=False,
                                                                  events=events))
        else:
            self._watch([index], lambda events: engine.start_completion(
                self._prompt, "", settings, memory=self._memory, events=events, alternatives=False))

    def _watch(self, indexes: list[int], start: Callable[[StreamEvents], ReplyStream]) -> None:
        """Start one request writing texts ``indexes`` (one, or several side by side as its sequences)."""
        run = _Run()
        self._stream = run

        def mine() -> bool:  # events of a request that was stopped or replaced are ignored
            return self._stream is not None and (self._stream is run or self._stream is run.stream)

        def on_tokens(batch: list[TokenEvent]) -> None:
            if not mine():
                return
            for event in batch:
                if event.sequence < len(indexes):
                    self.texts[indexes[event.sequence]] += event.text
            self.announce("alternatives-text")

        def on_finished(fin: Finished) -> None:
            if not mine():
                return
            self._stream, self.last_finished = None, fin
            for index in indexes:
                self.ended[index], self.cut_off[index] = True, fin.reason == "length"
            self.announce("alternatives-ended")
            self._next()

        def on_failed(exc: InklingError) -> None:
            if not mine():
                return
            self._stream, self._queue, self.error = None, [], str(exc)
            self.announce("alternatives-failed")

        events = StreamEvents(on_tokens, _ignore_progress, on_finished, on_failed)
        try:
            stream = start(events)
        except InklingError as exc:
            on_failed(exc)
            return
        if self._stream is run:
            run.stream = self._stream = stream


class _Run:
    """Stands for a request while the engine starts it (a fake engine may answer inside the call)."""

    stream: ReplyStream | None = None

    def cancel(self) -> None:
        pass


def _ignore_progress(_progress: PromptProgress) -> None:
    """Alternatives show no reading progress (the suggestion does)."""
