"""Fakes for driving a live turn in tests/core: a scripted engine the test steps by hand, and a manual clock.

They sit beside the real engine's tests (tests/engine, tests/ui), never instead of
them: here they let a whole chat turn or suggestion run in milliseconds, with
every event at the moment the test chooses.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from app.core.chat_turn import StreamEvents
from app.core.errors import InklingError
from app.core.events import Finished, ModelInfo, PromptProgress, Timings, TokenEvent
from app.core.fitting import TokenCounter
from app.core.sampling import SamplingSettings


class ManualClock:
    """A clock and a ``call_later`` that only move when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._n = 0

    def __call__(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        self._n += 1
        self._due.append((self.now + delay, self._n, callback))

    def advance(self, seconds: float) -> None:
        """Move time on, running what falls due, in order."""
        end = self.now + seconds
        while True:
            due = sorted(d for d in self._due if d[0] <= end)
            if not due:
                break
            self._due.remove(due[0])
            self.now = due[0][0]
            due[0][2]()
        self.now = end


@dataclass
class FakeStream:
    """One request to the fake engine; the test makes it speak."""

    request: dict[str, object]
    events: StreamEvents
    cancelled: bool = False
    ended: bool = False
    tokens: list[TokenEvent] = field(default_factory=list)

    def cancel(self) -> None:
        self.cancelled = True

    def say(self, *texts: str, token_id: int = 1) -> None:
        batch = [TokenEvent(t, token_id + i, 0.5) for i, t in enumerate(texts)]
        self.tokens += batch
        self.events.tokens(batch)

    def send(self, batch: list[TokenEvent]) -> None:
        self.tokens += batch
        self.events.tokens(batch)

    def read_prompt(self, done: int, total: int) -> None:
        self.events.progress(PromptProgress(done, total))

    def finish(self, reason: str = "stop", **extra: object) -> None:
        """End it (a cancelled stream ends as "cancelled" whatever the test passes)."""
        self.ended = True
        text = "".join(t.text for t in self.tokens)
        reason = "cancelled" if self.cancelled else reason
        self.events.finished(Finished(reason, text, Timings(5, 5, 1.0, len(self.tokens), 100.0, 20.0), seed=3,
                                      **extra))  # type: ignore[arg-type]

    def fail(self, error: InklingError) -> None:
        self.ended = True
        self.events.failed(error)


class WordCounter:
    """A token counter for fitting tests: a word is a token, a message costs ``per_message`` more."""

    def __init__(self, context: int = 0, per_message: int = 4) -> None:
        self.context = context
        self.per_message = per_message
        self.counted = 0  # how many counts were asked for

    @property
    def info(self) -> ModelInfo | None:
        if not self.context:
            return None
        return ModelInfo("/models/fake.gguf", "Fake", "fake", 1, "F32", 1, self.context, self.context, 100, True,
                         "", False, 0, 1)

    def count_text_async(self, text: str) -> Future[int]:
        self.counted += 1
        done: Future[int] = Future()
        done.set_result(len(text.split()))
        return done

    def count_tokens_async(self, messages: list[dict[str, str]]) -> Future[int]:
        self.counted += 1
        done: Future[int] = Future()
        done.set_result(sum(len(m["content"].split()) + self.per_message for m in messages))
        return done


class FakeEngine:
    """Starts a ``FakeStream`` per request and keeps them, newest last; can refuse to start."""

    def __init__(self) -> None:
        self.streams: list[FakeStream] = []
        self.refuse: InklingError | None = None
        self.model = ("Fake", "/models/fake.gguf")
        self.parallel_sequences = 1  # texts one request can decode side by side
        self.counter = WordCounter()  # what fitting counts with (context 0: nothing is fitted)

    @property
    def last(self) -> FakeStream:
        return self.streams[-1]

    def start_chat(self, history: list[dict[str, str]], sampling: SamplingSettings, *, continue_last: bool,
                   events: StreamEvents) -> FakeStream:
        return self._start({"history": history, "sampling": sampling, "continue_last": continue_last}, events)

    def start_completion(self, prompt: str, suffix: str, sampling: SamplingSettings, *, memory: str,
                         events: StreamEvents, sequences: int = 1, alternatives: bool = True) -> FakeStream:
        return self._start({"prompt": prompt, "suffix": suffix, "sampling": sampling, "memory": memory,
                            "sequences": sequences, "alternatives": alternatives}, events)

    def _start(self, request: dict[str, object], events: StreamEvents) -> FakeStream:
        if self.refuse is not None:
            raise self.refuse
        for older in self.streams:  # as the real engine: a new stream cancels the ones before it
            older.cancelled = True
        stream = FakeStream(request, events)
        self.streams.append(stream)
        return stream

    def current_model(self) -> tuple[str, str]:
        return self.model

    def fit(self, job: Callable[[TokenCounter], object], then: Callable[[object], None],
            failed: Callable[[InklingError], None]) -> None:
        """Fitting runs at once, on the test's thread, with a word-counting counter (no context: nothing fitted)."""
        try:
            value = job(self.counter)
        except InklingError as exc:
            failed(exc)
            return
        then(value)
