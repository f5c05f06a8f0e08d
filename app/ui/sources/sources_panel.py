"""The Sources panel: collections, adding folders and files, indexing progress, and the files skipped.

A thin view over :class:`app.core.sources.collections.Collections` and the window's
:class:`app.ui.sources.indexing.SourceIndexing`, which runs each collection's
indexing as a job on the app's child-process job runner (``JobRunnerPort``) and
watches its folders while the app is open. The panel shows the chosen collection's
job as it reports (files, MB, time left; "Paused"; a change on disk noticed), and
its Pause, Resume and Cancel are the job's own.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.jobs import JobEnded
from app.core.sources.collections import Collections
from app.core.sources.indexer import progress_of, roots_text, unavailable_text
from app.ui.sources.indexing import SourceIndexing

WHY = {"changed": "A change on disk was noticed · ", "start": "Catching up with changes since the last start · "}
"""What the progress line says first when a job was not asked for by a click."""


def progress_text(p: dict[str, Any]) -> str:
    """"Reading 120/3,000 files · 1.2/40 MB · about 2 min left" — what the progress line says."""
    eta = p.get("eta_seconds")
    left = "" if eta is None else (f" · about {eta:.0f} s left" if eta < 120 else f" · about {eta / 60:.0f} min left")
    if p.get("phase") == "embedding":
        return f"Embedding {p['vectors_done']:,}/{p['vectors_total']:,} passages{left}"
    if p.get("phase") in ("done", "stopped"):
        missing = unavailable_text(p)
        return (f"{'Done' if p['phase'] == 'done' else 'Stopped'}: {p['read']:,} read, {p['unchanged']:,} unchanged, "
                f"{p['bad']:,} skipped, {p['deleted']:,} gone" + (f" · {missing}" if missing else ""))
    return (f"Reading {p.get('files_done', 0):,}/{p.get('files_total', 0):,} files · "
            f"{p.get('bytes_done', 0) / 1e6:,.1f}/{p.get('bytes_total', 0) / 1e6:,.1f} MB{left}")


class SourcesPanel(QWidget):
    """Collections on the left; the chosen one's folders, progress, watch and skipped files on the right."""

    collections_changed = Signal()
    """A collection was added or removed."""

    def __init__(self, collections: Collections, indexing: SourceIndexing, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sourcesPanel")
        self.collections = collections
        self.indexing = indexing
        self._refresh = QTimer(self)  # counts and skipped files as they grow, once a second while a job runs
        self._refresh.setInterval(1000)
        self._build()
        self._connect_signals()
        self.collections_changed.connect(indexing.collections_changed)  # Write's sidebar lists them again
        self.reload()

    def _build(self) -> None:
        self.list = QListWidget(self)
        self.list.setObjectName("collectionList")
        self.new_button = QPushButton("New collection…")
        left = QVBoxLayout()
        left.addWidget(QLabel("<b>Collections</b>"))
        left.addWidget(self.list, 1)
        left.addWidget(self.new_button)
        self.add_folder_button = QPushButton("Add folder…")
        self.add_files_button = QPushButton("Add files…")
        self.reindex_button = QPushButton("Update")
        self.reindex_button.setToolTip("Read new and changed files, forget deleted ones")
        self.pause_button = QPushButton("Pause")
        self.cancel_button = QPushButton("Cancel")
        row = QHBoxLayout()
        for b in (self.add_folder_button, self.add_files_button, self.reindex_button, self.pause_button,
                  self.cancel_button):
            row.addWidget(b)
        row.addStretch(1)
        self.roots = QLabel()
        self.roots.setObjectName("collectionRoots")
        self.roots.setWordWrap(True)
        self.roots.setTextFormat(Qt.TextFormat.PlainText)
        self.counts = QLabel()
        self.counts.setObjectName("collectionCounts")
        self.watch_label = QLabel()
        self.watch_label.setObjectName("collectionWatch")
        self.watch_label.setWordWrap(True)
        self.watch_label.setTextFormat(Qt.TextFormat.PlainText)
        self.progress = QProgressBar()
        self.progress.setObjectName("indexProgress")
        self.progress_label = QLabel()
        self.progress_label.setObjectName("indexProgressText")
        self.progress_label.setWordWrap(True)
        self.bad = QListWidget(self)
        self.bad.setObjectName("badFiles")
        self.bad.setWordWrap(True)
        right = QVBoxLayout()
        right.addWidget(self.roots)
        right.addLayout(row)
        right.addWidget(self.progress)
        right.addWidget(self.progress_label)
        right.addWidget(self.counts)
        right.addWidget(self.watch_label)
        right.addWidget(QLabel("Files skipped, and why:"))
        right.addWidget(self.bad, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addLayout(right, 3)

    def _connect_signals(self) -> None:
        self.list.currentTextChanged.connect(self._on_list_current_text_changed)
        self.new_button.clicked.connect(self._on_new_button_clicked)
        self.add_folder_button.clicked.connect(self._on_add_folder_button_clicked)
        self.add_files_button.clicked.connect(self._on_add_files_button_clicked)
        self.reindex_button.clicked.connect(self.index_current)
        self.pause_button.clicked.connect(self._on_pause_button_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self._refresh.timeout.connect(self._on_refresh_timeout)
        self.indexing.started.connect(self._on_indexing_started)
        self.indexing.progressed.connect(self._on_indexing_progressed)
        self.indexing.paused_changed.connect(self._on_indexing_paused_changed)
        self.indexing.ended.connect(self._on_indexing_ended)
        self.indexing.watch_changed.connect(self._on_indexing_watch_changed)

    @property
    def current(self) -> str:
        item = self.list.currentItem()
        return item.text() if item is not None else ""

    @property
    def job(self) -> Any:
        """The chosen collection's running job (None when it has none)."""
        return self.indexing.job(self.current) if self.current else None

    def reload(self, select: str = "") -> None:
        names = self.collections.names()
        keep = select or self.current
        self.list.clear()
        self.list.addItems(names)
        if names:
            self.list.setCurrentRow(names.index(keep) if keep in names else 0)
        self._show_collection()

    def create(self, name: str) -> None:
        self.collections.open(name, create=True).close()
        self.reload(select=name)
        self.collections_changed.emit()

    def add_paths(self, paths: list[str]) -> None:
        """Add folders or files to the chosen collection and index it."""
        if not self.current or not paths:
            return
        store = self.collections.open(self.current)
        try:
            store.add_roots(paths)
        finally:
            store.close()
        self.index_current()

    def index_current(self) -> None:
        if not self.current or self.indexing.running(self.current):
            return
        self.indexing.index(self.current)
        if not self.indexing.running(self.current):
            self.progress_label.setText(self.indexing.waiting_note(self.current)
                                        or "Waits for another collection's indexing to end…")
        self._update_buttons()

    def _show_collection(self) -> None:
        name = self.current
        self.watch_label.setText(self.indexing.watch_note(name) if name else "")
        if not name:
            self.roots.setText("Make a collection, then add the folders and files it should read.")
            self.counts.setText("")
            self.progress_label.setText("")
            self.bad.clear()
            self._update_buttons()
            return
        store = self.collections.open(name)
        try:
            roots, counts, bad = store.roots(), store.counts(), store.bad_files()
        finally:
            store.close()
        self.roots.setText("Reads: " + (roots_text(roots) if roots else "nothing yet — add a folder or files"))
        self.counts.setText(f"{counts['files']:,} files · {counts['chunks']:,} passages · {counts['vectors']:,} "
                            f"embedded · {counts['bytes'] / 1e6:,.1f} MB")
        self.bad.clear()
        self.bad.addItems([f"{path} — {reason}" for path, reason in bad])
        self._show_progress(name)
        self._update_buttons()

    def _show_progress(self, name: str) -> None:
        """The progress bar and line for ``name``'s job (running, or the last one's end)."""
        job = self.indexing.job(name)
        p = self.indexing.last.get(name, {})
        why = WHY.get(self.indexing.reasons.get(name, ""), "")
        if job is not None:
            done, total = progress_of(p)
            if total:
                self.progress.setRange(0, total)
                self.progress.setValue(done)
            else:
                self.progress.setRange(0, 0)
            line = progress_text(p) if p else "Looking for files…"
            self.progress_label.setText(("Paused · " if job.paused else "") + why + line)
            return
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if name in self.indexing.outcomes else 0)
        ended = self.indexing.outcomes.get(name)
        if ended is None:
            self.progress_label.setText("")
        elif ended.error is not None and not (ended.cancelled and p):
            self.progress_label.setText(str(ended.error))
        elif p:
            self.progress_label.setText(why + progress_text(p))

    def _update_buttons(self) -> None:
        job = self.job
        running = job is not None
        has = bool(self.current)
        for b in (self.add_folder_button, self.add_files_button, self.reindex_button):
            b.setEnabled(has and not running)
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.pause_button.setText("Resume" if running and job.paused else "Pause")

    def _on_indexing_started(self, name: str) -> None:
        if name == self.current:
            self._refresh.start()
            self._show_progress(name)
            self._update_buttons()

    def _on_indexing_progressed(self, name: str, _report: dict[str, Any]) -> None:
        if name == self.current:
            self._show_progress(name)

    def _on_indexing_paused_changed(self, name: str, _paused: bool) -> None:
        if name == self.current:
            self._show_progress(name)
            self._update_buttons()
        elif self.current and self.indexing.busy(self.current) and not self.indexing.running(self.current):
            self.progress_label.setText(self.indexing.waiting_note(self.current))  # the job it waits for paused

    def _on_indexing_ended(self, name: str, _ended: JobEnded) -> None:
        if name == self.current:
            self._refresh.stop()
            self._show_collection()

    def _on_indexing_watch_changed(self, name: str) -> None:
        if name == self.current:
            self.watch_label.setText(self.indexing.watch_note(name))

    def _on_refresh_timeout(self) -> None:
        if self.job is None:
            self._refresh.stop()
        self._show_collection()

    def _on_list_current_text_changed(self, _name: str) -> None:
        self._show_collection()
        if self.job is not None:
            self._refresh.start()

    def _on_new_button_clicked(self) -> None:
        name, ok = QInputDialog.getText(self, "New collection", "Name (letters, digits, spaces, '-', '_'):")
        if ok and name.strip():
            self.create(name.strip())

    def _on_add_folder_button_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the collection")
        if folder:
            self.add_paths([folder])

    def _on_add_files_button_clicked(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add files to the collection", "",
                                                "Documents (*.txt *.md *.markdown *.html *.htm *.docx *.odt *.epub "
                                                "*.pdf);;All files (*)")
        self.add_paths(files)

    def _on_pause_button_clicked(self) -> None:
        job = self.job
        if job is None:
            return
        if job.paused:
            job.resume()
        else:
            job.pause()
        self._show_progress(self.current)
        self._update_buttons()

    def _on_cancel_button_clicked(self) -> None:
        if self.current:
            self.indexing.cancel(self.current)
