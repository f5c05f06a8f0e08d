"""Threads benchmark: the app's automatic thread choice vs each fixed count, on a busy and a quiet machine.

    python tests/bench/threads.py [--model PATH] [--tokens 128] [--rounds 5] [--fixed 1,2]
                                  [--stress-cpus N] [--phases busy,quiet]

Three engines (Inkling's real engine processes, the same model): one with automatic
threads (no count pinned: what the app does by default), one pinned to each fixed
count. Each writes exactly ``--tokens`` tokens a run (a logit bias rules out the end
token); decode tok/s is taken between the first and the last streamed token, so the
prompt is not in it. The contenders alternate, the order rotating every round.

Two phases: **busy**, with ``stress-ng --cpu N`` (N = the cores, default) running the
whole phase, started and stopped here (and bounded by its own ``--timeout``, so it
never outlives the bench); then **quiet**. Each phase starts with one warm-up run per
contender (not counted), so the automatic engine meets the phase's machine before it is
measured, as it would in use. Targets (issue 20): automatic ≥ 0.90 × the best fixed
count's median under load, ≥ 0.97 × quiet. Run the quiet phase on an otherwise quiet
machine; the busy phase makes its own load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import end_bias, report, row, spread

from app.core.events import LoadOptions, TokenEvent
from app.core.sampling import SamplingSettings
from app.core.starter import starter_model_path
from app.core.system import THREADS_ENV
from app.engine.client import EngineClient

PROMPT = "Chapter One\n\nThe old lighthouse keeper climbed the stairs for the last time. "
SETTINGS = dict(temperature=0.7, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.1)
TARGETS = {"busy": 0.90, "quiet": 0.97}


def decode_rate(client: EngineClient, tokens: int, seed: int, bias: dict[int, float]) -> tuple[float, int]:
    """(tok/s between the first and the last token, tokens written) for one run."""
    stamps: list[float] = []

    def on_event(event: object) -> None:
        if isinstance(event, TokenEvent) and event.token_id >= 0:
            stamps.append(time.perf_counter())

    settings = SamplingSettings(max_tokens=tokens, seed=seed, logit_bias=tuple(bias.items()), **SETTINGS)
    client.complete(PROMPT, settings, listener=on_event).wait()
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 2 else 0.0
    return rate, len(stamps)


@contextmanager
def stress(cpus: int, bound_s: int) -> Iterator[None]:
    """``stress-ng --cpu cpus`` for the duration of the block (and never longer than ``bound_s``)."""
    proc = subprocess.Popen(["stress-ng", "--cpu", str(cpus), "--timeout", f"{bound_s}s", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(1.0)  # its workers up and spinning
        if proc.poll() is not None:
            raise SystemExit(f"stress-ng exited at once (code {proc.returncode})")
        yield
    finally:
        proc.terminate()  # stress-ng stops its workers on SIGTERM
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def run_phase(name: str, contenders: dict[str, EngineClient], tokens: int, rounds: int,
              bias: dict[int, float]) -> dict[str, list[float]]:
    names = list(contenders)
    for client in contenders.values():  # warm-up: caches, and the automatic engine meets this machine
        decode_rate(client, tokens, 1, bias)
    results: dict[str, list[float]] = {k: [] for k in names}
    for r in range(rounds):
        shift = r % len(names)
        order = names[shift:] + names[:shift]
        counts = {}
        for key in order:
            rate, counts[key] = decode_rate(contenders[key], tokens, 100 + r, bias)
            results[key].append(rate)
        if len(set(counts.values())) != 1:
            raise SystemExit(f"{name}, round {r + 1}: the contenders wrote different numbers of tokens: {counts}")
        print(f"{name} round {r + 1} ({' → '.join(order)}): "
              + ", ".join(f"{k} {results[k][-1]:.1f}" for k in names) + f" tok/s, {counts[names[0]]} tokens each",
              flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(starter_model_path()))
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ctx", type=int, default=1024)
    parser.add_argument("--fixed", default="1,2", help="fixed thread counts to compare with (default 1,2)")
    parser.add_argument("--stress-cpus", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--phases", default="busy,quiet")
    parser.add_argument("--stress-bound", type=int, default=1800, help="stress-ng's own timeout, seconds")
    args = parser.parse_args()
    phases = [p for p in args.phases.split(",") if p]
    if "busy" in phases and shutil.which("stress-ng") is None:
        print("stress-ng is not installed (apt-get install stress-ng)")
        print("BENCH-JSON " + json.dumps({"bench": "threads", "rows": [], "skipped": "stress-ng not installed"}))
        return
    pinned = os.environ.pop(THREADS_ENV, None)  # engines inherit the environment: automatic must be automatic
    fixed = [int(n) for n in args.fixed.split(",") if n]
    print(f"model {args.model}\n{os.cpu_count()} cores; fixed counts {fixed}; {args.tokens} tokens a run, "
          f"{args.rounds} rounds a phase; busy = stress-ng --cpu {args.stress_cpus}"
          + (f"\n({THREADS_ENV}={pinned} was set: unset for this bench)" if pinned else ""), flush=True)
    contenders = {"auto": EngineClient()}
    contenders.update({f"{n} thread{'s' if n > 1 else ''}": EngineClient() for n in fixed})
    try:
        for n, (key, client) in zip([None, *fixed], contenders.items(), strict=True):
            info = client.load(args.model, LoadOptions(n_ctx=args.ctx, n_threads=n))
            assert info.threads_automatic == (n is None), (key, info)
        bias = end_bias(args.model)
        results: dict[str, dict[str, list[float]]] = {}
        for phase in phases:
            if phase == "busy":
                with stress(args.stress_cpus, args.stress_bound):
                    results[phase] = run_phase(phase, contenders, args.tokens, args.rounds, bias)
            else:
                results[phase] = run_phase(phase, contenders, args.tokens, args.rounds, bias)
    finally:
        for client in contenders.values():
            client.close()

    rows = []
    print(f"\n{'phase':<7}{'contender':<12}{'tok/s (median)':>16}   spread")
    for phase, res in results.items():
        med = {k: statistics.median(v) for k, v in res.items()}
        for key in res:
            print(f"{phase:<7}{key:<12}{med[key]:>16.1f}   {spread(res[key])}")
            rows.append(row(f"{phase}: {key} decode", med[key], "tok/s", spread_text=spread(res[key])))
        best = max((k for k in res if k != "auto"), key=med.__getitem__)
        ratio = med["auto"] / med[best]
        per_round = [a / b for a, b in zip(res["auto"], res[best], strict=True)]
        target = TARGETS.get(phase, 0.0)
        print(f"{phase}: automatic ÷ best fixed ({best}) = {ratio:.3f}   (target ≥ {target:.2f}) "
              f"{'PASS' if ratio >= target else 'MISS'}   per round {spread(per_round)}")
        rows.append(row(f"{phase}: automatic ÷ best fixed ({best})", ratio, "×", f"≥ {target:.2f}", ratio >= target,
                        spread(per_round)))
    report("threads", rows)


if __name__ == "__main__":
    main()
