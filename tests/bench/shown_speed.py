"""Shown speed: tokens per second the Chat pane shows ÷ plain llama-cpp-python streaming the same chat.

    python tests/bench/shown_speed.py [--rounds 7] [--tokens 300] [--offscreen]

Two processes stay loaded side by side: the real Inkling window (under the X
server in DISPLAY, or a private Xvfb this script starts; ``--offscreen`` for
Qt's offscreen platform) and a plain llama-cpp-python script with the same
model, threads and sampling settings. Each round runs the same chat in both,
in alternating order, one at a time; each writes exactly ``--tokens`` tokens
(a logit bias rules out the end token), and the counts are checked equal.

Inkling's number is what a person sees: each time the reply's text widget is
painted, the tokens whose text it shows then are recorded (read from the view,
``MarkdownView.shown_end``, not from what it was given); tok/s runs from the
first paint that shows a token to the paint that shows the last one. Plain's number runs
from its first streamed chunk to its last. The ratio of medians is the result
(target ≥ 0.97); the per-round ratios give the spread. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, end_bias, rate, report, row, spread, x_display

PROMPT = "Write a long story about a lighthouse keeper who finds a message in a bottle."
SAMPLING = dict(temperature=0.7, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.1)


# -- the two contenders, each in its own process ------------------------------------------------

def plain_child(model: str, tokens: int) -> None:
    import llama_cpp

    from app.core.system import default_threads

    threads = default_threads()
    llm = llama_cpp.Llama(model, n_ctx=2048, n_threads=threads, n_threads_batch=os.cpu_count(), verbose=False)
    bias = end_bias(model)
    print("READY", flush=True)
    for line in sys.stdin:
        seed = int(line.split()[1])
        stamps: list[tuple[float, int]] = []
        count = 0
        for chunk in llm.create_chat_completion([{"role": "user", "content": PROMPT}], stream=True, max_tokens=tokens,
                                                seed=seed, logit_bias=bias, **SAMPLING):
            if chunk["choices"][0]["delta"].get("content"):
                count += 1
                stamps.append((time.perf_counter(), count))
        print("RESULT " + json.dumps({"tok_s": rate(stamps), "tokens": count, "threads": threads}), flush=True)


def gui_child(model: str, tokens: int) -> None:
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from app.core.sampling import SamplingSettings
    from app.main import create_main_window

    app = QApplication(sys.argv)
    window = create_main_window()
    window.resize(1280, 800)
    window.show()
    loop = QEventLoop()
    if not window.bridge.free:
        window.bridge.model_loaded.connect(loop.quit)
        loop.exec()
    bias = tuple(end_bias(model).items())
    chat = window.chat
    print("READY", flush=True)

    class PaintWatch(QObject):
        """Records (time, tokens shown) each time the reply's text is painted on screen."""

        def __init__(self) -> None:
            super().__init__()
            self.stamps: list[tuple[float, int]] = []
            self.ends: list[int] = []  # where each token's text ends in the reply
            self.length = 0  # characters of the reply received so far
            self.body: object = None

        def add(self, batch: list) -> None:
            for t in batch:
                self.length += len(t.text)
                if t.token_id >= 0:
                    self.ends.append(self.length)

        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
            if event.type() == QEvent.Type.Paint:
                shown = bisect.bisect_right(self.ends, self.body.shown_end)  # type: ignore[attr-defined]
                if shown:
                    self.stamps.append((time.perf_counter(), shown))
            return False

    def engine_cpu() -> float:
        """CPU seconds the engine process has used (Linux), to see who spends the cores."""
        try:
            with open(f"/proc/{window.engine.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, TypeError, IndexError):
            return 0.0

    for line in sys.stdin:
        seed = int(line.split()[1])
        chat.new_conversation()
        chat.set_sampling(SamplingSettings(max_tokens=tokens, seed=seed, logit_bias=bias, **SAMPLING))
        chat.composer.setPlainText(PROMPT)
        watch = PaintWatch()
        finished: list[object] = []
        chat.send()
        reply = chat.reply
        watch.body = body = reply.widget.body
        reply.handle.tokens_arrived.connect(watch.add)
        body.viewport().installEventFilter(watch)
        done = QEventLoop()

        def on_finished(fin: object, finished: list[object] = finished, done: QEventLoop = done) -> None:
            finished.append(fin)
            QTimer.singleShot(300, done.quit)  # let the final render reach the screen

        chat.reply_finished.connect(on_finished)
        cpu0, engine0, wall0 = time.process_time(), engine_cpu(), time.perf_counter()
        done.exec()
        gui_cpu, engine_used, wall = time.process_time() - cpu0, engine_cpu() - engine0, time.perf_counter() - wall0
        chat.reply_finished.disconnect(on_finished)
        body.viewport().removeEventFilter(watch)
        fin = finished[0]
        stamps = [s for s in watch.stamps if s[1] > 0]
        last = next(i for i, s in enumerate(stamps) if s[1] == stamps[-1][1])  # first paint showing the end
        print("RESULT " + json.dumps({"tok_s": rate(stamps[: last + 1]), "tokens": fin.timings.generated_tokens,  # type: ignore[attr-defined]
                                      "engine_tok_s": fin.timings.tokens_per_second, "paints": last + 1,  # type: ignore[attr-defined]
                                      "threads": window.bridge.info.n_threads,
                                      "gui_cpu": gui_cpu / wall, "engine_cpu": engine_used / wall}), flush=True)
    window.close()
    app.quit()


# -- the conductor ------------------------------------------------------------------------------

def _start(kind: str, args: argparse.Namespace, display: str | None) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INKLING_HOME": tempfile.mkdtemp(prefix="inkling-bench-")}
    if kind == "gui":
        if display:
            env["DISPLAY"], env["QT_QPA_PLATFORM"] = display, "xcb"
        else:
            env["QT_QPA_PLATFORM"] = "offscreen"
    proc = subprocess.Popen([sys.executable, __file__, "--child", kind, "--tokens", str(args.tokens),
                             "--model", args.model], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    _expect(proc, "READY")
    return proc


def _expect(proc: subprocess.Popen[str], word: str) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(word):
            return line[len(word):].strip()
    raise SystemExit(f"a contender exited early (code {proc.wait()})")


def _round(proc: subprocess.Popen[str], seed: int) -> dict[str, float]:
    assert proc.stdin is not None
    proc.stdin.write(f"RUN {seed}\n")
    proc.stdin.flush()
    return json.loads(_expect(proc, "RESULT"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--offscreen", action="store_true", help="Qt offscreen instead of a real X server")
    parser.add_argument("--model", default="")
    parser.add_argument("--child", choices=["plain", "gui"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.model:
        from app.core.starter import starter_model_path

        args.model = str(starter_model_path())
    if args.child == "plain":
        return plain_child(args.model, args.tokens)
    if args.child == "gui":
        return gui_child(args.model, args.tokens)

    where = "offscreen" if args.offscreen else "Xvfb"
    with x_display(not args.offscreen) as display:
        gui = _start("gui", args, display)
        plain = _start("plain", args, display)
        try:
            _round(gui, 1)  # warm both up (first prompt, caches, fonts)
            _round(plain, 1)
            shown: list[float] = []
            base: list[float] = []
            extra: list[dict[str, float]] = []
            for r in range(args.rounds):
                seed = 100 + r
                order = [("gui", gui), ("plain", plain)] if r % 2 == 0 else [("plain", plain), ("gui", gui)]
                results = {name: _round(proc, seed) for name, proc in order}
                if results["gui"]["tokens"] != results["plain"]["tokens"]:
                    raise SystemExit(f"round {r}: token counts differ: {results}")
                shown.append(results["gui"]["tok_s"])
                base.append(results["plain"]["tok_s"])
                extra.append(results["gui"])
                print(f"round {r + 1}: {order[0][0]} first · window {shown[-1]:6.1f} tok/s shown "
                      f"({results['gui']['paints']} paints, engine {results['gui']['engine_tok_s']:.1f}, CPU: window "
                      f"{results['gui']['gui_cpu']:.0%} engine {results['gui']['engine_cpu']:.0%} of a core) · "
                      f"plain {base[-1]:6.1f} tok/s · ratio {shown[-1] / base[-1]:.3f}", flush=True)
        finally:
            for proc in (gui, plain):
                if proc.stdin:
                    proc.stdin.close()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
    ratios = [s / b for s, b in zip(shown, base, strict=True)]
    ratio = statistics.median(shown) / statistics.median(base)
    print(f"\n{args.rounds} rounds of {args.tokens} tokens, {extra[0]['threads']} engine threads, {where}")
    print(f"plain llama-cpp-python: median {statistics.median(base):.1f} tok/s   {spread(base)}")
    print(f"Chat pane shows:        median {statistics.median(shown):.1f} tok/s   {spread(shown)}")
    print(f"shown ÷ plain = {ratio:.3f} (target ≥ 0.97) {'PASS' if ratio >= 0.97 else 'MISS'}; "
          f"per-round ratios {spread(ratios)}")
    report("shown_speed", [
        row(f"plain llama-cpp-python tok/s ({where})", statistics.median(base), "tok/s", spread_text=spread(base)),
        row(f"Chat pane shown tok/s ({where})", statistics.median(shown), "tok/s", spread_text=spread(shown)),
        row(f"shown ÷ plain ({where})", ratio, "×", "≥ 0.97", ratio >= 0.97, spread(ratios)),
    ])


if __name__ == "__main__":
    main()
