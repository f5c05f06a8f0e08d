"""Compare models on your own text: the perplexity of each (the GPT papers' validation loss).

Each model is loaded in its own short-lived engine process, so the comparison
never disturbs the model the chat is using, and a model that crashes only fails
its own row.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import InklingError
from app.core.events import LoadOptions
from app.engine.client import EngineClient


@dataclass(frozen=True)
class PerplexityRow:
    path: str
    name: str
    perplexity: float
    bits_per_token: float
    tokens: int
    error: str = ""


def perplexity_of(path: str, text: str, n_ctx: int = 2048, log_path: Path | None = None) -> PerplexityRow:
    client = EngineClient(log_path=log_path)
    try:
        info = client.load(path, LoadOptions(n_ctx=n_ctx))
        result = client.score(text, top=0)
        lps = [t.logprob for t in result.tokens if t.logprob is not None]
        bits = -sum(lps) / len(lps) / math.log(2) if lps else float("nan")
        return PerplexityRow(path, info.name, result.perplexity, bits, len(result.tokens))
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
