"""What to watch of a collection while the app is open, and whether its files changed since it was indexed.

Pure, Qt-free helpers for the window's folder watcher (``app/ui/sources/indexing.py``):

- :func:`changes_on_disk` compares the files under a collection's roots with what its
  index recorded (size and modification time, the indexer's own test), so a watcher
  or the app's start runs an indexing job only when there is something to do;
- :func:`plan_watch` says which folders and files to watch within a budget of watches
  (on Linux each is an inotify watch, and ``fs.inotify.max_user_watches`` is shared by
  every program of the user, 8,192 on older kernels): folders tell of files added,
  renamed and deleted (and of editors that save by replacing the file); a file's own
  watch tells of a write in place. Too many folders: none are watched, and the
  collection is brought up to date at the next start or with Update instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from app.core.sources.indexer import DiskScan, scan_roots
from app.core.sources.store import SourceStore

WATCH_BUDGET = 4000
"""Watches all collections together may hold (a quarter of a small inotify limit, half of an old default)."""


@dataclass(frozen=True)
class DiskChanges:
    """Files added, changed and gone under a collection's roots since its index last saw them."""

    added: int = 0
    changed: int = 0
    gone: int = 0
    unavailable: tuple[str, ...] = ()
    """Roots that were missing, empty or unreadable: their files are not counted as gone (nothing is forgotten)."""

    @property
    def any(self) -> bool:
        return bool(self.added or self.changed or self.gone)


def changes_on_disk(store: SourceStore, scan: DiskScan | None = None) -> DiskChanges:
    """What an indexing run would have to do now (a stat per file, nothing read; ``scan``: a walk made already)."""
    known = store.files()
    if scan is None:
        scan = scan_roots(store.roots(), known)
    seen = scan.files
    added = sum(p not in known for p in seen)
    changed = sum(1 for p, (size, mtime) in seen.items()
                  if p in known and (known[p].size != size or known[p].mtime_ns != mtime))
    gone = sum(p not in seen and scan.may_forget(p) for p in known)
    return DiskChanges(added, changed, gone, tuple(scan.unavailable))


@dataclass(frozen=True)
class WatchPlan:
    """The folders and files to watch for one collection, and what to tell the person about it."""

    folders: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    note: str = ""
    folder_count: int = 0
    file_count: int = 0

    @property
    def size(self) -> int:
        return len(self.folders) + len(self.files)


def collection_folders_and_files(store: SourceStore, scan: DiskScan | None = None) -> tuple[list[str], list[str]]:
    """Every folder under the collection's roots (links to folders not followed) and every file it indexed.

    ``scan``: the walk :func:`changes_on_disk` made already (one walk of the disk for both).
    """
    known = store.files()
    if scan is None:
        scan = scan_roots(store.roots(), known)
    folders = list(scan.folders)
    files: list[str] = []
    for root in store.roots():
        if not os.path.isdir(root) and os.path.lexists(root):
            files.append(root)
            parent = os.path.dirname(root)
            if parent and parent not in folders:
                folders.append(parent)  # a file root: its folder says when it is replaced or deleted
    files.extend(p for p in sorted(known) if p not in files)
    return folders, files


def check_collection(store: SourceStore) -> tuple[DiskChanges, list[str], list[str]]:
    """:func:`changes_on_disk` and :func:`collection_folders_and_files` from one walk of the disk."""
    scan = scan_roots(store.roots(), store.files())
    return (changes_on_disk(store, scan), *collection_folders_and_files(store, scan))


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def plan_watch(folders: list[str], files: list[str], budget: int) -> WatchPlan:
    """Folders and files within ``budget`` watches: all of them, the folders only, or nothing (with why)."""
    if not folders and not files:
        return WatchPlan(note="")
    if len(folders) + len(files) <= budget:
        return WatchPlan(tuple(folders), tuple(files), f"Watching {_count(len(folders), 'folder')} and "
                         f"{_count(len(files), 'file')} for changes while Inkling is open", len(folders), len(files))
    if len(folders) <= budget:
        return WatchPlan(tuple(folders), (), f"Watching {_count(len(folders), 'folder')} for new, renamed and deleted "
                         "files; "
                         f"with {len(files):,} files it is too big to watch each one, so a file edited in place is "
                         "noticed at the next start or with Update", len(folders), len(files))
    return WatchPlan((), (), f"Too big to watch while open ({len(folders):,} folders, over the limit of {budget:,}): "
                     "changes are noticed at the next start, or with Update", len(folders), len(files))
