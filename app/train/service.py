"""The Train pane's ``TrainerPort``: start a training job, then compare base and adapted with the real engine.

Importable without the training extra (the job's process imports jax, not this one), so
the window can say how to add the extra instead of failing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.train.runner import JobProcess

EXTRA_MISSING = ("Training needs the optional training extra (about 540 MB: jax's CPU build, optax, gguf). "
                 "Install it with: pip install 'inkling[train]', then restart Inkling.")


class TrainingService:
    def __init__(self, adapters: Path, log_path: Path | None = None) -> None:
        self._adapters = adapters
        self._log_path = log_path

    def missing(self) -> str:
        if any(importlib.util.find_spec(m) is None for m in ("jax", "optax", "gguf")):
            return EXTRA_MISSING
        return ""

    def adapters_folder(self) -> Path:
        self._adapters.mkdir(parents=True, exist_ok=True)
        return self._adapters

    def start(self, base: str, out: str, files: list[str], texts: list[str], settings: dict[str, Any],
              on_progress: Callable[[int, int, str], None]) -> JobProcess:
        return JobProcess("app.train.trainer:train_job", {
            "base": base, "out": out, "work": out + ".work", "texts": texts, "names": files,
            "settings": settings}, on_progress)

    def before_after(self, base: str, adapter: str, text: str, opening: str) -> dict[str, Any]:
        """In a short-lived engine of its own, so the chat's model is never disturbed."""
        from app.core.events import LoadOptions
        from app.core.sampling import SamplingSettings
        from app.engine.client import EngineClient

        greedy = SamplingSettings().replace(temperature=0.0, max_tokens=60, seed=1)
        def continuation() -> str:
            stream = client.complete(opening, greedy)
            stream.wait()
            return stream.text

        client = EngineClient(log_path=self._log_path)
        try:
            client.load(base, LoadOptions(n_ctx=2048))
            out: dict[str, Any] = {"perplexity_before": client.score(text, top=0).perplexity,
                                   "continuation_before": continuation()}
            client.set_adapter(adapter, 1.0)
            out["perplexity_after"] = client.score(text, top=0).perplexity
            out["continuation_after"] = continuation()
            return out
        finally:
            client.close()
