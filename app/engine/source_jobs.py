"""Indexing a collection in a child process: progress, pause, cancel, and a kill that loses nothing finished.

:func:`index_job` is the job for the app's one child-process job runner
(``app/engine/jobs.py``, ``JobRunnerPort``): the window's Sources panel, a file
dropped on a chat and ``inkling sources add`` all start it as
``INDEX_JOB`` (``app.core.sources.indexer``). Reading files and parsing PDFs can
take a process down (a library's bug, memory), and embedding runs llama.cpp, so
none of it runs in the window's process. What a run finished is in the
collection's SQLite file already; a new job after a kill goes on from there.
"""

from __future__ import annotations

import json
from typing import Any

from app.core.sources.embedding_choice import chosen_spec
from app.core.sources.indexer import IndexSettings, index_collection, progress_of
from app.core.sources.store import SourceStore
from app.engine.embedding import make_embedder


def index(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Index the collection at ``args['db']`` (settings in ``args['settings']``, embedder in ``args['embedder']``)."""
    store = SourceStore(args["db"])
    # given (the CLI's --embed-model), else the app's choice (the Models pane's "Use for sources"),
    # else what the collection was embedded with; an automatic run keeps the collection's own model.
    # The indexer writes the spec into the collection once the model has embedded (questions use the same).
    own = json.loads(store.get_meta("embedder_spec") or "null")
    spec = own if args.get("automatic") and own else args.get("embedder") or chosen_spec() or own
    spec_text = json.dumps({k: v for k, v in spec.items() if k != "api_key"}) if spec else ""
    try:
        embedder = make_embedder(spec)
    except BaseException:
        store.close()
        raise
    try:
        settings = IndexSettings(**args.get("settings", {}))
        return index_collection(store, ctx, settings, embedder, spec_text).as_dict()
    finally:
        if embedder is not None:
            embedder.close()
        store.close()


class _SharedJobContext:
    """``app.engine.jobs.JobContext`` seen as the indexer's context: the whole report goes as JSON in the message."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def progress(self, info: dict[str, Any]) -> None:
        self.ctx.progress(*progress_of(info), json.dumps(info))

    def should_stop(self) -> bool:
        self.ctx.wait_if_paused()
        return bool(self.ctx.should_stop())


def index_job(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """:func:`index` for the job runner: ``runner.start(INDEX_JOB, index_args(db), on_event)``.

    Each ``JobProgress`` carries the indexer's whole report as JSON in its ``message``
    (``app.core.sources.indexer.report_of`` reads it back); a cancel ends it at the next
    file with its report (``phase`` "stopped"), everything read until then kept.
    """
    return index(args, _SharedJobContext(ctx))
