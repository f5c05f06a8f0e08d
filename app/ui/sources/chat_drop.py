"""Files dropped on a chat join the chat's collection and are indexed in the background, with progress.

The collection is the chat's first one, or a new one named after the chat (made
safe as a collection name, and unique). The indexing runs as a job in its own
process (``start_job(db)`` gives an :class:`app.engine.source_jobs.IndexJob`-like
object: ``last``, ``done()``, ``wait()``); its progress shows on the chat's Sources
button and in the status bar, and the chat reads the collection from then on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from app.core.errors import InklingError
from app.core.sources.chat_sources import ChatSources


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

    def __init__(self, chat: Any, sources: ChatSources, start_job: Callable[[str], Any]) -> None:
        super().__init__(chat)
        self.chat = chat
        self.sources = sources
        self.start_job = start_job
        self.job: Any = None
        self.collection = ""
        self.timer = QTimer(self)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self._poll)
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
        try:
            store = self.sources.collections.open(name, create=True)
            try:
                store.add_roots(files)
                db = str(store.path)
            finally:
                store.close()
            self.sources.set(session.id, [*names, name])
            self.chat.sources_button.set_chat(session.id)
            self.collection = name
            self.job = self.start_job(db)
        except InklingError as exc:
            self.chat.status_message.emit(str(exc))
            return ""
        self.chat.status_message.emit(f"Adding {len(files)} file(s) to “{name}”…")
        self.timer.start()
        return name

    def _poll(self) -> None:
        job = self.job
        if job is None:
            self.timer.stop()
            return
        info = job.last or {}
        button = self.chat.sources_button
        if not job.done():
            text = f"Indexing {info.get('files_done', 0)}/{info.get('files_total', 0)} files"
            if info.get("phase") == "embedding":
                text = f"Embedding {info.get('vectors_done', 0)}/{info.get('vectors_total', 0)} passages"
            button.setText(f"Sources: {text}…")
            self.chat.status_message.emit(f"“{self.collection}”: {text}…")
            return
        self.timer.stop()
        self.job = None
        button.set_chat(self.chat.session.id if self.chat.session is not None else None)
        try:
            report = job.wait(0)
            bad = f", {report.get('bad', 0)} skipped" if report.get("bad") else ""
            self.chat.status_message.emit(f"“{self.collection}”: {report.get('read', 0)} file(s) read{bad}.")
        except (InklingError, TimeoutError) as exc:
            self.chat.status_message.emit(f"“{self.collection}” was not indexed: {exc}")


def _local_files(event: QDropEvent | QDragEnterEvent) -> list[str]:
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [str(Path(u.toLocalFile()).resolve()) for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]
