"""Files dropped on a chat join the chat's collection and are indexed in the background, with progress.

The collection is the chat's first one, or a new one named after the chat (made
safe as a collection name, and unique). The indexing runs as a job in its own
process, through the window's :class:`app.ui.sources.indexing.SourceIndexing`; its
progress shows on the chat's Sources button and in the status bar, and the chat
reads the collection from then on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from app.core.errors import InklingError
from app.core.jobs import JobEnded
from app.core.sources.chat_sources import ChatSources
from app.core.sources.indexer import progress_of
from app.ui.sources.indexing import SourceIndexing


def collection_name_for(title: str, taken: list[str]) -> str:
    """A collection name from a chat's title: letters, digits, spaces, '.', '-', '_'; unique among ``taken``."""
    base = re.sub(r"\s+", " ", re.sub(r"[^\w .-]+", " ", title)).strip(" .")[:56].strip(" .") or "Chat"
    if not re.match(r"^\w", base):
        base = "Chat " + base
    name, n = base, 2
    while name in taken:
        name, n = f"{base} {n}", n + 1
    return name


class ChatFileDrop(QObject):
    """An event filter on the chat pane (and its composer): local files dropped there are added and indexed."""

    def __init__(self, chat: Any, sources: ChatSources, indexing: SourceIndexing) -> None:
        super().__init__(chat)
        self.chat = chat
        self.sources = sources
        self.indexing = indexing
        self.job: str | None = None
        """The collection being indexed for a drop (None when none is)."""
        self.collection = ""
        self._began = False  # a job of self.job started after the drop: its end is the drop's
        self._before: JobEnded | None = None  # the end of the job that ran when the files were dropped
        indexing.started.connect(self._on_indexing_started)
        indexing.progressed.connect(self._on_indexing_progressed)
        indexing.ended.connect(self._on_indexing_ended)
        indexing.checked.connect(self._on_indexing_checked)
        for widget in (chat, chat.composer):
            widget.setAcceptDrops(True)
            widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and isinstance(event, QDropEvent):
            if _local_files(event):
                event.acceptProposedAction()
                return True
        elif event.type() == QEvent.Type.Drop and isinstance(event, QDropEvent):
            files = _local_files(event)
            if files:
                event.acceptProposedAction()
                self.add(files)
                return True
        return super().eventFilter(watched, event)

    def add(self, files: list[str]) -> str:
        """Add ``files`` to the open chat's collection (made if it has none) and start indexing; the name."""
        session = self.chat.session
        if session is None:
            return ""
        names = self.sources.of(session.id)
        name = names[0] if names else collection_name_for(session.title, self.sources.collections.names())
        new = name not in self.sources.collections.names()
        try:
            store = self.sources.collections.open(name, create=True)
            try:
                store.add_roots(files)
            finally:
                store.close()
            self.sources.set(session.id, [*names, name])
            self.chat.sources_button.set_chat(session.id)
        except InklingError as exc:
            self.chat.status_message.emit(str(exc))
            return ""
        if new:
            self.indexing.collections_changed.emit()
        self.collection = self.job = name
        self._began, self._before = False, None
        self.indexing.index(name)  # a job of it already running: it runs again after (the files added)
        self.chat.status_message.emit(f"Adding {len(files)} file(s) to “{name}”…")
        return name

    def _on_indexing_progressed(self, name: str, info: dict[str, Any]) -> None:
        if name != self.job:
            return
        done, total = progress_of(info)
        text = (f"Embedding {done}/{total} passages" if info.get("phase") == "embedding"
                else f"Indexing {done}/{total} files")
        self.chat.sources_button.setText(f"Sources: {text}…")
        self.chat.status_message.emit(f"“{name}”: {text}…")

    def _on_indexing_started(self, name: str) -> None:
        if name == self.job:
            self._began = True

    def _on_indexing_ended(self, name: str, ended: JobEnded) -> None:
        if name != self.job:
            return
        if not self._began and not ended.cancelled:
            self._before = ended  # the job that ran before the drop: the run after it reads the dropped files
            return
        self._report(name, ended)

    def _on_indexing_checked(self, name: str, changed: bool) -> None:
        if name == self.job and not self._began and self._before is not None and not changed:
            self._report(name, self._before)  # nothing left to read: the job that ran read the dropped files too

    def _report(self, name: str, ended: JobEnded) -> None:
        self.job = None
        self.chat.sources_button.set_chat(self.chat.session.id if self.chat.session is not None else None)
        report = ended.result if isinstance(ended.result, dict) else {}
        if ended.cancelled:
            self.chat.status_message.emit(f"“{name}”: indexing stopped after {report.get('read', 0)} file(s) read "
                                          "(what was read is kept; Update in Sources reads the rest).")
            return
        if ended.error is not None:
            self.chat.status_message.emit(f"“{name}” was not indexed: {ended.error}")
            return
        bad = f", {report.get('bad', 0)} skipped" if report.get("bad") else ""
        self.chat.status_message.emit(f"“{name}”: {report.get('read', 0)} file(s) read{bad}.")


def _local_files(event: QDropEvent | QDragEnterEvent) -> list[str]:
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [str(Path(u.toLocalFile()).resolve()) for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]
