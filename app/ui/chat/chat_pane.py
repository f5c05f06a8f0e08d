"""The Chat pane: a thin view of the open ``ChatSession`` and its live turn.

Every chat's data lives in its ``ChatSession`` (app.core.chat_session) and the
reply being written in its ``ChatTurn`` (app.core.chat_turn): the turn starts
replies, keeps a Send that waits its turn, stops, records failures and commits
streamed text at least every second. This class forwards the person's intents
(Send, Stop, Regenerate, Continue, Edit, the version arrows) to them and renders
what the session announces; ``ConversationsMixin`` (app.ui.chat.conversations)
keeps which chat is open.

While a reply is written, Send gives its place to Stop, and a message sent with
Enter waits its turn: it goes when the reply ends (however it ends), so a reply
is never cut off by the next question.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QWidget

from app.core.chat_session import ChatSession
from app.core.chat_turn import ChatTurn, Ended, LiveReply
from app.core.engine_status import EnginePhase, EngineStatus
from app.core.events import Finished
from app.core.fitting import dropped_notice
from app.core.presets import PresetStore
from app.core.sampling import SamplingSettings
from app.core.sources.chat_sources import ChatSources
from app.core.storage import MessageRow, Storage
from app.ui.chat.chat_view import ChatView
from app.ui.chat.conversations import ConversationsMixin
from app.ui.chat.shown_reply import ShownReply
from app.ui.chat.think_controls import ThinkControls
from app.ui.chat.thinking_block import show_thinking
from app.ui.engine_bridge import FRAME_MS, EngineBridge
from app.ui.live_engine import BridgeEngine, qt_call_later
from app.ui.markdown_view import INCREMENTAL_FROM
from app.ui.pane import PreviewRequest
from app.ui.sources.chat_sources_button import ChatSourcesButton
from app.ui.widgets import DebouncedSaver

if TYPE_CHECKING:
    from app.ui.chat.chat_tools import ChatTools

DRAFT_DELAY_MS = 300
DRAFT_MAX_AGE = 0.7  # seconds
PREVIEW_DRAFT = "How the reply to the message you are typing could begin"
PREVIEW_NO_DRAFT = "Type a message: the chart shows how the reply to it could begin."


class ChatPane(ConversationsMixin, ChatView):
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
        self.engine = BridgeEngine(bridge)
        self.session: ChatSession | None = None
        self.tools: ChatTools | None = None  # set by ChatTools itself
        self.sources: ChatSources | None = None  # collections chats may read (attach_sources)
        self.reply: ShownReply | None = None  # the open chat's reply being written
        self._ending: dict[int, ChatSession] = {}  # chats put away while a reply of theirs was still ending
        self._shown_ids: list[int] = []
        self._render_cost_ms = 0.0
        self._rendered_at = 0.0  # perf_counter of the last render of the streaming reply
        self._render_timer = QTimer(self)  # one, started again for each render (a new timer each time cost more)
        self._render_timer.setSingleShot(True)
        self._render_timer.timeout.connect(self._render_streaming)
        self._draft_saver = DebouncedSaver(self.save_draft, DRAFT_DELAY_MS, DRAFT_MAX_AGE, self)
        self.think_controls = ThinkControls(self)  # "Think" and the thinking budget, for a model that thinks
        right = self._right.layout()
        right.insertWidget(right.indexOf(self.context_label) + 1, self.think_controls)
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
        self.bridge.status_changed.connect(self._on_bridge_status_changed)
        self.bridge.model_loaded.connect(self._on_bridge_status_changed)
        self._reloading_note = ""  # the note the live reply shows while the engine reloads ("" when none)
        self.bridge.status_changed.connect(self._on_engine_status_changed)
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

    def _turn_of(self, session: ChatSession) -> ChatTurn:
        turn = session.use_engine(self.engine, qt_call_later(self))
        if self.tools is not None:  # tools over MCP (app.ui.chat.chat_tools), when the window has them
            self.tools.attach(turn)
        if self.sources is not None and turn.before_reply is None:
            turn.before_reply = self.sources.before_reply(session.id)
        return turn

    def attach_sources(self, sources: ChatSources, manage: Callable[[], None]) -> None:
        """Let chats read source collections: a Sources button, and passages given before each reply."""
        self.sources = sources
        self.sources_button = ChatSourcesButton(sources, manage, self)
        self.sys_row.addWidget(self.sources_button)
        self.conversation_changed.connect(self.sources_button.set_chat)
        self.transcript.passage_removed.connect(self.sources_button.leave_out)
        if self.session is not None:
            self.sources_button.set_chat(self.session.id)
            if self.session.turn is not None:
                self.session.turn.before_reply = sources.before_reply(self.session.id)

    @property
    def turn(self) -> ChatTurn | None:
        """The open chat's live turn."""
        return self._turn_of(self.session) if self.session is not None else None

    # -- what the person asks for: forwarded to the turn ---------------------------------

    def send(self) -> None:
        text = self.composer.toPlainText().strip()
        if not text:
            return
        if self.session is None:
            self.new_conversation()
        assert self.session is not None
        self._on_system_edit_editing_finished()
        self.composer.clear()
        self.save_draft()
        self._turn_of(self.session).send(text)

    def stop(self) -> None:
        if self.session is not None:
            self._turn_of(self.session).stop()

    def regenerate_last(self) -> None:
        if self.session is not None:
            self._turn_of(self.session).regenerate()
            self._sync_transcript()

    def regenerate(self, message_id: int) -> None:
        """A new version of a reply, beside the old one."""
        if self.session is not None:
            self._turn_of(self.session).regenerate(message_id)

    def continue_reply(self, message_id: int) -> None:
        if self.session is not None:
            self._turn_of(self.session).continue_reply(message_id)

    def edit_message(self, message_id: int, text: str) -> None:
        """Save an edited version beside the original; an edited question gets a new reply."""
        if self.session is not None:
            self._turn_of(self.session).edit(message_id, text)

    def switch_version(self, message_id: int, step: int) -> None:
        if self.reply is None and self.session is not None and self.session.switch_version(message_id, step):
            self._sync_transcript()
            self._show_context()

    def finish_for_quit(self) -> None:
        """Quitting: every reply is stopped and saved as it stands now, before storage closes.

        A message waiting for the reply goes back to its chat's draft, and the composer shows it (the
        window's last flush saves the composer).
        """
        self.save_draft()
        for session in [*self._ending.values(), *([self.session] if self.session is not None else [])]:
            if session.turn is not None:
                session.turn.finish_for_quit()
        self._ending.clear()
        self.reply = None
        if self.session is not None:
            self.composer.blockSignals(True)
            self.composer.setPlainText(self.session.draft)
            self.composer.blockSignals(False)

    # -- what the session announces ------------------------------------------------------

    def _on_session_changed(self, session: ChatSession, what: str) -> None:
        if what == "title":
            self.list_model.set_title(session.id, session.title)
            if session is self.session:
                self.title_changed.emit(session.title)
            return
        turn = session.turn
        if turn is None:
            return
        if session is not self.session:  # a reply of a chat put away ended: nothing on screen to touch
            if what == "reply-ended" and not turn.live:
                self._ending.pop(session.id, None)
            return
        if what == "branch":
            self._sync_transcript()
        elif what == "reply-started":
            self._on_reply_started(turn)
        elif what == "reply-progress":
            self._on_reply_progress(turn)
        elif what in ("reply-writing", "reply-text", "reply-thinking"):
            self._on_reply_text(what == "reply-writing")
        elif what == "reply-ended" and turn.ended is not None:
            self._on_reply_ended(turn.ended)
        elif what == "send-waiting":
            self.status_message.emit("Your message is sent when this reply ends (Esc stops the reply)")

    def _on_reply_started(self, turn: ChatTurn) -> None:
        assert turn.current is not None
        self._sync_transcript()
        widget = self.transcript.widgets[turn.current.message.id]
        widget.refresh_status()
        self.reply = ShownReply(turn.current, widget)
        self.transcript.scroll_to_bottom()
        self._update_buttons()

    def _on_reply_progress(self, turn: ChatTurn) -> None:
        progress = turn.current.progress if turn.current is not None else None
        if self.reply is None or progress is None or not shiboken6.isValid(self.reply.widget):
            return
        note = f"Reading the prompt… {progress.fraction:.0%}"
        self.reply.widget.set_note(note)
        self.status_message.emit(f"{note} ({progress.done:,} of {progress.total:,} tokens)")

    def _on_engine_status_changed(self, status: EngineStatus) -> None:
        """A reply that waits for the model to be reloaded after a crash says so, not "writing…"."""
        reply = self.reply
        if reply is None or not shiboken6.isValid(reply.widget):
            return
        if status.phase is EnginePhase.RELOADING:
            self._reloading_note = status.text
            reply.widget.set_note(status.text)
            self.status_message.emit(status.text)
        elif self._reloading_note:  # the model is back: the reply's own progress shows from here on
            reply.widget.set_note("")
            self._reloading_note = ""

    def _on_reply_text(self, first: bool) -> None:
        reply = self.reply
        if reply is None:
            return
        if first:
            if shiboken6.isValid(reply.widget):
                reply.widget.set_note("")
            self.status_message.emit("Writing…")
        if not self._render_timer.isActive():
            # one render a frame at most (slower if a huge reply makes rendering itself slow): now if the
            # last one is a frame old, else when it will be
            frame_ms = max(FRAME_MS, self._render_cost_ms * 4)
            wait_ms = frame_ms - (time.perf_counter() - self._rendered_at) * 1000
            if wait_ms <= 0:
                self._render_streaming()
            else:
                self._render_timer.start(int(wait_ms) + 1)

    def _render_streaming(self) -> None:
        reply = self.reply
        if reply is None or not shiboken6.isValid(reply.widget):
            return
        self._rendered_at = started = time.perf_counter()
        show_thinking(reply.widget, reply.reply, writing=reply.live.writing)
        reply.widget.set_streaming_text(reply.text)
        self._render_cost_ms = (time.perf_counter() - started) * 1000

    def _on_reply_ended(self, ended: Ended) -> None:
        if ended.newest:
            self.reply = None
        self._update_buttons()
        widget = self.transcript.widgets.get(ended.message.id)
        if widget is not None and shiboken6.isValid(widget):
            if len(ended.message.content) >= INCREMENTAL_FROM:  # a long reply's one full render waits for its end
                widget.refresh_status()
                QTimer.singleShot(0, lambda w=widget, m=ended.message: shiboken6.isValid(w) and w.update_message(m))
            else:
                widget.update_message(ended.message)
        if not ended.newest:  # a stopped reply that a newer one replaced: saved, not announced
            return
        fin = ended.finished
        if fin.reason == "error":
            self.status_message.emit(f"The reply failed: {fin.error}")
            self.reply_finished.emit(fin)
            return
        self._show_context()
        if fin.dropped_messages:  # the same words for every engine (app.core.fitting)
            self.transcript.show_notice(dropped_notice(fin.dropped_messages))
        self.status_message.emit(self._ended_note(fin, ended.live))
        self.reply_finished.emit(fin)

    @staticmethod
    def _ended_note(fin: Finished, live: LiveReply) -> str:
        """What the status bar says once a reply ends: it replaces "Writing…", which must not outlive the reply."""
        t = fin.timings
        if fin.reason == "cancelled":
            return "Stopped — the reply so far is kept" if live.text.strip() else "Stopped before the model wrote anything"
        ending = {"stop": "", "length": ", ended at the length limit"}.get(fin.reason, f" ({fin.reason})")
        first = f", first token after {live.reply.first_token_ms:,.0f} ms" if live.reply.first_token_ms else ""
        thought = live.reply.thinking_tokens  # the answer's count leaves its thinking out
        tokens = f"{t.generated_tokens - thought:,} tokens" + (f" after {thought:,} of thinking" if thought else "")
        return f"Reply: {tokens} at {t.tokens_per_second:.1f} tok/s{first}{ending}"

    # -- what the pane shows beside the transcript ---------------------------------------

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

    def _on_bridge_status_changed(self, *_: object) -> None:
        self._update_buttons()
        if self.bridge.free and self.reply is None:  # a model (re)loaded: its context size may be new
            self._show_context()

    def _update_buttons(self) -> None:
        streaming = self.reply is not None
        self.stop_button.setEnabled(streaming)
        self.stop_button.setVisible(streaming)  # Stop takes Send's place while a reply is written
        self.send_button.setVisible(not streaming)
        self.send_button.setEnabled(not streaming)
        self.regen_button.setEnabled(not streaming and bool(self.path))
