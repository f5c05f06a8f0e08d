"""A scripted engine for fast UI tests: streams a given text in small pieces from a thread.

It implements the same EnginePort as the real engine; it sits beside the
real-model tests, never in place of them.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

from app.core.announcer import Announcer
from app.core.capabilities import LOCAL
from app.core.engine_status import EngineStatus
from app.core.events import Finished, LoadOptions, ModelInfo, Timings, TokenEvent
from app.core.ports import PeekResult
from app.core.sampling import SamplingSettings


class FakeStream:
    def __init__(self, text: str, listener, piece: int, delay: float) -> None:
        self.finished: Finished | None = None
        self.not_applied: tuple[str, ...] = ()  # StreamPort: every setting applied, served as asked
        self.note = ""
        self._text = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(text, listener, piece, delay), daemon=True)
        self._thread.start()

    def _run(self, text: str, listener, piece: int, delay: float) -> None:
        started = time.perf_counter()
        n = 0
        for i in range(0, len(text), piece):
            if self._stop.is_set():
                break
            chunk = text[i : i + piece]
            self._text += chunk
            n += 1
            listener(TokenEvent(chunk, i))
            time.sleep(delay)
        reason = "cancelled" if self._stop.is_set() else "stop"
        ms = (time.perf_counter() - started) * 1000
        self.finished = Finished(reason, self._text, Timings(10, 10, 1.0, n, ms, 1.0))
        listener(self.finished)

    @property
    def done(self) -> bool:
        return self.finished is not None

    @property
    def text(self) -> str:
        return self._text

    def cancel(self) -> None:
        self._stop.set()


class FakeEngine:
    """Answers every chat with ``script`` (piece characters every ``delay`` seconds)."""

    def __init__(self, script: str, piece: int = 8, delay: float = 0.002) -> None:
        self.script, self.piece, self.delay = script, piece, delay
        self.info: ModelInfo | None = None
        self.pid = None
        self.capabilities = LOCAL  # EnginePort: what it can do (a local engine's everything)
        self.requests: list[tuple[str, object]] = []
        self.status = EngineStatus()
        self.status_changed: Announcer[[EngineStatus]] = Announcer()  # EnginePort: it never crashes nor reloads

    parallel_sequences = 1  # one text per request

    def start(self) -> Future:
        fut: Future = Future()
        fut.set_result(None)
        return fut

    def load_async(self, path: str, options: LoadOptions | None = None) -> Future:
        self.info = ModelInfo(path, "Fake", "fake", 1, "F32", 1, 2048, 2048, 100, True, "", False, 0, 1)
        fut: Future = Future()
        fut.set_result(self.info)
        return fut

    def chat(self, messages, sampling: SamplingSettings | None = None, *, alternatives=0, listener=None,
             continue_last=False) -> FakeStream:
        self.requests.append(("chat", sampling))
        return FakeStream(self.script, listener, self.piece, self.delay)

    def complete(self, prompt, sampling=None, *, alternatives=0, listener=None, suffix="", memory="",
                 sequences=1) -> FakeStream:
        self.requests.append(("complete", sampling))
        return FakeStream(self.script, listener, self.piece, self.delay)

    def peek_async(self, messages=None, prompt=None, top=64) -> Future:
        fut: Future = Future()
        fut.set_result(PeekResult([(" a", 1, 2.0), (" b", 2, 1.0)], 2.5))
        return fut

    def count_text_async(self, text: str) -> Future:
        fut: Future = Future()
        fut.set_result(len(text.split()))
        return fut

    def score_async(self, text: str, top: int = 1) -> Future:
        raise NotImplementedError

    def cancel(self) -> None:
        pass

    def close(self) -> None:
        pass


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
