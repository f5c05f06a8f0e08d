"""``inkling train`` and ``inkling perplexity``: fine-tune a LoRA on your files, and measure it.

    inkling train --base MODEL --out ADAPTER.gguf [--epochs N] [--collection NAME] [--document TITLE] [FILE...]
        trains on the files, a source collection's indexed text, Write's documents (by title);
        prints "Epoch N, train loss: X, val loss: Y" per epoch, then the held-out text's
        perplexity before and after, as the engine measures it. Run the same command again
        after a quit or a kill: it resumes from its checkpoint (kept in ADAPTER.gguf.work/).
    inkling perplexity --model MODEL [--lora ADAPTER.gguf] FILE|-
        prints "perplexity: X" as the engine measures it.

Training needs the optional extra (``pip install 'inkling[train]'``); perplexity does not.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from app.core.errors import InklingError, JobCrashed, TrainingError

EXTRA_MISSING = ("training needs the optional training extra, which is not installed: "
                 "pip install 'inkling[train]' (about 540 MB: jax's CPU build, optax, gguf)")


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="fine-tune a LoRA adapter on your text files")
    p.add_argument("files", nargs="*", help="plain UTF-8 text files; paragraphs separated by blank lines")
    p.add_argument("--collection", action="append", default=[], metavar="NAME",
                   help="also train on a source collection's indexed text (inkling sources add NAME PATH...)")
    p.add_argument("--document", action="append", default=[], metavar="TITLE",
                   help="also train on the Write document with this title")
    p.add_argument("--base", help="the base model, a .gguf file (default: the starter model)")
    p.add_argument("--out", required=True, help="where to write the adapter (.gguf)")
    p.add_argument("--epochs", type=int, default=3, help="passes over the text (default 3)")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="step size (default 0.001)")
    p.add_argument("--rank", type=int, default=8, help="the adapter's rank: its capacity (default 8)")
    p.add_argument("--seq-len", type=int, default=128, help="tokens per training window (default 128)")
    p.add_argument("--ctx", type=int, default=2048, help="context for the perplexity measurement")
    p = sub.add_parser("perplexity", help="the perplexity of a text under a model (and an adapter)")
    p.add_argument("file", help="a text file, or - for standard input")
    p.add_argument("--model", help="a .gguf file (default: the starter model)")
    p.add_argument("--lora", help="a LoRA adapter (.gguf) to put on the model")
    p.add_argument("--lora-scale", type=float, default=1.0, help="the adapter's strength (default 1)")
    p.add_argument("--ctx", type=int, default=2048, help="context length in tokens")


def _fail(message: str) -> int:
    print(f"inkling: {' '.join(message.split())}", file=sys.stderr)
    return 1


def engine_perplexity(model: str, text: str, lora: str | None = None, scale: float = 1.0,
                      n_ctx: int = 2048) -> tuple[float, float | None]:
    """(without, with the adapter) perplexity of ``text`` as the engine measures it, one engine process."""
    from app.core.events import LoadOptions
    from app.engine.client import EngineClient

    client = EngineClient()
    try:
        client.load(model, LoadOptions(n_ctx=n_ctx))
        before = client.score(text, top=0).perplexity
        after = None
        if lora:
            client.set_adapter(lora, scale)
            after = client.score(text, top=0).perplexity
        return before, after
    finally:
        client.close()


def run_perplexity(args: argparse.Namespace) -> int:
    from app.core.starter import starter_model_path

    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"{args.file}: can't be read as UTF-8 text ({getattr(exc, 'strerror', None) or exc})")
    if not text.strip():
        return _fail("there is no text to measure")
    try:
        before, after = engine_perplexity(args.model or str(starter_model_path()), text, args.lora,
                                          args.lora_scale, args.ctx)
    except InklingError as exc:
        return _fail(str(exc))
    print(f"perplexity: {after if after is not None else before:.4f}")
    return 0


def describe_start(info: dict[str, Any]) -> str:
    """What ``inkling train`` prints when the job starts (``info``: the job's "start" event)."""
    if info["resumed"]:
        return (f"Resuming from the checkpoint: epoch {info['epoch'] + 1}, step {info['step']} of "
                f"{info['steps_per_epoch']}")
    lines = []
    if info.get("discarded"):
        lines.append(f"The {info.get('changed') or 'text'} changed since the checkpoint: training starts over "
                     "(the old checkpoint is kept as checkpoint.old.npz).")
    lines.append(f"Training on {info['train_tokens']} tokens, {info['val_tokens']} held out for validation; "
                 f"val loss before training: {info['base_val']:.4f}")
    return "\n".join(lines)


def run_train(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("jax") is None or importlib.util.find_spec("optax") is None \
            or importlib.util.find_spec("gguf") is None:
        return _fail(EXTRA_MISSING)
    from app.core.jobs import JobEvent, JobProgress
    from app.core.paths import app_paths
    from app.core.starter import starter_model_path
    from app.engine.jobs import start_job
    from app.train.documents import TextSource, find_write_document, gather
    from app.train.service import CANCEL_GRACE, TRAIN_JOB, train_args

    base = args.base or str(starter_model_path())
    out = Path(args.out)
    if args.epochs < 1:
        return _fail("--epochs must be 1 or more")
    if not (args.files or args.collection or args.document):
        print("inkling train: give the text to learn from: FILE..., --collection NAME or --document TITLE",
              file=sys.stderr)
        return 2
    try:
        paths = app_paths()
        sources = [TextSource.file(f) for f in args.files]
        sources += [TextSource.collection(paths.sources, name) for name in args.collection]
        sources += [find_write_document(paths.database, title) for title in args.document]
        if not any(t.strip() for t in gather(sources)):  # what the job reads: a clear message before it starts
            raise TrainingError("There is no text to train on: the documents are empty.")
        if not Path(base).is_file():
            raise TrainingError(f"{base}: no such model file.")
    except InklingError as exc:
        return _fail(str(exc))

    def on_event(event: JobEvent) -> None:
        if not isinstance(event, JobProgress):
            return
        info = json.loads(event.message)
        if info["kind"] == "start":
            print(describe_start(info), flush=True)
        elif info["kind"] == "epoch":
            print(f"Epoch {info['epoch']}, train loss: {info['train_loss']:.4f}, "
                  f"val loss: {info['val_loss']:.4f}", flush=True)

    settings = {"epochs": args.epochs, "learning_rate": args.learning_rate, "rank": args.rank,
                "alpha": 2.0 * args.rank, "seq_len": args.seq_len}
    job = start_job(TRAIN_JOB, train_args(base, str(out), sources, settings, paths.cache / "jax"), on_event, name="Training",
                    grace=CANCEL_GRACE)
    try:
        record = job.result()
    except KeyboardInterrupt:
        job.cancel()
        try:
            job.result(CANCEL_GRACE + 10)
        except Exception:
            pass
        return _fail("stopped; run the same command again to resume from the last checkpoint")
    except JobCrashed as exc:
        return _fail(f"{exc} Run the same command again to resume from the last checkpoint.")
    except InklingError as exc:
        return _fail(str(exc))
    if record.get("stopped_early"):
        print(f"Stopped early: the validation loss rose; kept epoch {record['best_epoch']}", flush=True)
    try:
        before, after = engine_perplexity(base, record["val_text"], str(out), 1.0, args.ctx)
    except InklingError as exc:
        return _fail(f"the adapter was saved to {out}, but measuring it failed: {exc}")
    print(f"Perplexity of the held-out text: before {before:.4f}, after {after:.4f}")
    print(f"Adapter saved to {out} (best epoch {record['best_epoch']})")
    return 0
