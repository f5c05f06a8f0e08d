"""How many threads llama.cpp decodes with, chosen from measured speed rather than the core count.

llama.cpp's threads meet at a barrier at every step of a token, so each step waits
for the slowest thread. On a quiet machine more threads are faster; on a machine
whose cores are busy with other work (a browser, a build), a thread the OS does not
schedule stalls all the others, and two threads on two busy cores decode at a
fraction of one thread's speed (FACTS.md). No core count predicts which case a
machine is in at a given minute, so ``ThreadTuner`` measures:

- It decodes with one thread count (the incumbent) and keeps a short running
  figure of its tokens per second.
- Now and then it tries a neighbouring count (a probe) for a few tokens and keeps
  the faster. A probe that is clearly losing ends early: a try that is several
  times slower costs one token.
- Probes that lose come less and less often: the gap at least doubles, and is long
  enough that what the last probe cost stays within ``budget`` of the decode time
  (on a busy machine one token with the wrong count can take as long as fifteen
  with the right one). A steady machine pays almost nothing for them.
- When the incumbent's smoothed speed moves a lot, the machine changed: slower
  (load came) means try fewer threads at once, faster (load left) means try more;
  where there is no such count (one thread getting slower) nothing is tried.
- One thread's speed hardly changes when other programs stop (on two cores it had
  one to itself all along), so the engine also reports how many cores other programs
  keep busy (``others``): when that moves by half a core or more, the next probe comes
  at once, towards more threads when the others went quiet, fewer when they woke.

Pure Python and deterministic: fed timings, it answers thread counts. The engine
feeds it the time of every step that decodes one token (``app.engine.threads``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class TunerSettings:
    """The controller's knobs; the defaults were chosen for decode speeds of ~3–200 tok/s."""

    window: int = 8  # tokens per measurement of the incumbent: long enough to average out one slow token
    probe: int = 4  # tokens a probe runs at most (a losing one costs little; a win is checked again later)
    shortest_gap: int = 1  # windows between probes while the machine is changing
    longest_gap: int = 128  # ... and while it is steady
    settled_gap: int = 8  # ... after a move that can't go further the same way
    budget: float = 0.02  # share of decode time losing probes may cost while the machine is steady
    margin: float = 0.05  # a probe must be this much faster to take over (noise is not a reason to move)
    give_up: float = 2.0  # a probe this many times slower than the incumbent, token for token, ends at once
    drift: float = 0.35  # the incumbent speeding up or slowing down this much means the machine changed
    smoothing: float = 0.5  # weight of the newest window in the incumbent's running figure
    others_change: float = 0.5  # cores of other programs' use (smoothed) that mean the machine changed


class ThreadTuner:
    """An explore/exploit controller for the decode thread count, between 1 and ``most``."""

    def __init__(self, most: int, start: int, settings: TunerSettings | None = None) -> None:
        self.most = max(1, most)
        self.settings = settings or TunerSettings()
        self.incumbent = min(max(1, start), self.most)
        self.probe: int | None = None
        self.rate = 0.0  # the incumbent's running tok/s (0 until measured)
        self._reference = 0.0  # the incumbent's speed when the gap last reset: drift is measured from it
        self._gap = self.settings.shortest_gap
        self._since_probe = 0
        self._upward = False  # which neighbour the next probe tries: fewer threads first
        self._tokens = 0
        self._seconds = 0.0
        self._others: float | None = None  # cores other programs keep busy, smoothed
        self._others_reference: float | None = None

    @property
    def threads(self) -> int:
        """The thread count the next token should be decoded with."""
        return self.probe if self.probe is not None else self.incumbent

    def restart(self) -> None:
        """Forget the window in progress (a new request: the time between requests is not decode time)."""
        self._tokens, self._seconds = 0, 0.0

    def abandon_probe(self) -> int:
        """Drop a probe in progress, unjudged (its request ended); answer the count to use from now on.

        The next probe comes after the usual gap: a probe cut short is neither a win nor a loss.
        """
        self.probe = None
        self.restart()
        return self.threads

    def others(self, cores: float) -> None:
        """Other programs keep ``cores`` busy (measured since the last report): a big move means try again soon."""
        s = self.settings
        self._others = cores if self._others is None else s.smoothing * cores + (1 - s.smoothing) * self._others
        if self._others_reference is None:
            self._others_reference = self._others
            return
        if abs(self._others - self._others_reference) < s.others_change:
            return
        quieter = self._others < self._others_reference
        self._others_reference = self._others
        if self.probe is None and self._step(quieter) is not None:  # fewer others: more threads may pay now
            self._upward = quieter
            self._gap = s.shortest_gap
            self._since_probe = max(self._since_probe, s.shortest_gap - 1)

    def observe(self, seconds: float, tokens: int = 1) -> int:
        """Record ``tokens`` decoded in ``seconds`` with ``threads``; answer the count for the next token."""
        self._tokens += tokens
        self._seconds += max(seconds, 0.0)
        s = self.settings
        if self.probe is not None:
            # a probe that already took longer than the incumbent would for all its tokens has lost; one
            # far slower token for token has too (on a busy machine the wrong count is many times slower)
            done = self._seconds * self.rate  # tokens the incumbent would have written meanwhile
            if self._tokens >= s.probe or done > s.probe * (1 + s.margin) or done > s.give_up * self._tokens:
                self._end_probe(self._tokens, self._seconds)
        elif self._tokens >= s.window:
            self._end_window(self._tokens / self._seconds if self._seconds > 0 else float("inf"))
        return self.threads

    def _end_window(self, rate: float) -> None:
        s = self.settings
        self.restart()
        self.rate = rate if not self.rate else s.smoothing * rate + (1 - s.smoothing) * self.rate
        if not self._reference:
            self._reference = self.rate
        elif abs(self.rate - self._reference) > s.drift * self._reference:  # smoothed: one odd window is not it
            faster = self.rate > self._reference
            self._reference = self.rate = rate
            if self._step(faster) is not None:  # the machine changed: try the count that may now be better
                self._upward = faster
                self._gap = s.shortest_gap
        self._since_probe += 1
        if self._since_probe >= self._gap:
            self.probe = self._neighbour()
            self._since_probe = 0
            if self.probe is not None:  # at an edge the probe may go the other way: a win goes on that way
                self._upward = self.probe > self.incumbent

    def _end_probe(self, tokens: int, seconds: float) -> None:
        s = self.settings
        assert self.probe is not None
        rate = tokens / seconds if seconds > 0 else float("inf")
        self.restart()
        if rate > self.rate * (1 + s.margin):
            left = self.incumbent
            self.incumbent, self.rate, self._reference = self.probe, rate, rate
            further = self._step(self._upward) not in (left, None)
            # keep going the same way while it pays; where it can't go on, the count just left was
            # measured slower a moment ago: check it again later, not at once
            self._gap = s.shortest_gap if further else s.settled_gap
        else:
            lost = seconds * self.rate - tokens  # the incumbent's tokens this probe cost
            affordable = math.ceil(lost / (s.budget * s.window))  # windows that pay for it within the budget
            self._gap = min(max(self._gap * 2, affordable), s.longest_gap)
            self._upward = not self._upward
        self.probe = None

    def _step(self, upward: bool) -> int | None:
        """A quarter more or fewer threads than the incumbent (at least one), or None outside 1..most."""
        step = max(1, self.incumbent // 4)
        n = self.incumbent + step if upward else self.incumbent - step
        return n if 1 <= n <= self.most else None

    def _neighbour(self) -> int | None:
        """The count to try next: the way ``_upward`` says if there is one, else the other way."""
        first = self._step(self._upward)
        return first if first is not None else self._step(not self._upward)
