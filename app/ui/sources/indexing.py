"""Indexing source collections from the window: jobs on the app's job runner, and folders watched while open.

``SourceIndexing`` is the one owner of the window's indexing work. It starts the
indexer (``INDEX_JOB``) through the ``JobRunnerPort`` that ``app/main.py`` hands in
(the UI never imports the engine), one job at a time (two cores are shared with the
model), and tells views what each collection's job does: progress, a pause, its end.
Pause, Resume and Cancel are the job handle's own; a run killed or cut short by a
restart leaves its work committed, and the next run reads only what is left.

While the app is open it watches each collection's folders (and its files, where the
budget of watches allows: ``app.core.sources.watching``) with ``QFileSystemWatcher``;
a change waits ``debounce_ms`` for the rest of a burst (an editor's save, a copy of
many files), then the collection's files are compared with its index on a worker
thread and, if anything differs, an incremental job runs: new and changed files are
read, deleted ones forgotten. ``start()`` does the same check once for every
collection, which is how changes made while Inkling was closed (or a run that a kill
cut short) are picked up at the next start.

The disk walks of watching (what to watch, what changed) run one at a time on the
indexing's own thread, never on Qt's global pool: a big tree or a stale network
mount delays only the next walk, not a Hub search or a library scan. A failure of
work nobody clicked for (a watched change, the catch-up at start) is said in
``trouble`` (a status-bar line naming the collection) and in its ``watch_note``.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QFileSystemWatcher, QObject, QThreadPool, QTimer, Signal

from app.core.errors import InklingError
from app.core.jobs import JobEnded, JobEvent, JobPaused, JobProgress
from app.core.ports import JobHandlePort, JobRunnerPort
from app.core.sources.collections import Collections
from app.core.sources.indexer import INDEX_JOB, index_args, report_of
from app.core.sources.watching import (
    WATCH_BUDGET,
    WatchPlan,
    changes_on_disk,
    check_collection,
    collection_folders_and_files,
    plan_watch,
)
from app.ui.jobs import run_in_background, run_job

log = logging.getLogger(__name__)

DEBOUNCE_MS = 1500
"""A change waits this long for the rest of its burst before the collection is brought up to date."""


class SourceIndexing(QObject):
    """Indexing jobs per collection (one running at a time, the rest queued) and the folders watched for changes."""

    started = Signal(str)
    """A collection's indexing job started (its name)."""
    progressed = Signal(str, object)
    """A collection's job reported how far it is (name, the indexer's report as a dict)."""
    paused_changed = Signal(str, bool)
    """A collection's job took a pause (True) or went on (False), said by the job at a safe point."""
    ended = Signal(str, object)
    """A collection's job ended (name, ``JobEnded``: its report, or why it stopped)."""
    watch_changed = Signal(str)
    """What is watched of a collection changed (its name); ``watch_note`` says what."""
    checked = Signal(str, bool)
    """A collection's files were compared with its index (name, whether anything differed)."""
    trouble = Signal(str)
    """A line for the status bar: work nobody clicked for (a watched change, the catch-up at start) failed."""
    collections_changed = Signal()
    """A collection was made or removed here (the Sources panel, a drop): lists of collections read them again."""

    def __init__(self, collections: Collections, runner: JobRunnerPort, parent: QObject | None = None, *,
                 debounce_ms: int = DEBOUNCE_MS, watch_budget: int = WATCH_BUDGET) -> None:
        super().__init__(parent)
        self.collections = collections
        self.runner = runner
        self.debounce_ms = debounce_ms
        self.watch_budget = watch_budget
        self.jobs: dict[str, JobHandlePort] = {}
        """The running job of each collection that has one."""
        self.last: dict[str, dict[str, Any]] = {}
        """Each collection's latest report (kept after its job ended)."""
        self.reasons: dict[str, str] = {}
        """Why each collection's latest job ran: "asked", "changed" (a watched change) or "start"."""
        self.outcomes: dict[str, JobEnded] = {}
        self._queue: list[tuple[str, str]] = []
        self._again: dict[str, str] = {}  # asked again while its job ran: once more after it
        self.watching = False
        self._watcher = QFileSystemWatcher(self)
        self._owners: dict[str, set[str]] = {}  # watched path -> collections it belongs to
        self._plans: dict[str, WatchPlan] = {}
        self._timers: dict[str, QTimer] = {}
        self.problems: dict[str, str] = {}
        """Why a collection could not be checked or planned for watching (cleared when it next can)."""
        self.pool = QThreadPool(self)  # the watch walks: one at a time, off Qt's global pool
        self.pool.setMaxThreadCount(1)
        self._connect_signals()

    def _connect_signals(self) -> None:
        self._watcher.directoryChanged.connect(self._on_watcher_changed)
        self._watcher.fileChanged.connect(self._on_watcher_changed)

    # -- jobs --------------------------------------------------------------------------------

    def running(self, name: str = "") -> bool:
        """A job runs for ``name`` (any collection when no name is given)."""
        return name in self.jobs if name else bool(self.jobs)

    def busy(self, name: str) -> bool:
        """A job runs or waits its turn for ``name``."""
        return name in self.jobs or any(n == name for n, _ in self._queue)

    def job(self, name: str) -> JobHandlePort | None:
        return self.jobs.get(name)

    def waiting_note(self, name: str) -> str:
        """Why ``name``'s run waits: the collection whose job runs now, and whether it is paused."""
        other = next((n for n in self.jobs if n != name), "")
        if not other:
            return ""
        if self.jobs[other].paused:
            return f"Waits for “{other}”, whose indexing is paused: resume or cancel it there…"
        return f"Waits for “{other}”'s indexing to end…"

    def index(self, name: str, reason: str = "asked") -> None:
        """Bring collection ``name`` up to date: now, after the job that runs, or again after its own job."""
        if name in self.jobs:
            self._again[name] = reason
        elif self.jobs:
            if not any(n == name for n, _ in self._queue):
                self._queue.append((name, reason))
        else:
            self._start(name, reason)

    def pause(self, name: str) -> None:
        job = self.jobs.get(name)
        if job is not None:
            job.pause()

    def resume(self, name: str) -> None:
        job = self.jobs.get(name)
        if job is not None:
            job.resume()

    def cancel(self, name: str) -> None:
        """Stop after the file being read (what was read is kept); a queued run of it is dropped too."""
        self._queue = [(n, r) for n, r in self._queue if n != name]
        self._again.pop(name, None)
        job = self.jobs.get(name)
        if job is not None:
            job.cancel()

    def _start(self, name: str, reason: str) -> None:
        try:
            db = str(self.collections.path_of(name))
            if not self.collections.exists(name):  # removed meanwhile (``inkling sources remove``): not made again
                self.collections.open(name).close()  # (raises the SourceError that says so)
        except InklingError as exc:
            self.outcomes[name] = JobEnded(error=exc)
            self.ended.emit(name, self.outcomes[name])
            if reason != "asked":
                self._tell_trouble(name, exc)
            return
        self.reasons[name] = reason
        self.last[name] = {}
        args = index_args(db, automatic=reason in ("start", "changed"))  # automatic: keeps its embedding model
        self.jobs[name] = run_job(self.runner, INDEX_JOB, args, lambda e: self._on_job_event(name, e),
                                  name=f"Indexing “{name}”", context=self)
        self.started.emit(name)

    def _on_job_event(self, name: str, event: JobEvent) -> None:
        if isinstance(event, JobProgress):
            report = report_of(event.message)
            if report:
                self.last[name] = report
                self.progressed.emit(name, report)
        elif isinstance(event, JobPaused):
            self.paused_changed.emit(name, event.paused)
        elif isinstance(event, JobEnded):
            self.jobs.pop(name, None)
            self.outcomes[name] = event
            if isinstance(event.result, dict):
                self.last[name] = event.result
            self.ended.emit(name, event)
            if event.error is not None and not event.cancelled and self.reasons.get(name) != "asked":
                self._tell_trouble(name, event.error)
            if self.watching:
                self._plan(name)  # new files and folders are watched from now on
            self._next(name)

    def _next(self, ended: str) -> None:
        if ended in self._again:  # asked again while it ran: run again only if its files still differ
            self._check(ended, self._again.pop(ended))
        if self._queue and not self.jobs:
            name, reason = self._queue.pop(0)
            self._start(name, reason)

    # -- watching ------------------------------------------------------------------------------

    def start(self) -> None:
        """Watch every collection, and bring up to date each one whose files changed while Inkling was closed."""
        if self.watching:
            return
        self.watching = True
        for name in self.collections.names():
            self._plan_and_check(name, "start")

    def _plan_and_check(self, name: str, reason: str) -> None:
        """:meth:`_plan` and :meth:`_check` from one walk of the disk (on the indexing's thread)."""

        def work() -> tuple[Any, list[str], list[str]]:
            store = self.collections.open(name)
            try:
                return check_collection(store)
            finally:
                store.close()

        def done(found: tuple[Any, list[str], list[str]]) -> None:
            changes, folders, files = found
            self._apply_plan(name, folders, files)
            if changes.any:
                self.index(name, reason)
            self.checked.emit(name, changes.any)

        run_in_background(work, done, self._failed(name, "check its files for changes"), context=self,
                          pool=self.pool)

    def watch_note(self, name: str) -> str:
        if name in self.problems:
            return self.problems[name]
        plan = self._plans.get(name)
        return plan.note if plan is not None else ""

    def _tell_trouble(self, name: str, exc: BaseException) -> None:
        self.trouble.emit(f"Sources: “{name}” could not be brought up to date: {exc} (open Sources)")

    def _failed(self, name: str, what: str) -> Any:
        """The failure callback of a watch walk: logged, kept as the collection's watch note, and said."""

        def failed(exc: BaseException) -> None:
            if not self.collections.exists(name):  # removed behind the window's back: nothing to say, or to watch
                self._forget(name)
                return
            log.warning("Sources: %s of %r failed", what, name, exc_info=exc)
            self.problems[name] = f"Could not {what}: {exc}"
            self.watch_changed.emit(name)
            self._tell_trouble(name, exc)

        return failed

    def watched(self, name: str) -> WatchPlan | None:
        return self._plans.get(name)

    def _plan(self, name: str) -> None:
        """Work out on a worker thread what to watch of ``name``, then watch it (within the budget left)."""

        def work() -> tuple[list[str], list[str]]:
            store = self.collections.open(name)
            try:
                return collection_folders_and_files(store)
            finally:
                store.close()

        run_in_background(work, lambda found: self._apply_plan(name, *found),
                          self._failed(name, "list its folders to watch"), context=self, pool=self.pool)

    def _forget(self, name: str) -> None:
        """Stop watching a collection that is gone."""
        self._plans.pop(name, None)
        self.problems.pop(name, None)
        drop = [path for path, names in self._owners.items() if names == {name}]
        for names in self._owners.values():
            names.discard(name)
        for path in drop:
            del self._owners[path]
        current = {*self._watcher.files(), *self._watcher.directories()}
        if gone := [p for p in drop if p in current]:
            self._watcher.removePaths(gone)
        self.watch_changed.emit(name)

    def _apply_plan(self, name: str, folders: list[str], files: list[str]) -> None:
        """Watch what the new plan adds and stop what it drops; watches it keeps stay (their pending events too)."""
        used = sum(p.size for n, p in self._plans.items() if n != name)
        plan = plan_watch(folders, files, max(self.watch_budget - used, 0))
        before = self._plans.get(name)
        self._plans[name] = plan
        self.problems.pop(name, None)
        wanted = {*plan.folders, *plan.files}
        drop = []
        for path, names in self._owners.items():
            if name in names and path not in wanted:
                names.discard(name)
                if not names:
                    drop.append(path)
        for path in drop:
            del self._owners[path]
        # Qt forgets a file's watch by itself when the file is deleted or replaced: ask it what it still holds
        current = {*self._watcher.files(), *self._watcher.directories()}
        if gone := [p for p in drop if p in current]:
            self._watcher.removePaths(gone)
        new = [p for p in (*plan.folders, *plan.files) if p not in current]
        failed = set(self._watcher.addPaths(new)) if new else set()
        for path in wanted - failed:
            self._owners.setdefault(path, set()).add(name)
        self.watch_changed.emit(name)
        if before is not None and not wanted <= {*before.folders, *before.files}:
            # a folder (or file) watched only from now on: what was copied into it before its watch began
            # (``cp -r`` tells only of the new folder) is found by one more check
            self._check(name, "changed")

    def _on_watcher_changed(self, path: str) -> None:
        for name in self._owners.get(path, set()):
            timer = self._timers.get(name)
            if timer is None:
                timer = QTimer(self)
                timer.setSingleShot(True)
                timer.timeout.connect(lambda n=name: self._check(n, "changed"))
                self._timers[name] = timer
            timer.start(self.debounce_ms)  # a burst of changes: one check after the last

    def _check(self, name: str, reason: str) -> None:
        """Compare ``name``'s files with its index on a worker thread; index it if anything differs."""

        def work() -> bool:
            store = self.collections.open(name)
            try:
                return changes_on_disk(store).any
            finally:
                store.close()

        def checked(changed: bool) -> None:
            if self.problems.pop(name, None) is not None:
                self.watch_changed.emit(name)
            if changed:
                self.index(name, reason)
            self.checked.emit(name, changed)

        run_in_background(work, checked, self._failed(name, "check its files for changes"), context=self,
                          pool=self.pool)
