"""Startup: launch → window on screen, launch → model ready, Send → first token shown; median of cold starts.

    python tests/bench/startup.py [--starts 5] [--offscreen]

Each start is a new process running Inkling's real ``main()`` (the command a
person runs) over a fresh INKLING_HOME, under the X server in DISPLAY or a
private Xvfb (``--offscreen`` for Qt's offscreen platform). "Launch" is the
moment this script starts the process; "on screen" is the main window's first
expose; "first token" is the first paint of the reply while its view holds reply text
(``MarkdownView.shown_end``).
Targets (DESIGN.md): window ≤ 1 s, first token ≤ 2 s.

A first start runs before the counted ones and is not counted: it warms the disk
cache and, as a person's first run of Python code does, writes the bytecode
(``__pycache__``) of the modules it imports, even where PYTHONDONTWRITEBYTECODE
is set (``python3 dev.py`` also precompiles app/, as pip does for installed
packages). The counted starts run with the environment as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, report, row, spread, x_display


def child() -> None:
    """Run Inkling's main() with probes on the window, the model and the first reply."""
    launched = float(os.environ["INKLING_BENCH_LAUNCHED"])
    import app.main as inkling

    marks: dict[str, float] = {}

    def mark(name: str) -> None:
        if name not in marks:
            marks[name] = time.time() - launched

    real_create = inkling.create_main_window

    def create_main_window(**kwargs: object) -> object:
        from PySide6.QtCore import QEvent, QObject, QTimer
        from PySide6.QtWidgets import QApplication

        from app.core.sampling import SamplingSettings

        window = real_create(**kwargs)  # type: ignore[arg-type]

        class Probe(QObject):
            def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
                if event.type() == QEvent.Type.Expose and obj.isExposed():  # type: ignore[attr-defined]
                    mark("window")
                elif event.type() == QEvent.Type.Paint and "send" in marks and body[0] is not None \
                        and body[0].shown_end > 0:  # the view holds reply text as it paints
                    mark("first_token")
                    QTimer.singleShot(0, finish)
                return False

        probe = Probe(window)
        body: list[object] = [None]

        def attach() -> None:  # the native window exists once show() ran
            handle = window.windowHandle()
            if handle is not None:
                handle.installEventFilter(probe)

        def send() -> None:
            mark("ready")
            chat = window.chat
            chat.set_sampling(SamplingSettings(temperature=0.0, max_tokens=8))
            chat.composer.setPlainText("Say hello.")
            marks["send"] = time.time() - launched
            chat.send()
            body[0] = chat.reply.widget.body
            body[0].viewport().installEventFilter(probe)

        def finish() -> None:
            print("MARKS " + json.dumps(marks), flush=True)
            window.close()
            QApplication.quit()

        QTimer.singleShot(0, attach)
        window.bridge.model_loaded.connect(lambda _info: QTimer.singleShot(0, send))
        return window

    inkling.create_main_window = create_main_window  # type: ignore[assignment]
    inkling.main()


def one_start(display: str | None, *, write_bytecode: bool = False) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INKLING_HOME": tempfile.mkdtemp(prefix="inkling-startup-")}
    if write_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    if display:
        env["DISPLAY"], env["QT_QPA_PLATFORM"] = display, "xcb"
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    env["INKLING_BENCH_LAUNCHED"] = repr(time.time())
    out = subprocess.run([sys.executable, __file__, "--child"], env=env, capture_output=True, text=True, timeout=120)
    line = next((x for x in out.stdout.splitlines() if x.startswith("MARKS ")), None)
    if line is None:
        raise SystemExit(f"the app did not report (exit {out.returncode}): {out.stderr[-2000:]}")
    marks = json.loads(line[6:])
    return {"window": marks["window"], "ready": marks["ready"], "first_token": marks["first_token"] - marks["send"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--offscreen", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child()
    where = "offscreen" if args.offscreen else "Xvfb"
    runs: list[dict[str, float]] = []
    with x_display(not args.offscreen) as display:
        one_start(display, write_bytecode=True)  # warms the disk cache, writes bytecode as a first run does: not counted
        for i in range(args.starts):
            runs.append(one_start(display))
            r = runs[-1]
            print(f"start {i + 1}: window {r['window'] * 1000:5.0f} ms · model ready {r['ready'] * 1000:5.0f} ms · "
                  f"Send → first token {r['first_token'] * 1000:5.0f} ms", flush=True)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    targets = {"window": 1.0, "first_token": 2.0}
    names = {"window": "launch → window on screen", "ready": "launch → model ready",
             "first_token": "Send → first token shown"}
    print(f"\nmedian of {args.starts} cold starts ({where}):")
    rows = []
    for key, name in names.items():
        target = targets.get(key)
        ok = None if target is None else med[key] <= target
        verdict = "" if target is None else f"(target ≤ {target:g} s) {'PASS' if ok else 'MISS'}"
        print(f"  {name:<28} {med[key] * 1000:6.0f} ms  {verdict}")
        rows.append(row(f"{name} ({where})", med[key] * 1000, "ms", f"≤ {target * 1000:.0f} ms" if target else "", ok,
                        spread([r[key] * 1000 for r in runs])))
    report("startup", rows)


if __name__ == "__main__":
    main()
