"""Indexing a collection: find its files, read the new and changed ones, drop the deleted, then embed.

:func:`index_collection` is the whole job, written against a small context
(``progress`` and ``should_stop``) so it runs the same in a child process (the
window and ``inkling sources add``) or inline in a test. It commits after every
file, so a kill loses at most the file being read; on the next run a file whose
size and modification time match its record is not read again, a changed one is
read and its passages replaced, and a file gone from disk is forgotten. Files it
can't read are recorded with the reason and skipped; nothing else stops it.
Embedding comes after the keyword index (a collection is searchable by words as
soon as its text is read), in batches committed one by one, so it resumes too.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from app.core.errors import UnreadableSource
from app.core.sources.chunking import chunk_text
from app.core.sources.readers import DEFAULT_MAX_BYTES, is_source, read_source
from app.core.sources.store import Embedder, SourceStore

INDEX_JOB = "app.engine.source_jobs:index_job"
"""The indexing job's target for a ``JobRunnerPort`` (a name: the UI starts it without importing the engine)."""


def index_args(db: str, settings: IndexSettings | None = None, embedder: dict[str, Any] | None = None) -> dict[str, Any]:
    """The plain-data arguments of :data:`INDEX_JOB`: the collection's file, its settings, an embedder spec."""
    return {"db": str(db), "settings": asdict(settings or IndexSettings()), "embedder": embedder}


def report_of(message: str) -> dict[str, Any]:
    """The indexer's report from a ``JobProgress`` message of :data:`INDEX_JOB` ({} if it holds none)."""
    try:
        report = json.loads(message)
    except ValueError:
        return {}
    return report if isinstance(report, dict) else {}


class JobContext(Protocol):
    """What a background job is given: a way to report progress and to learn it should stop (or wait, paused)."""

    def progress(self, info: dict[str, Any]) -> None: ...

    def should_stop(self) -> bool: ...


@dataclass(frozen=True)
class IndexSettings:
    """How a collection is indexed; ``max_bytes`` is the per-file size limit (a bigger file is listed and skipped)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    chunk_size: int = 1000
    overlap: int = 150
    embed_batch: int = 16


@dataclass
class IndexReport:
    """What one run did, for the progress line and the final counts."""

    phase: str = "scanning"
    files_total: int = 0
    files_done: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    read: int = 0
    unchanged: int = 0
    bad: int = 0
    deleted: int = 0
    chunks: int = 0
    vectors_done: int = 0
    vectors_total: int = 0
    seconds: float = 0.0
    eta_seconds: float | None = None
    stopped: bool = False
    current: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def walk_sources(roots: list[str]) -> Iterator[str]:
    """Every readable-looking file under ``roots`` (files or folders), in a stable order.

    Symbolic links to folders are not followed (no folder loops); a link to a file is
    listed like a file, so a link that loops is reported when it is read.
    """
    for root in roots:
        if os.path.isdir(root):
            for folder, dirs, names in os.walk(root, followlinks=False):
                dirs.sort()
                for name in sorted(names):
                    if is_source(name):
                        yield os.path.join(folder, name)
        elif is_source(root) or os.path.lexists(root):
            yield root


def _stat(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns
    except OSError:
        return 0, 0


def index_collection(store: SourceStore, ctx: JobContext, settings: IndexSettings = IndexSettings(),
                     embedder: Embedder | None = None) -> IndexReport:
    """Bring ``store`` up to date with the files under its roots; then embed passages without vectors."""
    started = time.monotonic()
    report = IndexReport()
    known = store.files()
    seen: dict[str, tuple[int, int]] = {p: _stat(p) for p in walk_sources(store.roots())}
    gone = [p for p in known if p not in seen]
    if gone:
        report.deleted = store.forget(gone)
    todo = [p for p, (size, mtime) in seen.items()
            if p not in known or known[p].size != size or known[p].mtime_ns != mtime]
    report.unchanged = len(seen) - len(todo)
    report.files_total = len(todo)
    report.bytes_total = sum(seen[p][0] for p in todo if seen[p][0] <= settings.max_bytes)
    report.phase = "reading"
    ctx.progress(report.as_dict())
    last_report = 0.0
    for path in todo:
        if ctx.should_stop():
            report.stopped = True
            break
        report.current = path
        size, mtime = seen[path]
        try:
            got = read_source(path, settings.max_bytes)
        except UnreadableSource as exc:
            store.put_bad(path, size, mtime, exc.reason)
            report.bad += 1
        else:
            old = known.get(path)
            if old is not None and old.state == "done" and old.sha256 == got.sha256:
                store.touch_file(path, got.size, got.mtime_ns)
            else:
                chunks = chunk_text(got.text, settings.chunk_size, settings.overlap)
                store.put_file(path, got.size, got.mtime_ns, got.sha256, got.kind, chunks, got.text)
                report.chunks += len(chunks)
            report.read += 1
        report.files_done += 1
        report.bytes_done += size if size <= settings.max_bytes else 0
        now = time.monotonic()
        if now - last_report > 0.2 or report.files_done == report.files_total:
            elapsed = now - started
            if report.bytes_done and report.bytes_total > report.bytes_done:
                report.eta_seconds = elapsed / report.bytes_done * (report.bytes_total - report.bytes_done)
            else:
                report.eta_seconds = 0.0
            report.seconds = elapsed
            ctx.progress(report.as_dict())
            last_report = now
    if embedder is not None and not report.stopped:
        _embed_all(store, ctx, embedder, settings, report)
    report.seconds = time.monotonic() - started
    report.phase = "stopped" if report.stopped else "done"
    report.current = ""
    ctx.progress(report.as_dict())
    return report


def _embed_all(store: SourceStore, ctx: JobContext, embedder: Embedder, settings: IndexSettings,
               report: IndexReport) -> None:
    if store.get_meta("embedder") not in ("", embedder.name):
        # vectors of another model are not comparable: start over with this one
        with store.db:
            store.db.execute("DELETE FROM vectors")
    store.set_meta("embedder", embedder.name)
    counts = store.counts()
    report.phase = "embedding"
    report.vectors_total = counts["chunks"] - counts["vectors"]
    started = time.monotonic()
    ctx.progress(report.as_dict())
    while True:
        if ctx.should_stop():
            report.stopped = True
            return
        batch = store.chunks_without_vectors(settings.embed_batch)
        if not batch:
            return
        vectors = embedder.embed([text for _, text in batch])
        store.put_vectors([i for i, _ in batch], vectors)
        report.vectors_done += len(batch)
        elapsed = time.monotonic() - started
        left = report.vectors_total - report.vectors_done
        report.eta_seconds = elapsed / report.vectors_done * max(left, 0)
        ctx.progress(report.as_dict())
