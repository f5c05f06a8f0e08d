"""The Chat pane's list of chats: opening, creating, deleting, renaming, searching, export and import.

A mixin of ``ChatPane`` (app.ui.chat.chat_pane), which holds the live turn;
this part decides which ``ChatSession`` is on screen and mirrors it into the
transcript, the system prompt and the composer. A chat whose reply is still
ending when another is shown stays alive here until it ends, so reopening it
finds the same session (and its turn) rather than a second copy from storage.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from app.core.chat_session import ChatSession
from app.core.conversation import from_json, to_json, to_markdown
from app.ui.chat.conversation_list import ConversationListModel
from app.ui.chat.shown_reply import ShownReply

if TYPE_CHECKING:
    from app.ui.chat.chat_pane import ChatPane

    _Base = ChatPane
else:
    _Base = object


class ConversationsMixin(_Base):
    """Which chat is open, and everything the conversation list offers."""

    def _open_first_or_new(self, announce: bool = True) -> None:
        for row in self.list_model.rows:
            if self._show(self._session_for(row.id), announce):
                return
        self.session = None
        self.new_conversation()

    def _session_for(self, conversation_id: int) -> ChatSession | None:
        """The chat's session: the one still ending a reply if there is one, else read from storage."""
        alive = self._ending.get(conversation_id)
        return alive if alive is not None else ChatSession.open(self.storage, self.presets, conversation_id)

    def new_conversation(self) -> None:
        if self.session is not None and self.session.is_empty:
            self.composer.setFocus()
            return  # the current chat is still empty: use it
        sampling, preset = self.presets.resolve("", "")  # a new chat starts on the default preset, by name
        session = ChatSession.create(self.storage, sampling, preset)
        self.search_edit.clear()
        self.list_model.reload()
        self._show(session)
        self.composer.setFocus()

    def open_conversation(self, conversation_id: int) -> None:
        if self.session is not None and self.session.id == conversation_id:
            return
        self._show(self._session_for(conversation_id))

    def _show(self, session: ChatSession | None, announce: bool = True) -> bool:
        """Make ``session`` the open chat and mirror it; False if there is none."""
        if session is None:
            return False
        self._put_away()
        self.session = session
        self._ending.pop(session.id, None)
        session.subscribe(self._on_session_changed)
        turn = self._turn_of(session)
        session.settle_interrupted({r.message.id for r in turn.live})  # left "writing…" by an earlier run: stopped
        self._shown_ids = []
        self._sync_transcript()
        if turn.current is not None:  # reopened while its reply was still ending: that reply is the one shown
            self.reply = ShownReply(turn.current, self.transcript.widgets[turn.current.message.id])
        self.system_edit.setText(session.system_prompt)
        self.composer.blockSignals(True)
        self.composer.setPlainText(session.draft)
        self.composer.blockSignals(False)
        row = self.list_model.row_of(session.id)
        if row >= 0:
            self.list_view.setCurrentIndex(self.list_model.index(row))
        self._show_context()
        self._update_buttons()
        if announce:
            self.session_changed.emit()
            if session.model_path:
                self.model_wanted.emit(session.model_path)
        self.conversation_changed.emit(session.id)
        return True

    def _put_away(self) -> None:
        """The open chat leaves the screen: its draft is saved, its reply stopped (a waiting message goes back
        to its draft); if the reply is still ending, the session stays alive until it has."""
        old, self.session = self.session, None
        self.reply = None
        if old is None:
            return
        old.set_draft(self.composer.toPlainText())
        if old.turn is not None:
            old.turn.close()
            if old.turn.live:
                self._ending[old.id] = old

    def _sync_transcript(self) -> None:
        """Show the session's active branch; when it only extends (or trims) the one on screen, touch only the difference."""
        assert self.session is not None
        path, tree = self.session.path, self.session.tree
        shown, ids = self._shown_ids, [m.id for m in self.session.path]
        if shown and ids[: len(shown)] == shown and all(i in self.transcript.widgets for i in shown):
            for message in path[len(shown):]:
                self.transcript.append(message, tree.sibling_position(message.id))
            for message in path[len(shown) - 1: len(shown)]:
                self.transcript.widgets[message.id].set_version(tree.sibling_position(message.id))
        elif ids and shown[: len(ids)] == ids:
            self.transcript.remove(shown[len(ids):])
        else:
            self.transcript.show_branch(path, tree)
        self._shown_ids = ids

    def delete_conversation(self, conversation_id: int) -> None:
        current = self.session is not None and self.session.id == conversation_id
        session = self.session if current else self._session_for(conversation_id)
        if current:
            self._put_away()
        if session is None:
            return
        session.delete()
        self.undo_delete_button.remember(conversation_id)
        self.status_message.emit("Chat deleted — Undo delete brings it back")
        self.list_model.reload()
        if current:
            self._open_first_or_new()

    def undo_delete(self, conversation_id: int) -> None:
        session = ChatSession.undelete(self.storage, self.presets, conversation_id)
        self.list_model.reload()
        self._show(session)

    def _on_delete_button_clicked(self) -> None:
        if self.session is not None:
            self.delete_conversation(self.session.id)

    def _on_list_model_rename_requested(self, conversation_id: int, title: str) -> None:
        """A row was edited: the chat's session renames it (and announces it)."""
        if self.session is not None and self.session.id == conversation_id:
            self.session.rename(title)
            return
        other = self._session_for(conversation_id)
        if other is not None:
            other.subscribe(self._on_session_changed)
            other.rename(title)

    def _on_search_edit_text_changed(self, text: str) -> None:
        self.list_model.reload(text)
        self.no_match_label.setText(f"No chat has “{text.strip()}” in its title or messages." if text.strip() else "")
        self.no_match_label.setVisible(bool(text.strip()) and not self.list_model.rows)
        if self.session is not None:
            row = self.list_model.row_of(self.session.id)
            if row >= 0:
                self.list_view.setCurrentIndex(self.list_model.index(row))

    def _on_list_view_current_changed(self, current: object, _previous: object) -> None:
        conversation_id = current.data(ConversationListModel.IdRole) if current.isValid() else None  # type: ignore[attr-defined]
        if conversation_id is not None:
            self.open_conversation(int(conversation_id))

    def _on_system_edit_editing_finished(self) -> None:
        if self.session is not None:
            self.session.set_system_prompt(self.system_edit.text())

    def save_draft(self) -> None:
        if self.session is not None:
            self.session.set_draft(self.composer.toPlainText())

    # -- export and import ---------------------------------------------------------------

    def export_to(self, path: Path, *, thinking: bool = False) -> None:
        """Write the branch on screen as Markdown or JSON; replies' thinking only when ``thinking`` is chosen."""
        assert self.session is not None
        conv = self.session.exported(self.bridge.info.name if self.bridge.info else "", thinking=thinking)
        text = to_markdown(conv) if path.suffix.lower() in (".md", ".markdown") else to_json(conv)
        path.write_text(text, encoding="utf-8")
        self.status_message.emit(f"Exported to {path}")

    def import_from(self, path: Path) -> None:
        data = from_json(path.read_text(encoding="utf-8"))
        session = ChatSession.import_exported(self.storage, self.presets, data)
        self.search_edit.clear()
        self.list_model.reload()
        self._show(session)
        self.status_message.emit(f"Imported {len(data.messages)} messages from {path.name}")
