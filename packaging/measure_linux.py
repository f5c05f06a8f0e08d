#!/usr/bin/env python3
"""Time the built bundle as a user meets it: launch → window shown, launch → first token of a reply.

    DISPLAY=:N python3 packaging/measure_linux.py [--build build/linux] [--runs 5]

Each run starts the frozen executable with a fresh data folder (so the first-run path: the starter
model is found and loaded). "window" is until xdotool sees a visible window named Inkling; "first
token" is `inkling chat` until its first byte of reply on stdout (headless, one process tree, the
engine child included). Prints each run and the medians; the numbers in packaging/README.md come
from here. Run it on a quiet machine (the project's CPU lock).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _env(home: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(INKLING_HOME=home, **extra)
    return env


def first_token(exe: Path) -> float:
    with tempfile.TemporaryDirectory() as home:
        started = time.monotonic()
        proc = subprocess.Popen([str(exe), "chat", "--max-tokens", "8", "Say hello."], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=_env(home, QT_QPA_PLATFORM="offscreen"))
        assert proc.stdout is not None
        byte = proc.stdout.read(1)
        took = time.monotonic() - started
        proc.communicate(timeout=120)
        if not byte or proc.returncode:
            raise SystemExit(f"inkling chat failed (exit {proc.returncode})")
        return took


def window(exe: Path) -> tuple[float, float]:
    if not os.environ.get("DISPLAY") or not shutil.which("xdotool"):
        raise SystemExit("needs DISPLAY (an X server, e.g. Xvfb) and xdotool")
    with tempfile.TemporaryDirectory() as home:
        started = time.monotonic()
        proc = subprocess.Popen([str(exe)], env=_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while True:  # polled every 20 ms (`xdotool search --sync` looks only every 0.5 s)
                found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "Inkling$"],
                                       capture_output=True, text=True)
                if found.stdout.strip():
                    break
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("no Inkling window appeared")
                time.sleep(0.02)
            shown = time.monotonic() - started
            prefs = Path(home) / "config" / "preferences.json"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if prefs.exists() and json.loads(prefs.read_text() or "{}").get("model_path"):
                    break
                time.sleep(0.02)
            return shown, time.monotonic() - started
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=str(ROOT / "build" / "linux"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    exe = Path(args.build) / "dist" / "inkling" / "inkling"
    windows, loads, tokens = [], [], []
    for i in range(args.runs):
        shown, loaded = window(exe)
        tok = first_token(exe)
        windows.append(shown)
        loads.append(loaded)
        tokens.append(tok)
        print(f"run {i + 1}: launch → window {shown:.2f} s, → model loaded {loaded:.2f} s; "
              f"`inkling chat` launch → first token {tok:.2f} s", flush=True)
    print(f"median of {args.runs}: launch → window {statistics.median(windows):.2f} s, → model loaded "
          f"{statistics.median(loads):.2f} s, launch → first token {statistics.median(tokens):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
