"""The live turn of a chat, without Qt: the reply being written, a Send that waits, Stop, failure, saving.

``ChatTurn`` belongs to one ``ChatSession`` (``ChatSession.use_engine`` makes it)
and is the only thing that starts, feeds and ends its replies. A view forwards
the person's intents (``send``, ``stop``, ``regenerate``, ``continue_reply``,
``edit``) and renders what the session announces:

- ``"branch"``: the branch on screen changed before a reply starts (regenerate, edit);
- ``"reply-started"``: ``turn.current`` is a new reply (its message is on the branch);
- ``"reply-progress"``: ``turn.current.progress`` says how much of the prompt is read;
- ``"reply-thinking"``: ``turn.current.reply.thinking`` grew (a thinking model reasons before it answers;
  ``app.core.thinking`` tells the two apart as the text arrives);
- ``"reply-writing"``: the first text of ``turn.current`` arrived; then
- ``"reply-text"``: ``turn.current.text`` grew;
- ``"reply-ended"``: ``turn.ended`` says which reply ended, how, and as which message;
- ``"send-waiting"``: a message sent during a reply waits in ``turn.waiting``.

The rules it keeps:

- A message sent while a reply is written waits its turn and goes by itself
  when that reply ends, however it ends (done, stopped, failed): a reply is
  never cut off by the next question. Several sent meanwhile go as one.
- Stop keeps the text so far; the reply ends as "stopped" when the engine says
  it has stopped. A reply still ending while a newer one starts (regenerate,
  edit) is ended on its own and not announced as the newest.
- An engine failure keeps the text that arrived, with the reason.
- Saving: text that arrives is committed at most ``SAVE_INTERVAL`` seconds later
  (a killed app loses at most that much); a reply that ends is committed at once.

Why a scheduler for the save cadence, not token arrival times: saving on the
first token a second after the last save would leave the text of a reply that
stalls (a slow machine, an engine reading a long prompt between two bursts)
unsaved for as long as the stall lasts. So the first text that arrives after a
save asks ``call_later(SAVE_INTERVAL, save)`` once; the window passes a Qt
single-shot timer, a test passes a manual clock that it advances. The core never
imports Qt, and a test proves the cadence in milliseconds.

The engine is reached through ``ChatEngine``: the window's adapter wraps the
engine bridge (events arrive on the GUI thread, batched per frame); a test's
fake engine calls the events itself. Either way the events arrive on the thread
that owns the session, one at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from app.core.errors import EngineError, InklingError
from app.core.events import Finished, PromptProgress, TokenEvent
from app.core.fitting import ChatFit, TokenCounter, fit_chat, with_chat_fit
from app.core.parts import Part
from app.core.sampling import SamplingSettings
from app.core.storage import MessageRow
from app.core.thinking import ThinkingSplitter

if TYPE_CHECKING:
    from app.core.chat_session import ChatSession, Message, Reply
    from app.core.tool_turn import ToolTurn

SAVE_INTERVAL = 1.0  # seconds: streamed text is committed at most this long after it arrived

CallLater = Callable[[float, Callable[[], None]], None]
"""Run a callable once, this many seconds from now, on the session's thread."""

T = TypeVar("T")


class ReplyStream(Protocol):
    """A generation the turn started: it can be stopped (its end still arrives as an event)."""

    def cancel(self) -> None: ...


@dataclass
class StreamEvents:
    """What a running generation tells its owner, always on the owner's thread."""

    tokens: Callable[[list[TokenEvent]], None]
    progress: Callable[[PromptProgress], None]
    finished: Callable[[Finished], None]
    failed: Callable[[InklingError], None]


class ChatEngine(Protocol):
    """The engine as a chat turn needs it."""

    def start_chat(self, history: list[Message], sampling: SamplingSettings, *, continue_last: bool,
                   events: StreamEvents) -> ReplyStream:
        """Start a reply to ``history``; raise an ``InklingError`` (e.g. ``NoModelLoaded``) if it can't start."""
        ...

    def current_model(self) -> tuple[str, str]:
        """(name, path) of the model that writes replies now ("" when none)."""
        ...

    def fit(self, job: Callable[[TokenCounter], T], then: Callable[[T], None],
            failed: Callable[[InklingError], None]) -> None:
        """Run ``job`` with the engine's token counter off the session's thread (it waits on counts);
        call ``then`` with its result, or ``failed``, back on the session's thread.

        How a chat or a document is fitted into the context above the engine (``app.core.fitting``).
        """
        ...


class _Fitting:
    """Stands for a reply's stream while its history is fitted into the context; Stop is remembered."""

    cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def as_inkling_error(exc: BaseException) -> InklingError:
    """A failure while fitting, as an error a person can read."""
    if isinstance(exc, InklingError):
        return exc
    return EngineError(f"Counting the prompt's tokens failed ({type(exc).__name__}: {exc}).")


@dataclass
class LiveReply:
    """A reply on its way: the session's ``Reply``, its stream, and what the view shows about it."""

    reply: Reply
    sent_at: float  # clock() when Send (or Regenerate, Continue, Edit) was pressed
    stream: ReplyStream | None = None
    progress: PromptProgress | None = None
    save_due: bool = False  # a save is scheduled
    splitter: ThinkingSplitter = field(default_factory=ThinkingSplitter)  # thinking apart from the answer
    thinking_since: float = 0.0  # clock() at its first thinking text (0: none yet)
    fit: ChatFit | None = None  # what was sent after fitting the history into the context

    @property
    def text(self) -> str:
        return self.reply.text

    @property
    def message(self) -> MessageRow:
        return self.reply.message

    @property
    def writing(self) -> bool:
        """Text of its own has arrived (a continued reply starts with the text it had)."""
        return self.reply.text != self.reply.base


@dataclass(frozen=True)
class Ended:
    """A reply that ended: as which message, how (an error is ``Finished("error", ..., error=...)``)."""

    live: LiveReply
    message: MessageRow
    finished: Finished
    newest: bool  # False: a stopped reply that a newer one replaced (saved, not announced as the reply)


@dataclass(eq=False, repr=False)
class ChatTurn:
    """The replies of one chat that are being written, and the message that waits for them."""

    session: ChatSession
    engine: ChatEngine
    call_later: CallLater
    clock: Callable[[], float] = time.perf_counter
    current: LiveReply | None = None
    """The newest reply being written (None when the chat is idle)."""
    live: list[LiveReply] = field(default_factory=list)
    """Every reply not yet ended, the current one and stopped ones awaiting their end."""
    waiting: str | None = None
    """A message sent during a reply: it goes by itself when that reply ends."""
    ended: Ended | None = None
    """The reply that ended last."""
    tools: ToolTurn | None = None
    """Tools offered to this chat's replies, and the call waiting for approval (None: no tools)."""
    before_reply: Callable[[list[Message]], tuple[list[Message], tuple[Part, ...]]] | None = None
    """A step before each new reply (sources): the history to send instead, and parts the reply starts with."""

    @property
    def busy(self) -> bool:
        return self.current is not None

    # -- what the person asks for --------------------------------------------------------

    def send(self, text: str) -> str:
        """Send a message: "sent", "waiting" (a reply is being written; it goes after it) or "" (nothing to send)."""
        text = text.strip()
        if not text:
            return ""
        if self.current is not None:
            self.waiting = f"{self.waiting}\n\n{text}" if self.waiting else text
            self.session.announce("send-waiting")
            return "waiting"
        sent_at = self.clock()
        user = self.session.add_user_message(text)
        self._start(user, sent_at=sent_at)
        return "sent"

    def stop(self) -> None:
        """Stop the reply being written; it keeps its text and ends as stopped when the engine has stopped."""
        if self.tools is not None and self.tools.stop():  # a running tool, or a call waiting for approval
            return
        if self.current is not None and self.current.stream is not None:
            self.current.stream.cancel()

    def regenerate(self, message_id: int | None = None) -> bool:
        """A new version of reply ``message_id`` (default: the last reply, or an unanswered last question)."""
        self.stop()
        if message_id is None:
            parent = self.session.last_question_to_answer()
        else:
            parent = self.session.parent_for_regenerate(message_id)
        if parent is None:
            return False
        self.session.announce("branch")  # the old version leaves the screen before the new one starts
        self._start(parent)
        return True

    def continue_reply(self, message_id: int) -> bool:
        """Make reply ``message_id`` longer in place (not while another reply is written)."""
        message = self.session.tree.by_id.get(message_id)
        if self.current is not None or message is None or message.parent_id is None:
            return False
        self._start(self.session.tree.by_id[message.parent_id], continuing=message_id)
        return True

    def edit(self, message_id: int, text: str) -> MessageRow | None:
        """An edited version beside the original; an edited question gets a new reply."""
        self.stop()
        new = self.session.edit(message_id, text)
        if new is None:
            return None
        self.session.announce("branch")
        if new.role == "user":
            self._start(new)
        return new

    def close(self) -> None:
        """The chat is put away (another is shown): stop its reply; a waiting message goes back to the draft."""
        self.stop()
        if self.waiting is not None:
            draft = self.session.draft.strip()
            self.session.set_draft(f"{self.waiting}\n\n{draft}" if draft else self.waiting)
            self.waiting = None

    def finish_for_quit(self) -> None:
        """Quitting: stop every reply and save each as it stands now, before storage closes.

        Their late events then find no live reply and write nothing to a closed database.
        """
        for live in list(self.live):
            if live.stream is not None:
                live.stream.cancel()
            self._end_split(live)
            self.session.finish_reply(live.reply, Finished("cancelled", live.text))
        self.live.clear()
        self.current = None
        if self.waiting is not None:
            self.close()

    # -- the reply's life ----------------------------------------------------------------

    def _start(self, parent: MessageRow, continuing: int | None = None, sent_at: float = 0.0) -> None:
        session = self.session
        if continuing is None:
            reply, history = session.start_reply(parent)
        else:
            started = session.continue_reply(continuing)
            if started is None:
                return
            reply, history = started
        live = LiveReply(reply, sent_at or self.clock(), splitter=ThinkingSplitter(answer_only=continuing is not None))
        self.live.append(live)
        self.current = live
        if self.before_reply is not None and continuing is None:
            try:
                history, parts = self.before_reply(history)
            except InklingError as exc:  # a collection that can't be read: the reply says why
                session.announce("reply-started")
                self._on_failed(live, exc)
                return
            if parts:
                session.set_reply_parts(reply, parts)
        session.announce("reply-started")
        events = StreamEvents(tokens=lambda batch: self._on_tokens(live, batch),
                              progress=lambda progress: self._on_progress(live, progress),
                              finished=lambda fin: self._on_finished(live, fin),
                              failed=lambda exc: self._on_failed(live, exc))
        fitting = _Fitting()
        live.stream = fitting
        continue_last = continuing is not None
        sampling = session.sampling

        offer = self.tools.offer_for(parent) if self.tools is not None and continuing is None else None

        def fitted(fit: ChatFit) -> None:
            if live not in self.live or live.stream is not fitting:
                return  # saved for quitting meanwhile
            if fitting.cancelled:  # stopped (or replaced) while the history was being fitted
                self._on_finished(live, Finished("cancelled", live.text))
                return
            live.fit = fit
            try:
                if offer is None:
                    stream = self.engine.start_chat(fit.messages, sampling, continue_last=continue_last, events=events)
                else:
                    stream = self.engine.start_chat(fit.messages, sampling, continue_last=False, events=events,
                                                    tools=offer)
            except InklingError as exc:  # e.g. no model: an empty reply that says why
                self._on_failed(live, exc)
                return
            if live in self.live:  # (a fake engine may have ended it already)
                live.stream = stream

        def not_fitted(exc: Any) -> None:
            if live in self.live:
                self._on_failed(live, as_inkling_error(exc))

        self.engine.fit(lambda counter: fit_chat(counter, history, sampling, continue_last=continue_last),
                        fitted, not_fitted)

    def _on_tokens(self, live: LiveReply, batch: list[TokenEvent]) -> None:
        if live not in self.live:
            return  # late tokens of a reply saved for quitting
        was_writing = live.writing
        thought = self._split(live, batch)
        if not live.writing:
            if thought:
                self._due_save(live)
                if live is self.current:
                    self.session.announce("reply-thinking")
            return
        if not was_writing and not live.reply.first_token_ms:
            live.reply.first_token_ms = (self.clock() - live.sent_at) * 1000
        self._due_save(live)
        if live is self.current:
            if thought:
                self.session.announce("reply-thinking")
            self.session.announce("reply-text" if was_writing else "reply-writing")

    def _split(self, live: LiveReply, batch: list[TokenEvent]) -> bool:
        """Add the batch to the reply, its thinking apart from its answer; True if the thinking grew."""
        reply, splitter = live.reply, live.splitter
        thought = False
        for event in batch:
            was_thinking = splitter.thinking
            for kind, text in splitter.feed(event.text):
                if kind == "thinking":
                    reply.add_thinking(text)
                    thought = True
                else:
                    reply.add(text)
            if (was_thinking or splitter.thinking) and event.token_id >= 0:
                reply.thinking_tokens += 1
        if splitter.thought:
            if not live.thinking_since:
                live.thinking_since = self.clock()
                if not reply.first_token_ms:
                    reply.first_token_ms = (live.thinking_since - live.sent_at) * 1000
            if splitter.thinking or not reply.thinking_ms:
                reply.thinking_ms = (self.clock() - live.thinking_since) * 1000
        return thought

    def _end_split(self, live: LiveReply) -> None:
        """The reply ended: what the splitter held back goes to its thinking or its answer."""
        for kind, text in live.splitter.finish():
            (live.reply.add_thinking if kind == "thinking" else live.reply.add)(text)

    def _due_save(self, live: LiveReply) -> None:
        if not live.save_due:
            live.save_due = True
            self.call_later(SAVE_INTERVAL, lambda: self._save(live))

    def _save(self, live: LiveReply) -> None:
        live.save_due = False
        if live in self.live:
            self.session.save_progress(live.reply)

    def _on_progress(self, live: LiveReply, progress: PromptProgress) -> None:
        if live is self.current and not live.writing:
            live.progress = progress
            self.session.announce("reply-progress")

    def _on_finished(self, live: LiveReply, fin: Finished) -> None:
        if live not in self.live:
            return
        self._end_split(live)
        name, path = self.engine.current_model()
        fin = with_chat_fit(fin, live.fit)  # the messages left out above the engine count too
        message = self.session.finish_reply(live.reply, fin, model_name=name, model_path=path)  # may name the chat
        asked = (self.tools is not None and fin.reason != "cancelled" and live is self.current
                 and self.tools.after_reply(message, live.reply.text, fin.tool_calls))
        self._ended(live, message, fin)
        if asked and self.tools is not None:
            self.tools.start_pending()

    def continue_after_tool(self, tool_message: MessageRow) -> None:
        """A tool's result (or its refusal) is in: the model's next reply, with it in the history."""
        if self.current is None:
            self._start(tool_message)

    def _on_failed(self, live: LiveReply, exc: InklingError) -> None:
        if live not in self.live:
            return
        self._end_split(live)
        message = self.session.fail_reply(live.reply, str(exc), model_path=self.engine.current_model()[1])
        self._ended(live, message, Finished("error", live.text, error=str(exc)))

    def _ended(self, live: LiveReply, message: MessageRow, fin: Finished) -> None:
        self.live.remove(live)
        newest = live is self.current
        if newest:
            self.current = None
        self.ended = Ended(live, message, fin, newest)
        self.session.announce("reply-ended")
        if newest and self.waiting is not None:  # the waiting message's turn
            text, self.waiting = self.waiting, None
            self.send(text)
