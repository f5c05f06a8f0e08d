"""Embedding models for sources: a GGUF run by llama.cpp, or a server's ``/v1/embeddings``.

Both implement :class:`app.core.sources.store.Embedder`. The llama.cpp one lives
where it is used, in the indexing job's child process (and in ``inkling sources
search``), never in the window's process: a crash in llama.cpp costs the job, not
the window. Any GGUF works: a real embedding model (nomic-embed, all-MiniLM) with the
pooling its file names, or — as the tests do, because nothing else can be
downloaded here — a chat model. A chat model's hidden states mean-pooled make a
weak embedding (recall@5 0.20 on tests/engine/test_sources_quality.py's manual
pages); asking it to sum the text up in one word and taking the last token's state
("PromptEOL", Jiang et al. 2023) did 0.60 on the same questions, so that is the
``prompt-last`` pooling used for chat models.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from app.core.errors import SourceError

POOLINGS = ("model", "mean", "prompt-last")
PROMPT = 'This text: "{}" means in one word: "'


class LlamaEmbedder:
    """A GGUF loaded with ``embedding=True``; texts are cut to ``max_chars`` first.

    ``pooling``: ``model`` (what an embedding GGUF says), ``mean``, or ``prompt-last``
    (a chat model: the text in a one-word-summary prompt, the last token's state).
    """

    def __init__(self, model_path: str, n_ctx: int = 512, max_chars: int = 1200, threads: int | None = None,
                 pooling: str = "model") -> None:
        if pooling not in POOLINGS:
            raise SourceError(f"Unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}.")
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.max_chars = max_chars
        self.threads = threads or max(1, (os.cpu_count() or 2))
        self.pooling = pooling
        self.name = f"llama:{os.path.basename(model_path)}:{pooling}:{max_chars}"
        self._llm: Any = None

    def _model(self) -> Any:
        if self._llm is None:
            import llama_cpp

            pooling = {"model": llama_cpp.LLAMA_POOLING_TYPE_UNSPECIFIED, "mean": llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                       "prompt-last": llama_cpp.LLAMA_POOLING_TYPE_LAST}[self.pooling]
            try:
                self._llm = llama_cpp.Llama(
                    model_path=self.model_path, embedding=True, pooling_type=pooling,
                    n_ctx=self.n_ctx, n_batch=self.n_ctx, n_ubatch=self.n_ctx, n_threads=self.threads,
                    n_threads_batch=self.threads, verbose=False)
            except (ValueError, RuntimeError) as exc:
                raise SourceError(f"The embedding model {self.model_path} could not be loaded: {exc}. "
                                  "Choose another under Models → “Sources use”; the collection keeps its "
                                  "vectors until one works.") from exc
        return self._llm

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        llm = self._model()
        cut = [t[: self.max_chars] or " " for t in texts]
        if self.pooling == "prompt-last":
            cut = [PROMPT.format(t) for t in cut]
        rows = llm.embed(cut, truncate=True)
        return np.asarray(rows, dtype=np.float32)

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()
            self._llm = None


class RemoteEmbedder:
    """A connection's OpenAI-compatible ``/v1/embeddings`` endpoint."""

    def __init__(self, base_url: str, model: str = "", api_key: str = "", timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.name = f"remote:{self.base_url}:{model}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            r = httpx.post(f"{self.base_url}/embeddings", json={"model": self.model, "input": list(texts)},
                           headers=headers, timeout=self.timeout)
            r.raise_for_status()
            data = sorted(r.json()["data"], key=lambda d: d.get("index", 0))
            rows = np.asarray([d["embedding"] for d in data], dtype=np.float32)
        except httpx.TransportError as exc:
            raise SourceError(f"Could not reach the server {self.base_url} for embeddings ({type(exc).__name__}: "
                              f"{exc}). Start it, or choose another embedding model in Models.") from exc
        except (httpx.HTTPError, KeyError, ValueError, TypeError, AttributeError) as exc:
            raise SourceError(f"The server {self.base_url} did not give embeddings: {exc}. "
                              "Check that it serves an embedding model.") from exc
        if rows.ndim != 2 or len(rows) != len(texts):
            raise SourceError(f"The server {self.base_url} gave {len(rows)} embeddings for {len(texts)} texts. "
                              "Check that it serves an embedding model.")
        return rows

    def close(self) -> None:
        pass


def make_embedder(spec: dict[str, Any] | None) -> LlamaEmbedder | RemoteEmbedder | None:
    """An embedder from its plain-data description (what crosses into the job's process)."""
    if not spec:
        return None
    if spec.get("kind") == "remote":
        conn = _connection(spec)
        url = conn.base_url if conn is not None and conn.base_url else spec["url"]  # the address as edited since
        key = spec.get("api_key") or (conn.api_key if conn is not None else "")
        return RemoteEmbedder(url, spec.get("model", ""), key)
    if spec.get("kind") == "llama":
        return LlamaEmbedder(spec["model"], n_ctx=int(spec.get("n_ctx", 512)),
                             max_chars=int(spec.get("max_chars", 1200)), threads=spec.get("threads"),
                             pooling=spec.get("pooling", "model"))
    raise SourceError(f"Unknown embedding model kind {spec.get('kind')!r}.")


def _connection(spec: dict[str, Any]) -> Any:
    """The connection a spec names, or None: its address and API key are looked up by its id, where they
    are now (specs never carry the key, which stays in the secrets file; the address may have been edited)."""
    if not spec.get("connection"):
        return None
    from app.core.connections import ConnectionStore
    from app.core.paths import app_paths

    paths = app_paths()
    return ConnectionStore(paths.connections, paths.connection_secrets).get(str(spec["connection"]))

