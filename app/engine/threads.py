"""The engine's side of the thread choice: time each decoded token, apply what the tuner decides.

With "automatic" threads (no count in ``LoadOptions`` and no ``INKLING_THREADS``) a
``ThreadTuner`` (``app.core.threads``) picks the decode thread count from measured
speed, and ``llama_set_n_threads`` applies it between two tokens. Prompt batches use
threads in the same proportion as at the start (on two cores: as many as decode), so
a busy machine reads long prompts with fewer threads too. A pinned count is applied
once at load and never changed.

Only steps that decode one token are timed: with drafting from the text a batch of a
token and its draft costs several steps and the steps it verifies cost almost none,
so timing them would measure how well the drafts guessed, not the thread count
(``skip``). A probe still running when a reply ends is dropped and the incumbent count
put back (``end``), so the next prompt, score or peek never runs at a probe's count.
"""

from __future__ import annotations

import os
import time
from typing import Any

from app.core.system import batch_threads, default_threads, threads_from_env
from app.core.threads import ThreadTuner, TunerSettings


class OtherLoad:
    """How many cores other programs keep busy: the machine's busy time (/proc/stat) less this process's own.

    Linux only (``sample`` answers None elsewhere); a read is two small files, taken
    every ``EVERY`` seconds of generation at most.
    """

    EVERY = 0.25

    def __init__(self) -> None:
        self._hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._last = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float] | None:
        """(all CPU time, idle CPU time) in clock ticks and this process's CPU seconds; None without /proc."""
        try:
            with open("/proc/stat", "rb") as f:
                ticks = [int(x) for x in f.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        own = os.times()
        return float(sum(ticks)), float(ticks[3] + ticks[4]), own.user + own.system  # idle + iowait

    def sample(self) -> float | None:
        """Cores other programs used since the last sample (0 on a machine where this process works alone)."""
        now = self._read()
        last, self._last = self._last, now
        if now is None or last is None or now[0] <= last[0]:
            return None
        total = (now[0] - last[0]) / self._hz  # CPU seconds of all cores together
        busy = total - (now[1] - last[1]) / self._hz
        wall = total / (os.cpu_count() or 1)
        return max(0.0, (busy - (now[2] - last[2])) / wall) if wall > 0 else None


class EngineThreads:
    """The thread counts of one loaded model's context: pinned, or tuned while it generates."""

    def __init__(self, requested: int | None, settings: TunerSettings | None = None) -> None:
        pinned = requested or threads_from_env()
        self.start = pinned or default_threads()
        self._batch_start = pinned or batch_threads(self.start)
        self.tuner = None if pinned else ThreadTuner(os.cpu_count() or self.start, self.start, settings)
        self._ctx: Any = None
        self._applied = self.start
        self._last = 0.0
        self._load = OtherLoad() if self.tuner is not None else None
        self._load_at = time.perf_counter()

    @property
    def automatic(self) -> bool:
        return self.tuner is not None

    @property
    def batch(self) -> int:
        """Prompt-batch threads for the load."""
        return self._batch_start

    def attach(self, ctx: Any) -> None:
        """Use the context of a loaded model (its counts are ``start`` and ``batch`` already)."""
        self._ctx = ctx
        self._applied = self.start

    def begin(self) -> None:
        """A generation starts: its first token is timed from here."""
        self.end()  # a generation that failed half-way may have left a probe running
        self._last = time.perf_counter()

    def end(self) -> None:
        """A generation ended: a probe in progress is dropped and the incumbent count applied again."""
        if self.tuner is None:
            return
        wanted = self.tuner.abandon_probe()
        if wanted != self._applied and self._ctx is not None:
            self.apply(wanted)

    def skip(self) -> None:
        """The time since the last call was not one token's decode (a draft batch, a verified draft): don't time it."""
        self._last = time.perf_counter()

    def token(self, count: int = 1) -> None:
        """``count`` tokens were generated since the last call: time them; change threads if the tuner says so."""
        if self.tuner is None:
            return
        now = time.perf_counter()
        if self._load is not None and now - self._load_at >= OtherLoad.EVERY:
            self._load_at = now
            others = self._load.sample()
            if others is not None:
                self.tuner.others(others)
        wanted = self.tuner.observe(now - self._last, count)
        self._last = now
        if wanted != self._applied and self._ctx is not None:
            self.apply(wanted)
            self._last = time.perf_counter()  # the change itself is not decode time

    def apply(self, threads: int) -> None:
        """Set decode threads (and prompt threads in proportion) on the context now."""
        import llama_cpp

        batch = max(1, round(self._batch_start * threads / self.start))
        llama_cpp.llama_set_n_threads(self._ctx, threads, batch)
        self._applied = threads
