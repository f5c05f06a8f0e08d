"""The chat's "Sources" button: which collections this chat reads, and a way to the Sources panel."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from app.core.sources.chat_sources import ChatSources


class ChatSourcesButton(QToolButton):
    """A menu of collections, checked where the open chat reads them; "Manage…" opens the panel."""

    def __init__(self, sources: ChatSources, manage: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatSourcesButton")
        self.sources = sources
        self.manage = manage
        self.chat_id: int | None = None
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_ = QMenu(self)
        self.setMenu(self.menu_)
        self.menu_.aboutToShow.connect(self._fill)
        self.set_chat(None)

    def set_chat(self, chat_id: int | None) -> None:
        self.chat_id = chat_id
        names = self.sources.of(chat_id) if chat_id is not None else []
        self.setText(f"Sources ({len(names)})" if names else "Sources")
        self.setToolTip("Answers read these collections and cite them: " + ", ".join(names) if names
                        else "Let this chat read and cite your own files")

    def leave_out(self, source: str) -> None:
        """A passage (``path:line``) the open chat's next replies don't read ("× Leave out", then Regenerate)."""
        if self.chat_id is not None:
            self.sources.leave_out(self.chat_id, source)

    def toggle(self, name: str, on: bool) -> None:
        if self.chat_id is None:
            return
        names = set(self.sources.of(self.chat_id))
        names = names | {name} if on else names - {name}
        self.sources.set(self.chat_id, sorted(names))
        self.set_chat(self.chat_id)

    def _fill(self) -> None:
        self.menu_.clear()
        chosen = set(self.sources.of(self.chat_id)) if self.chat_id is not None else set()
        for name in self.sources.collections.names():
            action = self.menu_.addAction(name)
            action.setCheckable(True)
            action.setChecked(name in chosen)
            action.toggled.connect(lambda on, n=name: self.toggle(n, on))
        if not self.sources.collections.names():
            self.menu_.addAction("No collections yet").setEnabled(False)
        self.menu_.addSeparator()
        self.menu_.addAction("Manage collections…", self.manage)
