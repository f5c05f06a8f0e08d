"""LoRA training speed on this machine: tokens per second, a 50,000-token epoch, peak memory, the extra's size.

    python tests/bench/train.py [--passages 60] [--epochs 1]

Trains the starter model (SmolLM2-135M, Q4_1 dequantized to float32) with the default settings
(rank 8 on q, k, v, o; 128-token windows, batch 4) on a made-up journal, in this process, through
the real ``train_job``. Tokens per second count the steps after the first (the first compiles).
The time for a 50,000-token corpus, one epoch, is extrapolated from the measured rate plus the
measured fixed costs (reading the model, compiling, one validation pass): it says so in its row.
Peak memory is this process's peak resident size. The install size is what the extra's
packages occupy in this environment (jax, jaxlib, scipy, optax, gguf and their small helpers).
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report, row

EXTRA = ("jax", "jaxlib", "scipy", "optax", "gguf", "ml_dtypes", "opt_einsum", "absl-py", "chex", "toolz")


def install_size() -> tuple[float, dict[str, float]]:
    sizes = {}
    for name in EXTRA:
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        total = 0
        for f in dist.files or []:
            p = Path(dist.locate_file(f))
            if p.is_file():
                total += p.stat().st_size
        sizes[name] = total / 1e6
    return sum(sizes.values()), sizes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    import importlib.util

    if any(importlib.util.find_spec(m) is None for m in ("jax", "optax", "gguf")):
        print("BENCH-JSON " + json.dumps({"bench": "train", "rows": [],
                                          "skipped": "the training extra is not installed: pip install -e .[train]"}))
        return

    from app.core.starter import starter_model_path
    from app.train.trainer import train_job
    from tests.train.corpus import journal

    stamps: list[tuple[float, int]] = []  # (time, tokens trained so far) after each step
    marks: dict[str, float] = {}
    start_event: dict = {}

    class Ctx:
        def progress(self, done: int, total: int, message: str) -> None:
            event = json.loads(message)
            now = time.perf_counter()
            if event["kind"] == "start":
                marks["start"] = now
                start_event.update(event)
            elif event["kind"] == "step":
                marks.setdefault("first_step", now)
                stamps.append((now, len(stamps) + 1))
            elif event["kind"] == "epoch":
                marks.setdefault("epoch_end", now)

        def should_stop(self) -> bool:
            return False

        def wait_if_paused(self) -> None:
            pass

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        record = train_job({"base": str(starter_model_path()), "out": f"{tmp}/a.gguf", "work": f"{tmp}/work",
                            "texts": [journal(args.passages)], "settings": {"epochs": args.epochs}}, Ctx())
    total = time.perf_counter() - t0
    settings = record["settings"]
    tokens_per_step = settings["batch"] * settings["seq_len"]
    steps = len(stamps)
    steady = (stamps[-1][0] - stamps[0][0]) / (steps - 1) if steps > 1 else float("nan")
    tps = tokens_per_step / steady
    setup = marks["start"] - t0  # read + dequantize the model, tokenize, the base model's validation loss
    first = marks["first_step"] - marks["start"]  # compile + one step
    val_tokens = record["val_tokens"]
    val_time = marks["epoch_end"] - stamps[-1][0] if "epoch_end" in marks else 0.0
    fixed = setup + first
    fifty = fixed + 50_000 / tps + val_time * (5_000 / max(val_tokens, 1))  # 10% held out: 5,000 val tokens
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    size, parts = install_size()
    history = record["history"]
    print(f"train tokens {record['train_tokens']}, val tokens {val_tokens}, {steps} steps of {tokens_per_step} tokens")
    print(f"setup {setup:.1f} s, first step (compile) {first:.1f} s, steady {steady:.2f} s/step = {tps:.1f} tokens/s")
    print(f"val loss before {record['base_val_loss']:.4f}; per epoch: "
          + ", ".join(f"{h['epoch']}: train {h['train_loss']:.4f} val {h['val_loss']:.4f}" for h in history))
    print(f"50,000 tokens, one epoch: ~{fifty / 60:.1f} min (extrapolated: {fixed:.0f} s fixed + 50,000 / {tps:.1f} "
          f"tokens/s + validation)")
    print(f"whole run {total:.1f} s; peak memory {peak:.0f} MiB; extra installed {size:.0f} MB "
          + ", ".join(f"{k} {v:.0f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1])))
    report("train", [
        row("training tokens/s (steady, after compile)", tps, "tok/s"),
        row("one step of 4x128 tokens", steady, "s"),
        row("fixed cost: load + tokenize + base val + compile", fixed, "s"),
        row("50,000-token corpus, one epoch (extrapolated)", fifty / 60, "min"),
        row(f"val loss after the run (before: {record['base_val_loss']:.3f})", history[-1]["val_loss"], "nats"),
        row("peak memory", peak, "MiB"),
        row("training extra installed size", size, "MB"),
    ])


if __name__ == "__main__":
    main()
