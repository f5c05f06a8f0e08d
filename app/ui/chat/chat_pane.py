"""The Chat pane's controller: conversations, sending, streaming, versions, export/import.

The pane is the only place that writes chat data. A reply being streamed is
committed at least every second and at its end, so a killed app loses at most a
second of it; the composer's draft is saved as the user types.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.conversation import ConversationTree, ExportedConversation, auto_title, from_json, to_json, to_markdown
from app.core.errors import InklingError, NoModelLoaded
from app.core.events import Finished, TokenEvent
from app.core.sampling import SamplingSettings
from app.core.storage import ConversationRow, MessageRow, Storage
from app.ui.chat.composer import Composer
from app.ui.chat.conversation_list import ConversationListModel, ConversationListView
from app.ui.chat.message_widget import MessageWidget
from app.ui.chat.transcript import TranscriptView
from app.ui.engine_bridge import EngineBridge, StreamHandle
from app.ui.markdown_view import INCREMENTAL_FROM
from app.ui.widgets import DebouncedSaver, UndoDeleteButton

SAVE_INTERVAL_MS = 1000  # a streaming reply is committed at least this often
DRAFT_DELAY_MS = 300
DRAFT_MAX_AGE = 0.7  # seconds


@dataclass
class _Reply:
    """The reply being streamed."""

    message: MessageRow
    widget: MessageWidget
    handle: StreamHandle
    base: str  # text the reply already had (continue)
    text: str = ""
    saved_text: str = ""


class ChatPane(QWidget):
    """The whole Chat pane. Talks to Storage and the EngineBridge; the main window wires the rest."""

    status_message = Signal(str)
    """A short line for the status bar."""
    context_changed = Signal(int, int)
    """(tokens used, context size) after a reply."""
    speed_changed = Signal(float)
    """Decode speed of the last reply in tok/s."""
    sampling_loaded = Signal(object, str)
    """A conversation with its own (SamplingSettings | None, preset name) was opened."""
    model_wanted = Signal(str)
    """The opened conversation was last used with this model file."""
    choose_model_requested = Signal()
    """The user asked to pick another model (from an error)."""
    reload_model_requested = Signal()
    """The user asked to reload the model (from an error)."""
    reply_finished = Signal(object)
    """A reply ended (Finished) — for tests and the status bar."""
    conversation_changed = Signal(int)
    """Another conversation is shown."""

    def __init__(self, storage: Storage, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.storage = storage
        self.bridge = bridge
        self.sampling = SamplingSettings()
        self.preset = ""
        self.conversation: ConversationRow | None = None
        self.tree = ConversationTree([])
        self.path: list[MessageRow] = []
        self.reply: _Reply | None = None
        self._render_pending = False
        self._render_cost_ms = 0.0
        self._build()
        self._connect_signals()
        self.list_model.reload()
        if self.list_model.rows:
            self.open_conversation(self.list_model.rows[0].id)
        else:
            self.new_conversation()

    # -- layout -----------------------------------------------------------------

    def _build(self) -> None:
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("conversationSearch")
        self.search_edit.setPlaceholderText("Search chats")
        self.search_edit.setClearButtonEnabled(True)
        self.new_button = QPushButton("New chat")
        self.new_button.setObjectName("newConversationButton")
        self.new_button.setToolTip("New chat (Ctrl+N)")
        self.list_model = ConversationListModel(self.storage)
        self.list_view = ConversationListView()
        self.list_view.setModel(self.list_model)
        self.undo_delete_button = UndoDeleteButton()
        self.undo_delete_button.setObjectName("undoDeleteButton")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setObjectName("deleteConversationButton")
        self.delete_button.setToolTip("Delete the selected chat (Del); it can be undone")
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.new_button)
        left_layout.addWidget(self.search_edit)
        left_layout.addWidget(self.list_view, 1)
        row = QHBoxLayout()
        row.addWidget(self.delete_button)
        row.addWidget(self.undo_delete_button)
        left_layout.addLayout(row)

        self.system_edit = QLineEdit()
        self.system_edit.setObjectName("systemPromptEdit")
        self.system_edit.setPlaceholderText("System prompt for this chat (how the assistant should behave)")
        self.transcript = TranscriptView()
        self.composer = Composer()
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.setDefault(True)
        self.send_button.setToolTip("Send (Enter)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop the reply (Esc)")
        self.stop_button.setEnabled(False)
        self.regen_button = QPushButton("Regenerate")
        self.regen_button.setObjectName("regenerateButton")
        self.regen_button.setToolTip("New version of the last reply (Ctrl+R)")
        self.context_label = QLabel()
        self.context_label.setObjectName("contextMeter")
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.regen_button)
        composer_row = QHBoxLayout()
        composer_row.addWidget(self.composer, 1)
        composer_row.addLayout(buttons)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        sys_row = QHBoxLayout()
        sys_row.addWidget(QLabel("System:"))
        sys_row.addWidget(self.system_edit, 1)
        right_layout.addLayout(sys_row)
        right_layout.addWidget(self.transcript, 1)
        right_layout.addWidget(self.context_label)
        right_layout.addLayout(composer_row)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("chatSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([220, 800])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)

        self._save_timer = QTimer(self)
        self._save_timer.setInterval(SAVE_INTERVAL_MS)
        self._draft_saver = DebouncedSaver(self.save_draft, DRAFT_DELAY_MS, DRAFT_MAX_AGE, self)

    def _connect_signals(self) -> None:
        self.new_button.clicked.connect(self.new_conversation)
        self.search_edit.textChanged.connect(self._on_search_edit_text_changed)
        self.list_view.selectionModel().currentChanged.connect(self._on_list_view_current_changed)
        self.list_view.delete_requested.connect(self.delete_conversation)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.undo_delete_button.undo_requested.connect(self.undo_delete)
        self.send_button.clicked.connect(self.send)
        self.composer.send_requested.connect(self.send)
        self.composer.stop_requested.connect(self.stop)
        self.composer.textChanged.connect(self._draft_saver.touch)
        self.stop_button.clicked.connect(self.stop)
        self.regen_button.clicked.connect(self.regenerate_last)
        self.system_edit.editingFinished.connect(self._on_system_edit_editing_finished)
        self.transcript.version_requested.connect(self.switch_version)
        self.transcript.edit_submitted.connect(self.edit_message)
        self.transcript.regenerate_requested.connect(self.regenerate)
        self.transcript.continue_requested.connect(self.continue_reply)
        self.transcript.action_requested.connect(self._on_transcript_action_requested)
        self._save_timer.timeout.connect(self._save_streaming)
        self.bridge.state_changed.connect(self._on_bridge_state_changed)

    # -- conversations ------------------------------------------------------------

    def new_conversation(self) -> None:
        if self.conversation is not None and not self.path and not self.reply:
            self.composer.setFocus()
            return  # the current chat is still empty: use it
        conv = self.storage.create_conversation(system_prompt="", settings=json.dumps(self.sampling.to_dict()),
                                                preset=self.preset)
        self.search_edit.clear()
        self.list_model.reload()
        self.open_conversation(conv.id)
        self.composer.setFocus()

    def open_conversation(self, conversation_id: int) -> None:
        if self.conversation is not None and self.conversation.id == conversation_id:
            return
        self.save_draft()
        conv = self.storage.conversation(conversation_id)
        if conv is None:
            return
        if self.reply is not None:
            self.stop()
        self.conversation = conv
        self.path = []
        self._reload_tree()
        self.system_edit.setText(conv.system_prompt)
        self.composer.blockSignals(True)
        self.composer.setPlainText(conv.draft)
        self.composer.blockSignals(False)
        row = self.list_model.row_of(conv.id)
        if row >= 0:
            self.list_view.setCurrentIndex(self.list_model.index(row))
        self.sampling_loaded.emit(SamplingSettings.from_saved(conv.settings), conv.preset)
        if conv.model_path:
            self.model_wanted.emit(conv.model_path)
        self.context_label.clear()
        self.conversation_changed.emit(conv.id)

    def _reload_tree(self, leaf: int | None = None) -> None:
        """Re-read the messages and show the branch ending at ``leaf``.

        When the new branch only extends the one on screen (a sent message, a new
        reply), the new messages are appended instead of rebuilding the transcript.
        """
        assert self.conversation is not None
        self.tree = ConversationTree(self.storage.messages(self.conversation.id))
        if leaf is not None:
            self.conversation.current_leaf = leaf
        shown = [m.id for m in self.path]
        self.path = self.tree.path(self.conversation.current_leaf)
        ids = [m.id for m in self.path]
        if shown and ids[: len(shown)] == shown and all(i in self.transcript.widgets for i in shown):
            for message in self.path[len(shown):]:
                self.transcript.append(message, self.tree.sibling_position(message.id))
            for message in self.path[len(shown) - 1: len(shown)]:
                self.transcript.widgets[message.id].set_version(self.tree.sibling_position(message.id))
        elif ids and shown[: len(ids)] == ids:
            self.transcript.remove(shown[len(ids):])
        else:
            self.transcript.show_branch(self.path, self.tree)

    def delete_conversation(self, conversation_id: int) -> None:
        if self.reply is not None and self.conversation and self.conversation.id == conversation_id:
            self.stop()
        self.storage.delete_conversation(conversation_id)
        self.undo_delete_button.remember(conversation_id)
        self.status_message.emit("Chat deleted — Undo delete brings it back")
        self.list_model.reload()
        if self.conversation is not None and self.conversation.id == conversation_id:
            self.conversation = None
            if self.list_model.rows:
                self.open_conversation(self.list_model.rows[0].id)
            else:
                self.path = []
                self.new_conversation()

    def undo_delete(self, conversation_id: int) -> None:
        self.storage.undelete_conversation(conversation_id)
        self.list_model.reload()
        self.conversation = None
        self.open_conversation(conversation_id)

    def _on_delete_button_clicked(self) -> None:
        if self.conversation is not None:
            self.delete_conversation(self.conversation.id)

    def rename_conversation(self, title: str) -> None:
        if self.conversation is not None and title.strip():
            self.storage.update_conversation(self.conversation.id, title=title.strip())
            self.conversation.title = title.strip()
            self.list_model.reload()

    def _on_search_edit_text_changed(self, text: str) -> None:
        self.list_model.reload(text)
        if self.conversation is not None:
            row = self.list_model.row_of(self.conversation.id)
            if row >= 0:
                self.list_view.setCurrentIndex(self.list_model.index(row))

    def _on_list_view_current_changed(self, current: object, _previous: object) -> None:
        conversation_id = current.data(ConversationListModel.IdRole) if current.isValid() else None  # type: ignore[attr-defined]
        if conversation_id is not None:
            self.open_conversation(int(conversation_id))

    def _on_system_edit_editing_finished(self) -> None:
        if self.conversation is not None and self.system_edit.text() != self.conversation.system_prompt:
            self.conversation.system_prompt = self.system_edit.text()
            self.storage.update_conversation(self.conversation.id, system_prompt=self.system_edit.text())

    def save_draft(self) -> None:
        if self.conversation is not None:
            draft = self.composer.toPlainText()
            if draft != self.conversation.draft:
                self.conversation.draft = draft
                self.storage.update_conversation(self.conversation.id, draft=draft)

    def set_sampling(self, settings: SamplingSettings, preset: str = "") -> None:
        """The Sampling pane changed: the next request uses it, and this chat remembers it."""
        self.sampling, self.preset = settings, preset
        if self.conversation is not None:
            data = json.dumps(settings.to_dict())
            if data != self.conversation.settings or preset != self.conversation.preset:
                self.conversation.settings, self.conversation.preset = data, preset
                self.storage.update_conversation(self.conversation.id, settings=data, preset=preset)

    # -- sending and streaming ---------------------------------------------------------

    def send(self) -> None:
        text = self.composer.toPlainText().strip()
        if not text:
            return
        if self.reply is not None:
            self.stop()
        if self.conversation is None:
            self.new_conversation()
        assert self.conversation is not None
        self._on_system_edit_editing_finished()
        parent = self.path[-1].id if self.path else None
        user = self.storage.add_message(self.conversation.id, parent, "user", text)
        self.composer.clear()
        self.save_draft()
        self._reload_tree(user.id)
        self._start_reply(user)

    def _history(self, upto: list[MessageRow]) -> list[dict[str, str]]:
        messages = []
        if self.conversation is not None and self.conversation.system_prompt.strip():
            messages.append({"role": "system", "content": self.conversation.system_prompt})
        for m in upto:
            if m.role == "assistant" and m.status == "error" and not m.content:
                continue
            messages.append({"role": m.role, "content": m.content})
        return messages

    def _start_reply(self, parent: MessageRow, continuing: MessageRow | None = None) -> None:
        assert self.conversation is not None
        if self.bridge.state in ("empty", "error") and self.bridge.engine.info is None:
            self._fail_without_engine(parent, NoModelLoaded())
            return
        if continuing is None:
            message = self.storage.add_message(self.conversation.id, parent.id, "assistant", "", status="streaming")
            self._reload_tree(message.id)
            history = self._history(self.path[:-1])
            base = ""
        else:
            message = continuing
            self.storage.update_message(message.id, status="streaming")
            message.status = "streaming"
            history = self._history(self.path[: self.path.index(continuing) + 1])
            base = continuing.content
        widget = self.transcript.widgets[message.id]
        widget.refresh_status()
        handle = self.bridge.chat(history, self.sampling, continue_last=continuing is not None)
        self.reply = _Reply(message, widget, handle, base, base, base)
        handle.tokens_arrived.connect(self._on_reply_tokens_arrived)
        handle.finished.connect(self._on_reply_finished)
        handle.failed.connect(self._on_reply_failed)
        self._save_timer.start()
        self.transcript.scroll_to_bottom()
        self._update_buttons()

    def _fail_without_engine(self, parent: MessageRow, exc: InklingError) -> None:
        assert self.conversation is not None
        msg = self.storage.add_message(self.conversation.id, parent.id, "assistant", "", status="error",
                                       stats={"error": str(exc)})
        self._reload_tree(msg.id)

    def _on_reply_tokens_arrived(self, batch: list[TokenEvent]) -> None:
        reply = self.reply
        if reply is None or self.sender() is not reply.handle:
            return
        reply.text += "".join(t.text for t in batch)
        if not self._render_pending:
            self._render_pending = True
            # one repaint per frame at most; slower if a huge reply makes rendering itself slow
            QTimer.singleShot(max(16, int(self._render_cost_ms * 4)), self._render_streaming)

    def _render_streaming(self) -> None:
        self._render_pending = False
        reply = self.reply
        if reply is None:
            return
        started = time.perf_counter()
        reply.widget.set_streaming_text(reply.text)
        self._render_cost_ms = (time.perf_counter() - started) * 1000

    def _save_streaming(self) -> None:
        reply = self.reply
        if reply is not None and reply.text != reply.saved_text:
            self.storage.update_message(reply.message.id, content=reply.text)
            reply.saved_text = reply.text

    def _on_reply_finished(self, fin: Finished) -> None:
        reply = self.reply
        if reply is None or self.sender() is not reply.handle:
            return
        t = fin.timings
        stats = {
            "tokens": t.generated_tokens, "tok_s": round(t.tokens_per_second, 2), "ttft_ms": round(t.first_token_ms),
            "finish": fin.reason, "prompt_tokens": t.prompt_tokens, "prompt_evaluated": t.prompt_evaluated,
            "seed": fin.seed, "dropped": fin.dropped_messages,
            "model": self.bridge.info.name if self.bridge.info else "",
        }
        self._end_reply(reply, "stopped" if fin.reason == "cancelled" else "done", stats)
        info = self.bridge.info
        if info is not None:
            self.context_changed.emit(t.prompt_tokens + t.generated_tokens, info.context)
            self.context_label.setText(
                f"Context: {t.prompt_tokens + t.generated_tokens:,} of {info.context:,} tokens")
        if fin.dropped_messages:
            self.transcript.show_notice(
                f"⚠ {fin.dropped_messages} older messages no longer fit in the model's context "
                "and were left out of what it sees (they are still saved here).")
        self.speed_changed.emit(t.tokens_per_second)
        self._maybe_title()
        self.reply_finished.emit(fin)

    def _on_reply_failed(self, exc: InklingError) -> None:
        reply = self.reply
        if reply is None or self.sender() is not reply.handle:
            return
        self._end_reply(reply, "error", {"error": str(exc), "finish": "error"})
        self.reply_finished.emit(Finished("error", reply.text, error=str(exc)))

    def _end_reply(self, reply: _Reply, status: str, stats: dict[str, object]) -> None:
        self._save_timer.stop()
        self.reply = None
        text = reply.text
        if reply.base and status != "error":
            stats = {**reply.message.stats, **stats}
        self.storage.update_message(reply.message.id, content=text, status=status, stats=stats)
        if self.conversation is not None and self.bridge.info is not None:
            self.storage.update_conversation(self.conversation.id, model_path=self.bridge.info.path)
            self.conversation.model_path = self.bridge.info.path
        reply.message.content, reply.message.status, reply.message.stats = text, status, stats
        if len(text) >= INCREMENTAL_FROM:  # the one full render of a long reply waits until its end is announced
            reply.widget.refresh_status()
            QTimer.singleShot(0, lambda w=reply.widget, m=reply.message: shiboken6.isValid(w) and w.update_message(m))
        else:
            reply.widget.update_message(reply.message)
        self._update_buttons()

    def _maybe_title(self) -> None:
        conv = self.conversation
        if conv is None or conv.title != "New chat":
            return
        first = next((m for m in self.path if m.role == "user"), None)
        if first is not None:
            self.rename_conversation(auto_title(first.content))

    def stop(self) -> None:
        if self.reply is not None:
            self.reply.handle.cancel()

    def regenerate_last(self) -> None:
        last = next((m for m in reversed(self.path) if m.role == "assistant"), None)
        if last is not None:
            self.regenerate(last.id)
        elif self.path and self.path[-1].role == "user":
            self._start_reply(self.path[-1])

    def regenerate(self, message_id: int) -> None:
        """A new version of a reply, beside the old one."""
        if self.reply is not None:
            self.stop()
        msg = self.tree.by_id.get(message_id)
        if msg is None or msg.parent_id is None:
            return
        parent = self.tree.by_id[msg.parent_id]
        self._reload_tree(parent.id)
        self._start_reply(parent)

    def continue_reply(self, message_id: int) -> None:
        if self.reply is not None:
            return
        msg = self.tree.by_id.get(message_id)
        if msg is None or msg.role != "assistant" or msg.parent_id is None:
            return
        self._reload_tree(msg.id)
        self._start_reply(self.tree.by_id[msg.parent_id], continuing=self.tree.by_id[msg.id])

    def edit_message(self, message_id: int, text: str) -> None:
        """Save an edited version beside the original; an edited question gets a new reply."""
        if self.reply is not None:
            self.stop()
        msg = self.tree.by_id.get(message_id)
        if msg is None or self.conversation is None:
            return
        new = self.storage.add_message(self.conversation.id, msg.parent_id, msg.role, text,
                                       stats={"edited": True} if msg.role == "assistant" else None)
        self._reload_tree(new.id)
        if msg.role == "user":
            self._start_reply(new)

    def switch_version(self, message_id: int, step: int) -> None:
        if self.reply is not None or self.conversation is None:
            return
        leaf = self.tree.switch_version(message_id, step)
        if leaf is not None:
            self.storage.update_conversation(self.conversation.id, current_leaf=leaf)
            self._reload_tree(leaf)

    def _on_transcript_action_requested(self, action: str) -> None:
        if action == "reload":
            self.reload_model_requested.emit()
        elif action == "choose-model":
            self.choose_model_requested.emit()

    def _on_bridge_state_changed(self, _state: str) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        streaming = self.reply is not None
        self.stop_button.setEnabled(streaming)
        self.regen_button.setEnabled(not streaming and bool(self.path))

    # -- export and import -----------------------------------------------------------------

    def exported(self) -> ExportedConversation:
        assert self.conversation is not None
        return ExportedConversation(
            self.conversation.title, self.conversation.system_prompt,
            [{"role": m.role, "content": m.content} for m in self.path],
            self.bridge.info.name if self.bridge.info else "", self.sampling.to_dict())

    def export_to(self, path: Path) -> None:
        conv = self.exported()
        text = to_markdown(conv) if path.suffix.lower() in (".md", ".markdown") else to_json(conv)
        path.write_text(text, encoding="utf-8")
        self.status_message.emit(f"Exported to {path}")

    def import_from(self, path: Path) -> None:
        data = from_json(path.read_text(encoding="utf-8"))
        conv = self.storage.create_conversation(title=data.title, system_prompt=data.system_prompt,
                                                settings=json.dumps(data.settings) if data.settings else "")
        parent: int | None = None
        for m in data.messages:
            if m["role"] == "system":
                continue
            parent = self.storage.add_message(conv.id, parent, m["role"], m["content"]).id
        self.search_edit.clear()
        self.list_model.reload()
        self.conversation = None
        self.open_conversation(conv.id)
        self.status_message.emit(f"Imported {len(data.messages)} messages from {path.name}")
