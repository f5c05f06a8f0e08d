"""A scripted engine for fast UI tests: streams a given text in small pieces from a thread.

It implements the same EnginePort as the real engine; it sits beside the
real-model tests, never in place of them.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import Future
from pathlib import Path

from app.core.adapters import AdapterInfo
from app.core.announcer import Announcer
from app.core.capabilities import LOCAL
from app.core.engine_status import EnginePhase, EngineStatus, publish_status
from app.core.errors import FeatureUnavailable, NoModelLoaded
from app.core.events import Finished, LoadOptions, ModelInfo, Timings, TokenEvent
from app.core.ports import PeekResult
from app.core.sampling import SamplingSettings
from app.engine.stream import Stream

FAKE_CONTEXT = 2048  # the context a load gets when its options ask for none


def fake_tokens(text: str) -> int:
    """The fake's tokenizer: a word is a token, and so is each punctuation mark and each line break
    (true of plain, common English words for the starter model too: its vocabulary has each with
    and without its leading space)."""
    return len(re.findall(r"\w+|[^\w\s]|\n", text))


def _done(value: object) -> Future:
    fut: Future = Future()
    fut.set_result(value)
    return fut


class FakeEngine:
    """Answers every chat and completion with ``script`` (``piece`` characters every ``delay`` seconds).

    An ``EnginePort`` like the real engines: the one ``Stream`` class, ``NoModelLoaded`` before a
    load, Stop keeps the text so far, ``not_applied`` from its capabilities, a ``PeekResult``, a
    token count (``fake_tokens``) and the context of its load options, so fitting above the port
    (``app.core.fitting``) treats it like the others.
    """

    def __init__(self, script: str, piece: int = 8, delay: float = 0.002) -> None:
        self.script, self.piece, self.delay = script, piece, delay
        self.info: ModelInfo | None = None
        self.pid = None
        self.capabilities = LOCAL  # EnginePort: what it can do (a local engine's everything)
        self.requests: list[tuple[str, object]] = []
        self.adapter = ("", 1.0)  # the LoRA put on (path, strength); ("", 1.0): none
        self.prompts: list[object] = []  # what each request was given (the messages, or the prompt)
        self.tools_offered: list[object] = []  # the tools each chat request was offered (None: none)
        self.status = EngineStatus()
        self.status_changed: Announcer[[EngineStatus]] = Announcer()  # EnginePort: it never crashes nor reloads
        self._active: Stream | None = None
        self._stops: dict[int, threading.Event] = {}

    parallel_sequences = 1  # one text per request

    def start(self) -> Future:
        return _done(None)

    def load_async(self, path: str, options: LoadOptions | None = None) -> Future:
        context = (options.n_ctx if options is not None and options.n_ctx else 0) or FAKE_CONTEXT
        self.info = ModelInfo(path, "Fake", "fake", 1, "F32", 1, context, context, 100, True, "", False, 0, 1)
        publish_status(self, EngineStatus(EnginePhase.IDLE, path))
        return _done(self.info)

    def chat(self, messages, sampling: SamplingSettings | None = None, *, alternatives=0, listener=None,
             continue_last=False, tools=None) -> Stream:
        self.requests.append(("chat", sampling))
        self.tools_offered.append(tools)  # a fake writes its script; it never calls a tool
        self.prompts.append([dict(m) for m in messages])
        return self._stream(sampling, listener)

    def complete(self, prompt, sampling=None, *, alternatives=0, listener=None, suffix="", memory="",
                 sequences=1) -> Stream:
        self.requests.append(("complete", sampling))
        self.prompts.append(prompt)
        return self._stream(sampling, listener)

    def _stream(self, sampling: SamplingSettings | None, listener) -> Stream:
        settings = sampling or SamplingSettings()
        stream = Stream(self._cancel_stream, listener, not_applied=self.capabilities.not_applied(settings))
        self.cancel()  # one stream at a time, like the real engines
        self._active = stream
        if self.info is None:
            stream._deliver(NoModelLoaded())
            return stream
        stop = self._stops[id(stream)] = threading.Event()
        threading.Thread(target=self._run, args=(stream, stop), daemon=True).start()
        return stream

    def _run(self, stream: Stream, stop: threading.Event) -> None:
        started = time.perf_counter()
        n = 0
        for i in range(0, len(self.script), self.piece):
            if stop.is_set():
                break
            n += 1
            stream._deliver(TokenEvent(self.script[i : i + self.piece], i))
            time.sleep(self.delay)
        reason = "cancelled" if stop.is_set() else "stop"
        ms = (time.perf_counter() - started) * 1000
        stream._deliver(Finished(reason, stream.text, Timings(10, 10, 1.0, n, ms, 1.0), not_applied=stream.not_applied))
        self._stops.pop(id(stream), None)

    def _cancel_stream(self, stream: Stream) -> None:
        stream.cancel_requested = True
        stop = self._stops.get(id(stream))
        if stop is not None:
            stop.set()

    def set_adapter_async(self, path=None, scale=1.0) -> Future:
        """Like the engine: recorded and said to drop the cached prompt; refused without a model."""
        if self.info is None:
            fut: Future = Future()
            fut.set_exception(NoModelLoaded())
            return fut
        self.adapter = (str(path or ""), float(scale))
        return _done(AdapterInfo(str(path or ""), Path(path).stem if path else "", float(scale), cache_dropped=True))

    def peek_async(self, messages=None, prompt=None, top=64) -> Future:
        if self.info is None:
            fut: Future = Future()
            fut.set_exception(NoModelLoaded())
            return fut
        return _done(PeekResult([(" a", 1, 2.0), (" b", 2, 1.0)][:top], 2.5, 0.5))

    def count_text_async(self, text: str) -> Future:
        return _done(fake_tokens(text))

    def count_tokens_async(self, messages) -> Future:
        """A chat as ChatML renders it: 5 tokens around each message, 3 for the reply's start."""
        return _done(3 + sum(5 + fake_tokens(m.get("content", "")) for m in messages))

    def score_async(self, text: str, top: int = 1) -> Future:
        fut: Future = Future()
        fut.set_exception(FeatureUnavailable("scoring", "The fake engine does not score texts."))
        return fut

    def cancel(self) -> None:
        active = self._active
        if active is not None and not active.done:
            active.cancel()

    def close(self) -> None:
        self.cancel()


def fake_window(engine: FakeEngine):
    """The real main window over ``engine`` and the INKLING_HOME in the environment (not shown yet)."""
    from app.core.paths import app_paths
    from app.core.preferences import Preferences
    from app.core.storage import Storage
    from app.main import compose_window
    from app.models.library import ModelLibrary
    from app.ui.engine_bridge import EngineBridge

    paths = app_paths().ensure()
    bridge = EngineBridge(engine)
    return compose_window(paths, Preferences(), Storage(paths.database), bridge, ModelLibrary(paths.models))
