"""Indexing a collection in a child process: progress, pause, cancel, and a kill that loses nothing finished.

:func:`index` is the job itself, ``index(args, ctx)`` with plain-data ``args``, so
it fits a general child-process job runner; :class:`IndexJob` is the small runner
used until then: a spawned process, a pipe for progress, shared flags for pause
and stop. Reading files and parsing PDFs can take a process down (a library's
bug, memory), and embedding runs llama.cpp, so none of it runs in the window's
process. What a run finished is in the collection's SQLite file already; a new
job after a kill goes on from there.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from app.core.errors import InklingError, SourceError
from app.core.sources.embedding_choice import chosen_spec
from app.core.sources.indexer import IndexSettings, index_collection
from app.core.sources.store import SourceStore
from app.engine.embedding import make_embedder


def index(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Index the collection at ``args['db']`` (settings in ``args['settings']``, embedder in ``args['embedder']``)."""
    store = SourceStore(args["db"])
    # given (the CLI's --embed-model), else the app's choice (the Models pane's "Use for sources"),
    # else what the collection was embedded with; kept with the collection, so questions use the same
    spec = args.get("embedder") or chosen_spec() or json.loads(store.get_meta("embedder_spec") or "null")
    if spec:
        store.set_meta("embedder_spec", json.dumps({k: v for k, v in spec.items() if k != "api_key"}))
    embedder = make_embedder(spec)
    try:
        settings = IndexSettings(**args.get("settings", {}))
        return index_collection(store, ctx, settings, embedder).as_dict()
    finally:
        if embedder is not None:
            embedder.close()
        store.close()


class _ChildContext:
    def __init__(self, conn: Any, stop: Any, pause: Any) -> None:
        self.conn, self.stop, self.pause = conn, stop, pause

    def progress(self, info: dict[str, Any]) -> None:
        self.conn.send(("progress", info))

    def should_stop(self) -> bool:
        while self.pause.value and not self.stop.value:
            time.sleep(0.05)
        return bool(self.stop.value)


def _child_main(conn: Any, stop: Any, pause: Any, args: dict[str, Any]) -> None:
    try:
        result = index(args, _ChildContext(conn, stop, pause))
        conn.send(("done", result))
    except InklingError as exc:
        conn.send(("error", str(exc)))
    except Exception as exc:  # a bug must still reach the window as words
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


class IndexJob:
    """One indexing run in its own process; ``on_progress`` is called on a reader thread with each report."""

    def __init__(self, db: str, settings: IndexSettings | None = None, embedder: dict[str, Any] | None = None,
                 on_progress: Callable[[dict[str, Any]], None] | None = None) -> None:
        ctx = mp.get_context("spawn")
        self._stop = ctx.Value("b", 0)
        self._pause = ctx.Value("b", 0)
        parent, child = ctx.Pipe(duplex=False)
        args = {"db": db, "settings": asdict(settings or IndexSettings()), "embedder": embedder}
        self._process = ctx.Process(target=_child_main, args=(child, self._stop, self._pause, args),
                                    name="inkling-indexer", daemon=True)
        self._on_progress = on_progress
        self.last: dict[str, Any] = {}
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self._done = threading.Event()
        self._process.start()
        child.close()
        self._reader = threading.Thread(target=self._read, args=(parent,), name="inkling-indexer-reader",
                                        daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def paused(self) -> bool:
        return bool(self._pause.value)

    def pause(self) -> None:
        self._pause.value = 1

    def resume(self) -> None:
        self._pause.value = 0

    def cancel(self) -> None:
        """Stop after the file being read (its work is kept); a paused job stops too."""
        self._stop.value = 1

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        """The final report; raises SourceError if the job failed or died."""
        if not self._done.wait(timeout):
            raise TimeoutError("the indexing job is still running")
        if self.error is not None:
            raise SourceError(self.error)
        return self.result or {}

    def _read(self, conn: Any) -> None:
        try:
            while True:
                try:
                    kind, payload = conn.recv()
                except (EOFError, OSError):
                    break
                if kind == "progress":
                    self.last = payload
                    if self._on_progress is not None:
                        self._on_progress(payload)
                elif kind == "done":
                    self.result = payload
                elif kind == "error":
                    self.error = payload
        finally:
            self._process.join(timeout=5)
            if self.result is None and self.error is None:
                self.error = (f"The indexing process ended unexpectedly (exit code {self._process.exitcode}). "
                              "What it finished is kept; index again to go on.")
            self._done.set()


class _SharedJobContext:
    """Seams' ``app.engine.jobs.JobContext`` seen as the indexer's context: the report goes as JSON in the message."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def progress(self, info: dict[str, Any]) -> None:
        embedding = info.get("phase") == "embedding"
        done = info["vectors_done"] if embedding else info["files_done"]
        total = info["vectors_total"] if embedding else info["files_total"]
        self.ctx.progress(done, total, json.dumps(info))

    def should_stop(self) -> bool:
        self.ctx.wait_if_paused()
        return bool(self.ctx.should_stop())


def index_job(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """:func:`index` for the general job runner: ``start_job("app.engine.source_jobs:index_job", {"db": ...})``.

    Each ``JobProgress`` carries the indexer's whole report as JSON in its ``message``.
    """
    return index(args, _SharedJobContext(ctx))
