"""Compare models on your own text: the perplexity of each (the GPT papers' validation loss).

Each model is measured in its own short-lived process, so the comparison never
disturbs the model the chat is using, and a model that crashes only fails its own
row. The window runs ``perplexity_job`` once per model as a child-process job
(``app/engine/jobs.py``: progress, Cancel, a crash report); ``compare`` does the same
for the command line through the engine client.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core.errors import InklingError, Interrupted
from app.core.events import LoadOptions, PerplexityRow, ScoreResult
from app.engine.client import EngineClient

PERPLEXITY_JOB = "app.engine.evaluate:perplexity_job"
__all__ = ["PERPLEXITY_JOB", "PerplexityRow", "compare", "perplexity_job", "perplexity_of"]


def _row(path: str, name: str, result: ScoreResult) -> PerplexityRow:
    lps = [t.logprob for t in result.tokens if t.logprob is not None]
    bits = -sum(lps) / len(lps) / math.log(2) if lps else float("nan")
    return PerplexityRow(path, name, result.perplexity, bits, len(result.tokens))


def perplexity_job(args: dict[str, Any], ctx: Any) -> PerplexityRow:
    """A job (``app/engine/jobs.py``): the perplexity of ``args["text"]`` under the model ``args["path"]``.

    Runs in the job's own process: the model is loaded here, scored, and freed with the
    process. A model that cannot be loaded gives a row with its error; a cancel aborts a
    long read through llama.cpp's abort callback (the job's stop flag).
    """
    from app.engine.backends import ensure_backends
    from app.engine.runtime import LlamaRuntime
    from app.engine.worker import _fault_if_asked as fault_if_asked

    path, text = str(args["path"]), str(args["text"])
    ctx.progress(0, 2, f"Loading {Path(path).name}")
    try:
        ensure_backends(())
    except Exception:  # the load below says what is wrong, as a typed error
        pass
    runtime = LlamaRuntime(ctx.stop_flag)
    try:
        info = runtime.load(path, LoadOptions(n_ctx=int(args.get("n_ctx", 2048))))
        ctx.check()
        fault_if_asked("", path)  # the engine's test seam (INKLING_FAULT_ON_COMPUTE): die as llama.cpp can here
        ctx.progress(1, 2, f"Reading the text with {info.name}")
        result = runtime.score(text, top=0)
        ctx.check()
        ctx.progress(2, 2, "")
        return _row(path, info.name, result)
    except InklingError as exc:
        if ctx.should_stop():
            raise
        return PerplexityRow(path, Path(path).stem, float("nan"), float("nan"), 0, str(exc))
    except RuntimeError:  # llama.cpp's decode aborted by the stop flag
        if ctx.should_stop():
            raise Interrupted() from None
        raise
    finally:
        runtime.unload()


def perplexity_of(path: str, text: str, n_ctx: int = 2048, log_path: Path | None = None) -> PerplexityRow:
    client = EngineClient(log_path=log_path)
    try:
        info = client.load(path, LoadOptions(n_ctx=n_ctx))
        return _row(path, info.name, client.score(text, top=0))
    except InklingError as exc:
        return PerplexityRow(path, Path(path).stem, float("nan"), float("nan"), 0, str(exc))
    finally:
        client.close()


def compare(paths: list[str], text: str, progress: Callable[[int, PerplexityRow], None] | None = None,
            log_path: Path | None = None) -> list[PerplexityRow]:
    """Perplexity of ``text`` under each model, best (lowest) first."""
    rows = []
    for i, path in enumerate(paths):
        row = perplexity_of(path, text, log_path=log_path)
        rows.append(row)
        if progress is not None:
            progress(i, row)
    return sorted(rows, key=lambda r: (math.isnan(r.perplexity), r.perplexity))
