"""The Chat pane's controller: a view over a ``ChatSession`` plus the conversation list and streaming.

Every chat's data lives in its ``ChatSession`` (app.core.chat_session), which
writes to SQLite as things happen; this class turns clicks into session calls
and session state into widgets. A reply being streamed is committed at least
every second and at its end, so a killed app loses at most a second of it; the
composer's draft is saved as the user types.

While a reply is written, Send gives its place to Stop, and a message sent with
Enter waits its turn: it goes when the reply ends (however it ends), so a reply
is never cut off by the next question.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import shiboken6
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QWidget

from app.core.chat_session import ChatSession, Reply
from app.core.conversation import from_json, to_json, to_markdown
from app.core.errors import InklingError, NoModelLoaded
from app.core.events import Finished, PromptProgress, TokenEvent
from app.core.presets import PresetStore
from app.core.sampling import SamplingSettings
from app.core.storage import MessageRow, Storage
from app.ui.chat.chat_view import ChatView
from app.ui.chat.conversation_list import ConversationListModel
from app.ui.chat.message_widget import MessageWidget
from app.ui.engine_bridge import FRAME_MS, EngineBridge, StreamHandle
from app.ui.markdown_view import INCREMENTAL_FROM
from app.ui.pane import PreviewRequest
from app.ui.widgets import DebouncedSaver

SAVE_INTERVAL_MS = 1000  # a streaming reply is committed at least this often
DRAFT_DELAY_MS = 300
DRAFT_MAX_AGE = 0.7  # seconds
PREVIEW_DRAFT = "How the reply to the message you are typing could begin"
PREVIEW_NO_DRAFT = "Type a message: the chart shows how the reply to it could begin."


@dataclass
class _Streaming:
    """A reply on its way: the session's Reply, the engine stream, and the widget that shows it."""

    session: ChatSession
    reply: Reply
    handle: StreamHandle
    widget: MessageWidget
    sent_at: float = 0.0  # perf_counter when Send (or Regenerate, Continue) was pressed

    @property
    def text(self) -> str:
        return self.reply.text


class ChatPane(ChatView):
    """The whole Chat pane over the open ChatSession. Implements the window's ``Pane`` protocol."""

    status_message = Signal(str)
    """A short line for the status bar."""
    session_changed = Signal()
    """Another chat is shown (the Sampling panel shows its settings)."""
    preview_changed = Signal()
    """The context the next token would follow may have changed."""
    context_changed = Signal(int, int)
    """(tokens used, context size) after a reply."""
    speed_changed = Signal(float)
    """Decode speed of the last reply in tok/s."""
    model_wanted = Signal(str)
    """The chat the user opened was last used with this model file."""
    choose_model_requested = Signal()
    """The user asked to pick another model (from an error)."""
    reload_model_requested = Signal()
    """The user asked to reload the model (from an error)."""
    reply_finished = Signal(object)
    """A reply ended (Finished) — for tests and the status bar."""
    conversation_changed = Signal(int)
    """Another conversation is shown."""
    title_changed = Signal(str)
    """The open chat's title changed (renamed, or named after its first question)."""

    def __init__(self, storage: Storage, bridge: EngineBridge, presets: PresetStore,
                 parent: QWidget | None = None) -> None:
        super().__init__(storage, parent)
        self.storage = storage
        self.bridge = bridge
        self.presets = presets
        self.session: ChatSession | None = None
        self.reply: _Streaming | None = None  # the newest reply; older ones may still be ending
        self._streams: list[_Streaming] = []
        self._shown_ids: list[int] = []
        self._send_waiting = False  # Enter was pressed during a reply: send the composer's text when it ends
        self._render_cost_ms = 0.0
        self._rendered_at = 0.0  # perf_counter of the last render of the streaming reply
        self._render_timer = QTimer(self)  # one, started again for each render (a new timer each time cost more)
        self._render_timer.setSingleShot(True)
        self._render_timer.timeout.connect(self._render_streaming)
        self._save_timer = QTimer(self)
        self._save_timer.setInterval(SAVE_INTERVAL_MS)
        self._draft_saver = DebouncedSaver(self.save_draft, DRAFT_DELAY_MS, DRAFT_MAX_AGE, self)
        self._connect_signals()
        self.list_model.reload()
        self._open_first_or_new(announce=False)

    def _connect_signals(self) -> None:
        self.new_button.clicked.connect(self.new_conversation)
        self.search_edit.textChanged.connect(self._on_search_edit_text_changed)
        self.list_view.selectionModel().currentChanged.connect(self._on_list_view_current_changed)
        self.list_view.delete_requested.connect(self.delete_conversation)
        self.list_model.rename_requested.connect(self._on_list_model_rename_requested)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.undo_delete_button.undo_requested.connect(self.undo_delete)
        self.send_button.clicked.connect(self.send)
        self.composer.send_requested.connect(self.send)
        self.composer.stop_requested.connect(self.stop)
        self.composer.textChanged.connect(self._draft_saver.touch)
        self.composer.textChanged.connect(self.preview_changed)
        self.stop_button.clicked.connect(self.stop)
        self.regen_button.clicked.connect(self.regenerate_last)
        self.system_edit.editingFinished.connect(self._on_system_edit_editing_finished)
        self.transcript.version_requested.connect(self.switch_version)
        self.transcript.edit_submitted.connect(self.edit_message)
        self.transcript.regenerate_requested.connect(self.regenerate)
        self.transcript.continue_requested.connect(self.continue_reply)
        self.transcript.action_requested.connect(self._on_transcript_action_requested)
        self._save_timer.timeout.connect(self._on_save_timer_timeout)
        self.bridge.state_changed.connect(self._on_bridge_state_changed)
        self.reply_finished.connect(self.preview_changed)
        self.conversation_changed.connect(self.preview_changed)

    # -- the Pane protocol and what the window reads -------------------------------------

    def sampling_owner(self) -> ChatSession | None:
        return self.session

    def preview_request(self) -> PreviewRequest | None:
        """The first token of the reply to the message being typed; nothing until there is one."""
        draft = self.composer.toPlainText()
        if self.session is None or not draft.strip():
            return PreviewRequest(about=PREVIEW_NO_DRAFT)
        return PreviewRequest(messages=self.session.preview_history(draft), about=PREVIEW_DRAFT)

    def flush(self) -> None:
        self.save_draft()

    @property
    def conversation(self) -> ChatSession | None:
        """The open chat (the same object as ``session``)."""
        return self.session

    @property
    def path(self) -> list[MessageRow]:
        return self.session.path if self.session is not None else []

    @property
    def sampling(self) -> SamplingSettings:
        return self.session.sampling if self.session is not None else SamplingSettings()

    @property
    def preset(self) -> str:
        return self.session.preset if self.session is not None else ""

    def set_sampling(self, settings: SamplingSettings, preset: str = "") -> None:
        """The next request uses these settings, and this chat remembers them."""
        if self.session is not None:
            self.session.set_sampling(settings, preset)

    # -- conversations -------------------------------------------------------------------

    def _open_first_or_new(self, announce: bool = True) -> None:
        for row in self.list_model.rows:
            if self._show(ChatSession.open(self.storage, self.presets, row.id), announce):
                return
        self.session = None
        self.new_conversation()

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
        self._show(ChatSession.open(self.storage, self.presets, conversation_id))

    def _show(self, session: ChatSession | None, announce: bool = True) -> bool:
        """Make ``session`` the open chat and mirror it; False if there is none."""
        if session is None:
            return False
        self.save_draft()
        self.stop()
        self._send_waiting = False
        self.session = session
        session.subscribe(self._on_session_changed)
        live = {s.reply.message.id for s in self._streams if s.session.id == session.id}
        session.settle_interrupted(live)  # a reply left "writing…" by an earlier run or stream is shown as stopped
        self._shown_ids = []
        self._sync_transcript()
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
        if current:
            self.stop()
        self.storage.delete_conversation(conversation_id)
        self.undo_delete_button.remember(conversation_id)
        self.status_message.emit("Chat deleted — Undo delete brings it back")
        self.list_model.reload()
        if current:
            self.session = None
            self._open_first_or_new()

    def undo_delete(self, conversation_id: int) -> None:
        self.storage.undelete_conversation(conversation_id)
        self.list_model.reload()
        self._show(ChatSession.open(self.storage, self.presets, conversation_id))

    def _on_delete_button_clicked(self) -> None:
        if self.session is not None:
            self.delete_conversation(self.session.id)

    def _on_list_model_rename_requested(self, conversation_id: int, title: str) -> None:
        """A row was edited: the chat's session renames it (and announces it)."""
        if self.session is not None and self.session.id == conversation_id:
            self.session.rename(title)
            return
        other = ChatSession.open(self.storage, self.presets, conversation_id)
        if other is not None:
            other.subscribe(self._on_session_changed)
            other.rename(title)

    def _on_session_changed(self, session: ChatSession, what: str) -> None:
        """A session announced a change: its row, and the window title if it is the open chat, follow."""
        if what == "title":
            self.list_model.set_title(session.id, session.title)
            if session is self.session:
                self.title_changed.emit(session.title)

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

    # -- sending and streaming -----------------------------------------------------------

    def send(self) -> None:
        sent_at = time.perf_counter()
        text = self.composer.toPlainText().strip()
        if not text:
            return
        if self.reply is not None:  # the message waits its turn; the reply being written is not cut off
            self._send_waiting = True
            self.status_message.emit("Your message is sent when this reply ends (Esc stops the reply)")
            return
        if self.session is None:
            self.new_conversation()
        assert self.session is not None
        self._on_system_edit_editing_finished()
        user = self.session.add_user_message(text)
        self.composer.clear()
        self.save_draft()
        self._sync_transcript()
        self._start_reply(user, sent_at=sent_at)

    def _start_reply(self, parent: MessageRow, continuing: int | None = None, sent_at: float = 0.0) -> None:
        """Ask the engine for a reply. A model that is still loading is waited for, not refused."""
        sent_at = sent_at or time.perf_counter()
        session = self.session
        assert session is not None
        if self.bridge.state in ("empty", "error") and self.bridge.engine.info is None:
            session.fail_without_engine(parent, str(NoModelLoaded()))
            self._sync_transcript()
            return
        if continuing is None:
            reply, history = session.start_reply(parent)
        else:
            started = session.continue_reply(continuing)
            if started is None:
                return
            reply, history = started
        self._sync_transcript()
        widget = self.transcript.widgets[reply.message.id]
        widget.refresh_status()
        handle = self.bridge.chat(history, session.sampling, continue_last=continuing is not None)
        self.reply = _Streaming(session, reply, handle, widget, sent_at)
        self._streams.append(self.reply)
        handle.tokens_arrived.connect(self._on_reply_tokens_arrived)
        handle.prompt_progressed.connect(self._on_reply_prompt_progressed)
        handle.finished.connect(self._on_reply_finished)
        handle.failed.connect(self._on_reply_failed)
        self._save_timer.start()
        self.transcript.scroll_to_bottom()
        self._update_buttons()

    def _current(self) -> _Streaming | None:
        """The reply whose handle sent the signal being handled."""
        return next((s for s in self._streams if s.handle is self.sender()), None)

    def _on_reply_tokens_arrived(self, batch: list[TokenEvent]) -> None:
        reply = self._current()
        if reply is None:
            return
        reply.reply.add("".join(t.text for t in batch))
        if not reply.reply.first_token_ms and reply.reply.text != reply.reply.base:
            reply.reply.first_token_ms = (time.perf_counter() - reply.sent_at) * 1000
            if shiboken6.isValid(reply.widget):
                reply.widget.set_note("")
            if reply is self.reply:
                self.status_message.emit("Writing…")
        if reply is self.reply and not self._render_timer.isActive():
            # one render a frame at most (slower if a huge reply makes rendering itself slow): now if the
            # last one is a frame old, else when it will be
            frame_ms = max(FRAME_MS, self._render_cost_ms * 4)
            wait_ms = frame_ms - (time.perf_counter() - self._rendered_at) * 1000
            if wait_ms <= 0:
                self._render_streaming()
            else:
                self._render_timer.start(int(wait_ms) + 1)

    def _on_reply_prompt_progressed(self, progress: PromptProgress) -> None:
        reply = self._current()
        if reply is None or reply.reply.first_token_ms or not shiboken6.isValid(reply.widget):
            return
        note = f"Reading the prompt… {progress.fraction:.0%}"
        reply.widget.set_note(note)
        if reply is self.reply:
            self.status_message.emit(f"{note} ({progress.done:,} of {progress.total:,} tokens)")

    def _render_streaming(self) -> None:
        reply = self.reply
        if reply is None or not shiboken6.isValid(reply.widget):
            return
        self._rendered_at = started = time.perf_counter()
        reply.widget.set_streaming_text(reply.text)
        self._render_cost_ms = (time.perf_counter() - started) * 1000

    def _on_save_timer_timeout(self) -> None:
        for stream in self._streams:
            stream.session.save_progress(stream.reply)

    def _on_reply_finished(self, fin: Finished) -> None:
        reply = self._current()
        if reply is None:
            return
        info = self.bridge.info
        newest = reply is self.reply
        message = reply.session.finish_reply(reply.reply, fin, model_name=info.name if info else "",
                                             model_path=info.path if info else "")  # may name the chat
        self._show_ended(reply, message)
        if not newest:  # a stopped reply that a newer one replaced: saved, not announced
            return
        self._show_context()
        if fin.dropped_messages:
            self.transcript.show_notice(
                f"⚠ {fin.dropped_messages} older messages no longer fit in the model's context "
                "and were left out of what it sees (they are still saved here).")
        self.status_message.emit(self._ended_note(fin, reply))
        self.reply_finished.emit(fin)

    @staticmethod
    def _ended_note(fin: Finished, reply: _Streaming) -> str:
        """What the status bar says once a reply ends: it replaces "Writing…", which must not outlive the reply."""
        t = fin.timings
        if fin.reason == "cancelled":
            return "Stopped — the reply so far is kept" if reply.text.strip() else "Stopped before the model wrote anything"
        ending = {"stop": "", "length": ", ended at the length limit"}.get(fin.reason, f" ({fin.reason})")
        first = f", first token after {reply.reply.first_token_ms:,.0f} ms" if reply.reply.first_token_ms else ""
        return f"Reply: {t.generated_tokens:,} tokens at {t.tokens_per_second:.1f} tok/s{first}{ending}"

    def _on_reply_failed(self, exc: InklingError) -> None:
        reply = self._current()
        if reply is None:
            return
        info = self.bridge.info
        newest = reply is self.reply
        message = reply.session.fail_reply(reply.reply, str(exc), model_path=info.path if info else "")
        self._show_ended(reply, message)
        if newest:
            self.status_message.emit(f"The reply failed: {exc}")
            self.reply_finished.emit(Finished("error", reply.text, error=str(exc)))

    def _show_ended(self, reply: _Streaming, message: MessageRow) -> None:
        self._streams.remove(reply)
        if not self._streams:
            self._save_timer.stop()
        if self.reply is reply:
            self.reply = None
            if self._send_waiting:  # the waiting message's turn
                self._send_waiting = False
                QTimer.singleShot(0, self.send)
        self._update_buttons()
        if reply.session is not self.session or not shiboken6.isValid(reply.widget):
            return
        if len(message.content) >= INCREMENTAL_FROM:  # the one full render of a long reply waits until its end is announced
            reply.widget.refresh_status()
            QTimer.singleShot(0, lambda w=reply.widget, m=message: shiboken6.isValid(w) and w.update_message(m))
        else:
            reply.widget.update_message(message)

    def stop(self) -> None:
        if self.reply is not None:
            self.reply.handle.cancel()

    def finish_for_quit(self) -> None:
        """Quitting: stop every reply and save each as it stands now, before storage closes.

        Their late "finished" events then find no stream and write nothing to a closed database.
        """
        for stream in list(self._streams):
            stream.handle.cancel()
            stream.session.finish_reply(stream.reply, Finished("cancelled", stream.text))
            self._streams.remove(stream)
        self.reply = None
        self._save_timer.stop()

    def regenerate_last(self) -> None:
        if self.session is None:
            return
        self.stop()
        parent = self.session.last_question_to_answer()
        if parent is not None:
            self._sync_transcript()
            self._start_reply(parent)

    def regenerate(self, message_id: int) -> None:
        """A new version of a reply, beside the old one."""
        if self.session is None:
            return
        self.stop()
        parent = self.session.parent_for_regenerate(message_id)
        if parent is not None:
            self._sync_transcript()
            self._start_reply(parent)

    def continue_reply(self, message_id: int) -> None:
        message = self.session.tree.by_id.get(message_id) if self.session is not None else None
        if self.reply is not None or message is None or message.parent_id is None:
            return
        self._start_reply(self.session.tree.by_id[message.parent_id], continuing=message_id)  # type: ignore[union-attr]

    def edit_message(self, message_id: int, text: str) -> None:
        """Save an edited version beside the original; an edited question gets a new reply."""
        if self.session is None:
            return
        self.stop()
        new = self.session.edit(message_id, text)
        if new is None:
            return
        self._sync_transcript()
        if new.role == "user":
            self._start_reply(new)

    def switch_version(self, message_id: int, step: int) -> None:
        if self.reply is None and self.session is not None and self.session.switch_version(message_id, step):
            self._sync_transcript()
            self._show_context()

    def _show_context(self) -> None:
        """How full the context is and how fast the last reply was, for the branch on screen (from its last reply)."""
        last = next((m for m in reversed(self.path) if m.role == "assistant" and m.stats.get("prompt_tokens")), None)
        info = self.bridge.info
        stats = last.stats if last is not None else {}
        used = int(stats.get("prompt_tokens", 0)) + int(stats.get("tokens", 0))
        total = info.context if info is not None else 0
        if used and total:
            self.context_label.setText(f"Context: {used:,} of {total:,} tokens")
        else:
            self.context_label.clear()
            used = total = 0
        self.context_changed.emit(used, total)
        self.speed_changed.emit(float(stats.get("tok_s", 0.0)))

    def _on_transcript_action_requested(self, action: str) -> None:
        if action == "reload":
            self.reload_model_requested.emit()
        elif action == "choose-model":
            self.choose_model_requested.emit()

    def _on_bridge_state_changed(self, state: str) -> None:
        self._update_buttons()
        if state == "ready" and self.reply is None:  # a model (re)loaded: its context size may be new
            self._show_context()

    def _update_buttons(self) -> None:
        streaming = self.reply is not None
        self.stop_button.setEnabled(streaming)
        self.stop_button.setVisible(streaming)  # Stop takes Send's place while a reply is written
        self.send_button.setVisible(not streaming)
        self.send_button.setEnabled(not streaming)
        self.regen_button.setEnabled(not streaming and bool(self.path))

    # -- export and import ---------------------------------------------------------------

    def export_to(self, path: Path) -> None:
        assert self.session is not None
        conv = self.session.exported(self.bridge.info.name if self.bridge.info else "")
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
