"""Indexing a collection: find its files, read the new and changed ones, drop the deleted, then embed.

:func:`index_collection` is the whole job, written against a small context
(``progress`` and ``should_stop``) so it runs the same in a child process (the
window and ``inkling sources add``) or inline in a test. It commits after every
file, so a kill loses at most the file being read; on the next run a file whose
size and modification time match its record is not read again, a changed one is
read and its passages replaced, and a file gone from disk is forgotten — but only
under a root that is there and was read without an error: a folder that is missing,
empty or unreadable (a drive not plugged in, a mount point without its disk) keeps
its files and passages, and the report names it (``unavailable``). Files it
can't read are recorded with the reason and skipped; nothing else stops it.
Embedding comes after the keyword index (a collection is searchable by words as
soon as its text is read), in batches committed one by one, so it resumes too.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from app.core.errors import UnreadableSource
from app.core.sources.chunking import chunk_text
from app.core.sources.readers import DEFAULT_MAX_BYTES, is_source, read_source
from app.core.sources.store import Embedder, SourceStore

INDEX_JOB = "app.engine.source_jobs:index_job"
"""The indexing job's target for a ``JobRunnerPort`` (a name: the UI starts it without importing the engine)."""


def index_args(db: str, settings: IndexSettings | None = None, embedder: dict[str, Any] | None = None,
               automatic: bool = False) -> dict[str, Any]:
    """The plain-data arguments of :data:`INDEX_JOB`: the collection's file, its settings, an embedder spec.

    ``automatic``: a run nobody asked for (the catch-up at start, a change on disk): it keeps the
    collection's own embedding model; a newly chosen one is taken only on an Update.
    """
    return {"db": str(db), "settings": asdict(settings or IndexSettings()), "embedder": embedder,
            "automatic": automatic}


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
    unavailable: list[str] = field(default_factory=list)
    """Roots (or folders under them) that were missing, empty or unreadable: their files were kept, not forgotten."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _under(path: str, folder: str) -> bool:
    folder = folder.rstrip(os.sep) or os.sep
    return path == folder or path.startswith(folder if folder.endswith(os.sep) else folder + os.sep)


@dataclass
class DiskScan:
    """One walk of a collection's roots: its files (size, modification time), its folders, what was not there."""

    files: dict[str, tuple[int, int]] = field(default_factory=dict)
    folders: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)

    def may_forget(self, path: str) -> bool:
        """Whether a recorded file not found now is really gone (not under a folder that could not be read)."""
        return not any(_under(path, u) for u in self.unavailable)


def scan_roots(roots: list[str], known: Iterable[str] = ()) -> DiskScan:
    """Walk ``roots`` once (files or folders), in a stable order, noting which could not be read.

    Symbolic links to folders are not followed (no folder loops); a link to a file is
    listed like a file, so a link that loops is reported when it is read. A root is
    *unavailable* when it is missing (a folder, or a file whose folder is missing), when
    it or a folder under it can't be listed, or when it is an empty folder while the
    index knows files under it (a mount point without its disk).
    """
    known = list(known)
    scan = DiskScan()

    def failed(exc: OSError) -> None:  # os.walk could not list a folder: keep what the index has under it
        if exc.filename:
            scan.unavailable.append(str(exc.filename))

    for root in roots:
        if os.path.isdir(root):
            found_any = False
            for folder, dirs, names in os.walk(root, onerror=failed, followlinks=False):
                dirs.sort()
                scan.folders.append(folder)
                found_any = found_any or bool(dirs or names)
                for name in sorted(names):
                    if is_source(name):
                        path = os.path.join(folder, name)
                        scan.files[path] = _stat(path)
            if not found_any and root not in scan.unavailable and any(_under(p, root) for p in known):
                scan.unavailable.append(root)
        elif os.path.lexists(root):
            scan.files[root] = _stat(root)
        elif (is_source(root) and os.path.isdir(os.path.dirname(root) or ".")
              and not any(p != root and _under(p, root) for p in known)):
            scan.files[root] = _stat(root)  # a file root deleted from its folder: reading it says so
        else:
            scan.unavailable.append(root)  # a folder that isn't there, or a file's folder that isn't
    return scan


def walk_sources(roots: list[str]) -> Iterator[str]:
    """Every readable-looking file under ``roots`` (files or folders), in a stable order (see :func:`scan_roots`)."""
    yield from scan_roots(roots).files


def roots_text(roots: list[str]) -> str:
    """The roots a panel lists, a missing one marked: "/media/usb/notes (not there — unplugged?); /home/me/notes"."""
    return "; ".join(r if os.path.lexists(r) else f"{r} (not there — unplugged?)" for r in roots)


def progress_of(report: dict[str, Any]) -> tuple[int, int]:
    """(done, total) of a report: passages embedded while embedding, else files read (what a progress bar shows)."""
    embedding = report.get("phase") == "embedding"
    done = report.get("vectors_done" if embedding else "files_done") or 0
    total = report.get("vectors_total" if embedding else "files_total") or 0
    return int(done), int(total)


def unavailable_text(report: dict[str, Any]) -> str:
    """What a person is told of roots that were not there: "/media/usb/notes is not there (unplugged?) ..."."""
    missing = list(report.get("unavailable") or [])
    if not missing:
        return ""
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    return (f"{shown} {'is' if len(missing) == 1 else 'are'} not there (unplugged?): "
            "its files and passages are kept until it is back")


def _stat(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns
    except OSError:
        return 0, 0


def index_collection(store: SourceStore, ctx: JobContext, settings: IndexSettings = IndexSettings(),
                     embedder: Embedder | None = None, embedder_spec: str = "") -> IndexReport:
    """Bring ``store`` up to date with the files under its roots; then embed passages without vectors.

    ``embedder_spec`` (JSON, no secrets) is what the collection keeps to embed questions with; it is
    written with the embedder's name only once that embedder has embedded a text.
    """
    started = time.monotonic()
    report = IndexReport()
    known = store.files()
    scan = scan_roots(store.roots(), known)
    seen = scan.files
    report.unavailable = scan.unavailable
    gone = [p for p in known if p not in seen and scan.may_forget(p)]
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
        _embed_all(store, ctx, embedder, settings, report, embedder_spec)
    report.seconds = time.monotonic() - started
    report.phase = "stopped" if report.stopped else "done"
    report.current = ""
    ctx.progress(report.as_dict())
    return report


def _embed_all(store: SourceStore, ctx: JobContext, embedder: Embedder, settings: IndexSettings,
               report: IndexReport, spec: str = "") -> None:
    if store.get_meta("embedder") != embedder.name:
        # Another model (or the first one): it must load and embed before anything of the old one goes; a
        # model that can't (file missing, server down) raises here and the vectors stay as they were.
        embedder.embed(["Inkling checks that this model embeds."])
        store.switch_embedder(embedder.name, spec)  # drops the old vectors with the meta, in one transaction
    elif spec and store.get_meta("embedder_spec") != spec:
        store.switch_embedder(embedder.name, spec)
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
