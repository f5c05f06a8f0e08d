"""The Train pane's ``TrainerPort``: what can be trained on, the training job to run, then base vs adapted.

The run itself is a child-process job on the app's one job runner (``app/engine/jobs.py``,
behind ``JobRunnerPort``): ``job()`` says which target and args, the pane starts it. This
module is importable without the training extra (the job's process imports jax, not this
one), so the window can say how to add the extra instead of failing.
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict
from pathlib import Path
from typing import Any

from app.train.documents import TextSource, collection_names, write_documents

TRAIN_JOB = "app.train.trainer:train_job"
CANCEL_GRACE = 60.0  # seconds a cancelled run has to finish its step and write its checkpoint before a kill
EXTRA_MISSING = ("Training needs the optional training extra (about 540 MB: jax's CPU build, optax, gguf). "
                 "Install it with: pip install 'inkling[train]', then restart Inkling.")


def train_args(base: str, out: str, sources: list[TextSource], settings: dict[str, Any],
               cache: Path | None = None) -> dict[str, Any]:
    """The training job's args: its checkpoint folder sits beside the adapter (``ADAPTER.gguf.work``),
    jax's compiled steps in ``cache`` (so a resumed run does not compile them again)."""
    return {"base": base, "out": out, "work": out + ".work", "sources": [asdict(s) for s in sources],
            "settings": settings, "cache": str(cache) if cache else None}


class TrainingService:
    """Adapters go to ``adapters``; Write's documents come from ``database``, collections from ``sources``."""

    def __init__(self, adapters: Path, log_path: Path | None = None, *, database: Path | None = None,
                 sources: Path | None = None, cache: Path | None = None, continuation_tokens: int = 60) -> None:
        self._adapters = adapters
        self._log_path = log_path
        self._database = database
        self._sources = sources
        self._cache = cache
        self.continuation_tokens = continuation_tokens  # how long the before/after continuations are

    def missing(self) -> str:
        if any(importlib.util.find_spec(m) is None for m in ("jax", "optax", "gguf")):
            return EXTRA_MISSING
        return ""

    def adapters_folder(self) -> Path:
        self._adapters.mkdir(parents=True, exist_ok=True)
        return self._adapters

    def write_documents(self) -> list[TextSource]:
        """Write's documents, newest first (their text is read by the job, as saved when it starts)."""
        if self._database is None:
            return []
        return [TextSource.write(self._database, i, title) for i, title in write_documents(self._database)]

    def collections(self) -> list[TextSource]:
        """The source collections (their indexed text is read by the job)."""
        if self._sources is None:
            return []
        return [TextSource.collection(self._sources, name) for name in collection_names(self._sources)]

    def job(self, base: str, out: str, sources: list[TextSource], settings: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The training job to start on the job runner: its target and args."""
        return TRAIN_JOB, train_args(base, out, sources, settings, self._cache)

    def before_after(self, base: str, adapter: str, text: str, opening: str) -> dict[str, Any]:
        """In a short-lived engine of its own, so the chat's model is never disturbed."""
        from app.core.events import LoadOptions
        from app.core.sampling import SamplingSettings
        from app.engine.client import EngineClient

        greedy = SamplingSettings().replace(temperature=0.0, max_tokens=self.continuation_tokens, seed=1)

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
