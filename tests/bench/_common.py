"""What the benchmarks share: forced reply lengths, spreads, an X server, and the summary line.

Every benchmark prints its own table for a person, then one line
``BENCH-JSON {"bench": ..., "rows": [...]}`` that ``python3 dev.py bench`` gathers
into one summary table. A row is ``{"metric", "value", "unit", "target", "ok",
"spread"}``; ``ok`` is None where the number has no target.
"""

from __future__ import annotations

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

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))


def end_bias(model: str) -> dict[int, float]:
    """A logit bias against every end-of-generation token: each contender writes exactly max_tokens."""
    from long_reply import NEVER, end_of_generation_ids

    return {t: NEVER for t in end_of_generation_ids(model)}


def rate(stamps: list[tuple[float, int]]) -> float:
    """Tokens per second between the first and the last (time, tokens so far) sample."""
    (t0, n0), (t1, n1) = stamps[0], stamps[-1]
    return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0


def spread(values: list[float]) -> str:
    """min … max and the interquartile range, for a person to judge how stable a median is."""
    if len(values) < 2:
        return ""
    q = statistics.quantiles(values, n=4, method="inclusive")
    return f"min {min(values):.3f} · IQR {q[0]:.3f}–{q[2]:.3f} · max {max(values):.3f}"


def row(metric: str, value: float, unit: str = "", target: str = "", ok: bool | None = None,
        spread_text: str = "") -> dict[str, object]:
    return {"metric": metric, "value": round(value, 4), "unit": unit, "target": target, "ok": ok,
            "spread": spread_text}


def report(bench: str, rows: list[dict[str, object]]) -> None:
    print("BENCH-JSON " + json.dumps({"bench": bench, "rows": rows}), flush=True)


@contextmanager
def x_display(wanted: bool) -> Iterator[str | None]:
    """A real X server for the window: the current DISPLAY, or a private Xvfb started (and stopped) here."""
    if not wanted:
        yield None
        return
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    if shutil.which("Xvfb") is None:
        raise SystemExit("Xvfb is not installed: install it, set DISPLAY, or pass --offscreen")
    number = next(n for n in range(140, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists()
                  and not Path(f"/tmp/.X{n}-lock").exists())
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("Xvfb did not start")
            time.sleep(0.05)
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(5)
