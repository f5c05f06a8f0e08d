"""Embedding a chat's question in a child process, so the window can search its collections by meaning too.

The window's process never loads llama.cpp (a crash there would take the window
down). :class:`QueryEmbedderProcess` is one spawned process that keeps each
collection's embedding model loaded (:func:`app.engine.embedding.make_embedder`
from the spec the collection was indexed with — the same model and pooling, so the
question's vector is comparable to the passages') and answers one request at a
time over a pipe. :meth:`QueryEmbedderProcess.for_spec` gives an
:class:`app.core.sources.store.Embedder` bound to one spec; its ``embed`` raises
:class:`SourceError` when the process fails, dies or is too slow, and the caller
falls back to keywords. The process starts on first use and is started again
after a crash.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from app.core.errors import InklingError, SourceError


def _child_main(conn: Any) -> None:
    from app.engine.embedding import make_embedder

    loaded: dict[str, Any] = {}
    while True:
        try:
            key, texts = conn.recv()
        except (EOFError, OSError):
            break
        try:
            embedder = loaded.get(key)
            if embedder is None:
                embedder = loaded[key] = make_embedder(json.loads(key))
            if embedder is None:
                raise SourceError("The collection has no embedding model.")
            conn.send(("ok", np.asarray(embedder.embed(texts), dtype=np.float32)))
        except InklingError as exc:
            conn.send(("error", str(exc)))
        except Exception as exc:  # a bug still reaches the window as words
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    for embedder in loaded.values():
        embedder.close()


class QueryEmbedderProcess:
    """A long-lived child process that embeds questions with the collections' embedding models."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Any = None

    def _ensure(self) -> Any:
        if self._process is None or not self._process.is_alive():
            ctx = mp.get_context("spawn")
            parent, child = ctx.Pipe()
            self._process = ctx.Process(target=_child_main, args=(child,), name="inkling-query-embedder", daemon=True)
            self._process.start()
            child.close()
            self._conn = parent
        return self._conn

    def embed(self, spec: dict[str, Any], texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts`` from the model ``spec`` names; SourceError if none came within the timeout."""
        with self._lock:
            try:
                conn = self._ensure()
                conn.send((json.dumps(spec, sort_keys=True), list(texts)))
                if not conn.poll(self.timeout):
                    self._stop()
                    raise SourceError(f"Embedding the question took over {self.timeout:.0f} s; searched by keywords.")
                kind, payload = conn.recv()
            except (EOFError, OSError, BrokenPipeError) as exc:
                self._stop()
                raise SourceError(f"The embedding process ended unexpectedly ({exc or 'no answer'}).") from exc
        if kind != "ok":
            raise SourceError(str(payload))
        return payload

    def for_spec(self, spec: dict[str, Any]) -> _SpecEmbedder:
        return _SpecEmbedder(self, spec)

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
        self._process = None
        self._conn = None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            if self._process is not None:
                self._process.join(2)
                if self._process.is_alive():
                    self._process.kill()
            self._process = None
            self._conn = None


class _SpecEmbedder:
    """The child process seen as an :class:`~app.core.sources.store.Embedder` for one collection's model."""

    def __init__(self, owner: QueryEmbedderProcess, spec: dict[str, Any]) -> None:
        self.owner = owner
        self.spec = spec
        self.name = f"child:{json.dumps(spec, sort_keys=True)}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.owner.embed(self.spec, texts)

    def close(self) -> None:
        pass
