"""The decode-thread controller against synthetic machines: quiet, busy, changing, noisy.

A machine is a function (token index, threads) -> tok/s. The speeds are the ones
measured on this 2-core machine (FACTS.md, issue 20): one thread ~29 tok/s and two
~48 tok/s when quiet; with both cores busy elsewhere, two threads 3.6 tok/s while
one keeps ~15. No model, no Qt, no clock: the tuner only sees the timings it is fed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from itertools import pairwise

from app.core.threads import ThreadTuner

QUIET = {1: 29.0, 2: 48.0}
BUSY = {1: 15.0, 2: 3.6}
Machine = Callable[[int, int], float]


def drive(tuner: ThreadTuner, machine: Machine, tokens: int, noise: float = 0.0,
          seed: int = 0) -> tuple[float, list[int]]:
    """Decode ``tokens`` tokens: (seconds taken, the thread count each token was decoded with)."""
    rng = random.Random(seed)
    seconds, used = 0.0, []
    for i in range(tokens):
        threads = tuner.threads
        took = 1.0 / machine(i, threads) * (1.0 + noise * rng.uniform(-1.0, 1.0))
        seconds += took
        used.append(threads)
        tuner.observe(took)
    return seconds, used


def steady(speeds: dict[int, float]) -> Machine:
    return lambda _i, n: speeds[n]


def test_on_a_quiet_machine_it_keeps_every_core_and_probing_costs_under_three_percent() -> None:
    tuner = ThreadTuner(most=2, start=2)
    seconds, used = drive(tuner, steady(QUIET), 4000)
    assert tuner.incumbent == 2
    assert 4000 / seconds >= 0.97 * QUIET[2]
    assert used[-2000:].count(1) <= 0.02 * 2000  # late on, a short probe every 512 tokens


def test_on_a_busy_machine_it_drops_to_one_thread_within_two_windows_and_keeps_nine_tenths_of_its_speed() -> None:
    tuner = ThreadTuner(most=2, start=2)
    seconds, used = drive(tuner, steady(BUSY), 1000)
    assert used.index(1) <= 2 * tuner.settings.window
    assert tuner.incumbent == 1
    assert 1000 / seconds >= 0.9 * BUSY[1]


def test_it_follows_the_machine_as_load_comes_and_goes() -> None:
    def machine(i: int, n: int) -> float:
        return (BUSY if 1000 <= i < 2000 else QUIET)[n]

    tuner = ThreadTuner(most=2, start=2)
    _seconds, used = drive(tuner, machine, 3000)
    assert used[990:1000] == [2] * 10  # quiet: both cores
    switched_down = used.index(1, 1000) - 1000
    assert switched_down <= 3 * tuner.settings.window  # the slowdown is noticed at once
    assert used[1100:2000].count(2) <= 4 * 8  # busy: one thread, bar a few short probes
    switched_up = used.index(2, 2000) - 2000
    assert switched_up <= 3 * tuner.settings.window  # and back up as soon as the cores are free
    assert used[2100:].count(1) <= 4 * 8


def test_measurement_noise_does_not_make_it_wander() -> None:
    tuner = ThreadTuner(most=2, start=2)
    seconds, used = drive(tuner, steady(QUIET), 4000, noise=0.2, seed=3)
    switches = sum(a != b for a, b in pairwise(used))
    assert switches <= 40  # probes in and out, no flapping
    assert 4000 / seconds >= 0.96 * QUIET[2]


def test_on_a_big_machine_it_climbs_down_in_quarter_steps_to_the_best_count() -> None:
    def busy16(_i: int, n: int) -> float:  # half the cores busy: best at 6 threads, worse either side
        return 60.0 - 4.0 * abs(n - 6) ** 1.5

    tuner = ThreadTuner(most=16, start=8)
    _seconds, used = drive(tuner, busy16, 2000)
    assert tuner.incumbent in (5, 6, 7)
    assert sum(abs(n - 6) <= 1 for n in used[-1000:]) >= 900


def test_a_single_core_machine_never_probes() -> None:
    tuner = ThreadTuner(most=1, start=4)
    _seconds, used = drive(tuner, lambda _i, _n: 10.0, 200)
    assert set(used) == {1}


def test_restart_drops_the_window_in_progress() -> None:
    tuner = ThreadTuner(most=2, start=2)
    drive(tuner, steady(QUIET), 8)  # one window measured: 48 tok/s
    for _ in range(5):
        tuner.observe(1 / 48)
    tuner.restart()  # a new request; whatever came before is not this window's
    for _ in range(8):
        tuner.observe(1 / 48)
    assert abs(tuner.rate - 48.0) < 0.5


def test_probing_a_far_slower_count_stays_within_its_budget() -> None:
    very_busy = {1: 33.0, 2: 2.5}  # two threads 13 times slower: one probing token costs 12 of the incumbent's
    tuner = ThreadTuner(most=2, start=2)
    seconds, used = drive(tuner, steady(very_busy), 4000)
    after_start = [i for i, n in enumerate(used) if n == 2 and i >= 2 * tuner.settings.window]
    probing_s = len(after_start) / very_busy[2]
    assert probing_s <= tuner.settings.budget * seconds, (len(after_start), probing_s, seconds)


def test_one_thread_getting_slower_tries_nothing_but_getting_faster_tries_more() -> None:
    def machine(i: int, n: int) -> float:  # one thread is best; the machine gets busier, then quiet
        base = {1: 30.0, 2: 5.0}[n]
        return base / 2 if 1000 <= i < 2000 else base * (3 if i >= 2000 and n == 2 else 1)

    tuner = ThreadTuner(most=2, start=1)
    _seconds, used = drive(tuner, machine, 2100)
    assert used[1000:1200].count(2) == 0  # slower at one thread: nothing fewer to try, no probe
    assert used[2000:2040].count(2) >= 1  # faster: more threads may pay now, tried at once


def test_after_an_edge_probe_wins_it_goes_on_the_way_that_probe_went() -> None:
    # 16 cores, every one in use: a probe of 12 loses (so "upward" is next), but there is nothing above
    # 16 and the next probe is 12 again; now load came and fewer threads pay, so 12 wins and the way on
    # is further down (9), not back up (15)
    def machine(i: int, n: int) -> float:
        if n == 16:
            return 100.0  # the incumbent's speed does not move: no drift says which way to go
        return 50.0 if i < 12 else 200.0 - 10.0 * abs(n - 8)

    tuner = ThreadTuner(most=16, start=16)
    _seconds, used = drive(tuner, machine, 400)
    runs = [n for n, m in zip(used, [None, *used[:-1]], strict=True) if n != m]  # each count as it was taken up
    first_win = runs.index(12, runs.index(16, 2))  # the second time 12 is tried (after the losing first)
    assert runs[first_win + 1] == 9, runs[:12]
    assert 15 not in runs, runs[:12]


def test_a_probe_abandoned_when_a_request_ends_goes_back_to_the_incumbent() -> None:
    tuner = ThreadTuner(most=2, start=2)
    drive(tuner, steady(QUIET), 8)  # one window: the first probe (one thread) starts
    assert tuner.probe == 1 and tuner.threads == 1
    assert tuner.abandon_probe() == 2
    assert tuner.probe is None and tuner.threads == 2 and tuner.incumbent == 2
    _seconds, used = drive(tuner, steady(QUIET), 8)
    assert used == [2] * 8  # the next request starts with the incumbent, and the probe's window is gone


def test_when_the_other_programs_go_quiet_it_tries_more_threads_at_once() -> None:
    """One thread's speed barely moves when the load on the other core leaves (it had a core to itself all along):
    only the other programs' CPU use says the machine changed. Without it the next probe waited up to
    1,024 tokens after a long busy spell (the threads bench: auto 0.917 × two threads in its quiet phase)."""
    busy_one_thread = {1: 28.0, 2: 3.6}  # on the busy machine one thread runs at its quiet speed
    tuner = ThreadTuner(most=2, start=2)
    for _ in range(300):  # a long busy spell: probes of two threads lose, the gap between them grows
        tuner.others(1.0)
        drive(tuner, steady(busy_one_thread), 8)
    assert tuner.incumbent == 1
    tuner.others(0.0)  # the others stopped (smoothed: two reports)
    tuner.others(0.0)
    _, used = drive(tuner, steady(QUIET), 3 * tuner.settings.window)
    assert tuner.incumbent == 2, used
    assert used.index(2) <= 2 * tuner.settings.window


def test_small_moves_of_the_other_programs_change_nothing() -> None:
    tuner = ThreadTuner(most=2, start=2)
    drive(tuner, steady(BUSY), 400)
    gap = tuner._gap
    for load in (0.9, 1.1, 0.8, 1.0, 0.95):
        tuner.others(load)
    assert tuner._gap == gap
