"""The chat's "Sources" button: which collections this chat reads, how (always, or as a tool), and the panel."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QActionGroup
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
        how = ("The model searches these collections when it wants (the search_sources tool) and cites them: "
               if chat_id is not None and self.sources.mode_of(chat_id) == "tool"
               else "Answers read these collections and cite them: ")
        self.setToolTip(how + ", ".join(names) if names else "Let this chat read and cite your own files")

    def set_mode(self, mode: str) -> None:
        """"always": passages read before every reply; "tool": the model searches with search_sources."""
        if self.chat_id is not None:
            self.sources.set_mode(self.chat_id, mode)
            self.set_chat(self.chat_id)

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
        mode = self.sources.mode_of(self.chat_id) if self.chat_id is not None else "always"
        group = QActionGroup(self.menu_)
        for key, text in (("always", "Always read them before replying"),
                          ("tool", "Let the model search them (a tool)")):
            action = self.menu_.addAction(text)
            action.setObjectName(f"sourcesMode-{key}")
            action.setCheckable(True)
            action.setChecked(mode == key)
            action.setEnabled(self.chat_id is not None)
            group.addAction(action)
            action.triggered.connect(lambda _on=False, k=key: self.set_mode(k))
        self.menu_.addSeparator()
        self.menu_.addAction("Manage collections…", self.manage)
