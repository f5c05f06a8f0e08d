"""UI streaming benchmark: is the event loop still responsive while a reply streams?

    python tests/bench/ui_stream.py [--tokens 400]

Two cases, each in the real window (offscreen) over a conversation that already
has 200 messages:

- **400 tokens** from the real starter model (forced to that length);
- **a 70 kB reply** from a scripted engine (12 characters every 2 ms), which
  takes Inkling's incremental rendering path for long replies.

A 4 ms timer measures how late the event loop serves it; p50/p99/max lateness is
taken over the streaming phase only — from the first token on screen to the
last — not over the idle prompt evaluation before it. Target: p99 ≤ 16 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import end_bias, report, row

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SECTION = ("## Part {i}\n\nThe harbour town woke slowly. Fishing boats knocked against the pier while gulls argued "
           "over scraps, and the baker opened her shutters to the smell of bread and tar.\n\n"
           "1. **Read** the tide table\n2. *Check* the nets\n3. Mend what broke\n\n"
           "```python\ndef haul_{i}(nets):\n    return [n for n in nets if n.full]\n```\n\n")
LONG_REPLY = "".join(SECTION.format(i=i) for i in range(400))[:70_000]


def _seed_history(storage: object) -> None:
    conv = storage.create_conversation(title="Long chat")  # type: ignore[attr-defined]
    parent = None
    for i in range(100):
        parent = storage.add_message(conv.id, parent, "user", f"Question {i}: how does step {i} work?").id  # type: ignore[attr-defined]
        body = (f"Step {i} works like this:\n\n1. **Read** the input\n2. *Transform* it\n\n"
                f"```python\ndef step_{i}(x):\n    return x * {i}\n```\n\nThat is all there is to step {i}. ") * 2
        parent = storage.add_message(conv.id, parent, "assistant", body).id  # type: ignore[attr-defined]


def _window(scripted: bool) -> object:
    from app.core.paths import app_paths
    from app.core.preferences import Preferences
    from app.core.storage import Storage

    os.environ["INKLING_HOME"] = tempfile.mkdtemp(prefix="inkling-bench-")
    paths = app_paths().ensure()
    Preferences().save(paths.preferences)
    storage = Storage(paths.database)
    _seed_history(storage)
    if not scripted:
        storage.close()
        from app.main import create_main_window

        return create_main_window()
    from ui.fake_engine import FakeEngine

    from app.main import compose_window
    from app.models.library import ModelLibrary
    from app.ui.engine_bridge import EngineBridge

    bridge = EngineBridge(FakeEngine(LONG_REPLY, piece=12, delay=0.002))
    window = compose_window(paths, Preferences(), storage, bridge, ModelLibrary(paths.models))
    bridge.load("/scripted.gguf")
    return window


def measure(scripted: bool, tokens: int) -> dict[str, float]:
    from PySide6.QtCore import QEventLoop, QTimer

    from app.core.sampling import SamplingSettings

    window = _window(scripted)
    window.resize(1280, 820)  # type: ignore[attr-defined]
    window.show()  # type: ignore[attr-defined]
    loop = QEventLoop()
    if not window.bridge.free:  # type: ignore[attr-defined]
        window.bridge.model_loaded.connect(loop.quit)  # type: ignore[attr-defined]
        QTimer.singleShot(60_000, loop.quit)
        loop.exec()  # a real event loop: a busy processEvents() loop would steal a core from the engine
    chat = window.chat  # type: ignore[attr-defined]
    if not chat.path:
        chat.open_conversation(window.storage.conversations()[0].id)  # type: ignore[attr-defined]
    bias = () if scripted else tuple(end_bias(str(window.bridge.info.path)).items())  # type: ignore[attr-defined]
    chat.set_sampling(SamplingSettings(temperature=0.8, max_tokens=tokens, seed=11, repeat_penalty=1.05,
                                       logit_bias=bias))
    ticks: list[tuple[float, float]] = []  # (time, lateness ms)
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        ticks.append((now, max(0.0, (now - last[0]) * 1000 - 4)))
        last[0] = now

    ticker = QTimer()
    ticker.setInterval(4)
    ticker.timeout.connect(tick)
    result: list[object] = []
    first_token: list[float] = []
    chat.reply_finished.connect(result.append)
    chat.reply_finished.connect(loop.quit)
    chat.composer.setPlainText("Now write a long story about a robot learning to paint.")
    chat.send()
    chat.reply.handle.tokens_arrived.connect(lambda _b: first_token or first_token.append(time.perf_counter()))
    last[0] = time.perf_counter()
    ticker.start()
    loop.exec()
    ended = time.perf_counter()
    ticker.stop()
    fin = result[0]
    streaming = [late for at, late in ticks if first_token and first_token[0] < at <= ended]
    window.close()  # type: ignore[attr-defined]
    return {"p50": statistics.median(streaming), "p99": sorted(streaming)[max(0, int(len(streaming) * 0.99) - 1)],
            "max": max(streaming), "chars": len(fin.text), "tokens": fin.timings.generated_tokens,  # type: ignore[attr-defined]
            "seconds": ended - first_token[0], "samples": len(streaming)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=400)
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    QApplication.instance() or QApplication(sys.argv)
    cases = {f"{args.tokens} tokens, real model": measure(False, args.tokens),
             "70 kB reply, scripted engine": measure(True, args.tokens)}
    rows = []
    print(f"\n{'case':<32}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}   streamed")
    for name, m in cases.items():
        ok = m["p99"] <= 16
        print(f"{name:<32}{m['p50']:>8.1f}{m['p99']:>8.1f}{m['max']:>8.1f}   {m['chars']:,} chars in {m['seconds']:.1f} s "
              f"({m['samples']} samples) · target p99 ≤ 16 ms {'PASS' if ok else 'MISS'}")
        rows.append(row(f"event-loop delay p50, {name}", m["p50"], "ms"))
        rows.append(row(f"event-loop delay p99, {name}", m["p99"], "ms", "≤ 16 ms", ok, f"max {m['max']:.1f} ms"))
    report("ui_stream", rows)


if __name__ == "__main__":
    main()
