"""One conversation as plain Python: its message tree, the branch on screen, its settings and model.

``ChatSession`` is the model the Chat pane mirrors (napari's ``ViewerModel``
pattern): every change to a chat goes through it and is written to SQLite at
once, and the pane only shows what the session holds. It is built from storage
with its sampling settings already resolved, so there is nothing to announce
before anyone listens. A test can drive a whole conversation with it, without a
window or a model.

The live turn (the reply being written, a Send that waits, Stop, failure, the
save cadence) is a ``ChatTurn`` (app.core.chat_turn) that :meth:`use_engine`
makes; it announces through :meth:`subscribe` like every other change.

A reply's life underneath it: :meth:`start_reply` (or :meth:`continue_reply`) adds the
assistant message as "streaming" and returns the history to send;
:meth:`Reply.add` takes the streamed text; :meth:`save_progress` commits it (the
pane calls it every second); :meth:`finish_reply` or :meth:`fail_reply` ends it
as done, stopped or error, keeping the text that arrived. A reply that is still
ending (stopped, waiting for its last event) while a new one starts is ended on
its own: each call names its ``Reply``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.core.announcer import Announcer
from app.core.chat_turn import CallLater, ChatEngine, ChatTurn
from app.core.conversation import ConversationTree, ExportedConversation, auto_title
from app.core.events import Finished
from app.core.parts import Part, TextPart, ThinkingPart, ToolResultPart, plain_text, with_text
from app.core.presets import PresetStore
from app.core.sampling import SamplingSettings
from app.core.storage import ConversationRow, MessageRow, Storage
from app.core.tools import has_tool_parts, history_entries

Message = dict[str, str]
Listener = Callable[["ChatSession", str], None]
"""Told (session, what) after a change: "title" (renamed, or titled by its first question), or one of the
live turn's announcements ("reply-started", "reply-progress", "reply-writing", "reply-text", "reply-ended",
"send-waiting"; ``app.core.chat_turn`` says what each means and where its details are)."""


@dataclass
class Reply:
    """The assistant message being streamed, and the text that has arrived for it."""

    message: MessageRow
    base: str  # text the message already had (Continue)
    text: str
    saved_text: str
    first_token_ms: float = 0.0  # from Send to the first text shown, as the person lived it (0: not known)
    thinking: str = ""  # the model's reasoning before its answer (app.core.thinking): a part of its own
    thinking_tokens: int = 0
    thinking_ms: float = 0.0  # from the first thinking token to the answer's first (or the end)
    saved_thinking: str = ""

    def add(self, text: str) -> None:
        self.text += text

    def add_thinking(self, text: str) -> None:
        self.thinking += text

    def parts(self) -> tuple[Part, ...]:
        """What the message is made of now: its thinking first (if any), its text, and its other parts as they were."""
        parts = with_text(self.message.parts, self.text)
        return _with_thinking(parts, self.thinking) if self.thinking else parts

    @property
    def continuing(self) -> bool:
        return bool(self.base)


class ChatSession(Announcer["ChatSession", str]):
    """A conversation: tree, active branch, system prompt, draft, sampling settings and model.

    ``subscribe(listener)`` is told ``(session, what)`` after a change (``Listener`` lists what).
    """

    def __init__(self, storage: Storage, row: ConversationRow, sampling: SamplingSettings, preset: str) -> None:
        self.storage = storage
        self.row = row
        self.sampling = sampling
        self.preset = preset
        self.tree = ConversationTree([])
        self.path: list[MessageRow] = []
        self.reply: Reply | None = None
        self.turn: ChatTurn | None = None
        super().__init__()
        self.reload()

    def announce(self, what: str) -> None:
        """Tell every listener that ``what`` changed (listeners get ``(session, what)``; the turn calls it too)."""
        self._announce(self, what)

    def use_engine(self, engine: ChatEngine, call_later: CallLater,
                   clock: Callable[[], float] = time.perf_counter) -> ChatTurn:
        """The chat's live turn, writing replies with ``engine`` (made once; later calls return it)."""
        if self.turn is None:
            self.turn = ChatTurn(self, engine, call_later, clock)
        return self.turn

    # -- creating and opening ------------------------------------------------------------

    @classmethod
    def open(cls, storage: Storage, presets: PresetStore, conversation_id: int) -> ChatSession | None:
        """The saved conversation with its settings resolved; None if it does not exist (or is deleted)."""
        row = storage.conversation(conversation_id)
        if row is None:
            return None
        sampling, preset = presets.resolve(row.settings, row.preset)
        return cls(storage, row, sampling, preset)

    @classmethod
    def create(cls, storage: Storage, sampling: SamplingSettings, preset: str = "", *, title: str = "New chat",
               system_prompt: str = "") -> ChatSession:
        """A new conversation that starts with these settings (a new chat keeps the last chat's)."""
        row = storage.create_conversation(title=title, system_prompt=system_prompt,
                                          settings=json.dumps(sampling.to_dict()), preset=preset)
        return cls(storage, row, sampling, preset)

    @classmethod
    def import_exported(cls, storage: Storage, presets: PresetStore, data: ExportedConversation) -> ChatSession:
        """A new conversation holding an exported branch (from ``conversation.from_json``)."""
        saved = SamplingSettings.from_saved(json.dumps(data.settings)) if data.settings else None
        sampling, preset = (saved, "") if saved is not None else presets.resolve("", "")
        session = cls.create(storage, sampling, preset, title=data.title, system_prompt=data.system_prompt)
        parent: int | None = None
        for m in data.messages:
            if m["role"] != "system":
                parent = storage.add_message(session.id, parent, m["role"], m["content"]).id
        session.reload()
        return session

    @classmethod
    def undelete(cls, storage: Storage, presets: PresetStore, conversation_id: int) -> ChatSession | None:
        """Bring a deleted chat back (Undo delete) and open it."""
        storage.undelete_conversation(conversation_id)
        return cls.open(storage, presets, conversation_id)

    def delete(self) -> None:
        """Soft delete (``undelete`` brings it back); a reply being written is stopped first."""
        if self.turn is not None:
            self.turn.close()
        self.storage.delete_conversation(self.id)

    # -- what it is ----------------------------------------------------------------------

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def title(self) -> str:
        return self.row.title

    @property
    def system_prompt(self) -> str:
        return self.row.system_prompt

    @property
    def draft(self) -> str:
        return self.row.draft

    @property
    def model_path(self) -> str:
        return self.row.model_path

    @property
    def current_leaf(self) -> int | None:
        return self.row.current_leaf

    @property
    def is_empty(self) -> bool:
        return not self.path and self.reply is None

    def reload(self, leaf: int | None = None) -> list[MessageRow]:
        """Re-read the messages and make the branch ending at ``leaf`` (default: the saved one) active."""
        self.tree = ConversationTree(self.storage.messages(self.id))
        if leaf is not None:
            self.row.current_leaf = leaf
        self.path = self.tree.path(self.row.current_leaf)
        return self.path

    def history(self, upto: list[MessageRow] | None = None) -> list[Message]:
        """What the model sees: the system prompt and the branch (replies that failed empty are left out)."""
        messages: list[Message] = []
        if self.system_prompt.strip():
            messages.append({"role": "system", "content": self.system_prompt})
        for m in self.path if upto is None else upto:
            if m.role == "assistant" and m.status == "error" and not m.content:
                continue
            if has_tool_parts(m.parts):  # a call the model made, or a tool's result: the API's shapes
                messages.extend(history_entries(m.role, m.parts))
                continue
            messages.append({"role": m.role, "content": m.content})
        return messages

    def preview_history(self, draft: str = "") -> list[Message]:
        """What the next-token chart looks at: the reply to the draft being typed, else to the last question."""
        messages = self.history()
        if draft.strip():
            messages.append({"role": "user", "content": draft.strip()})
            return messages
        while messages and messages[-1]["role"] == "assistant":
            messages.pop()
        if not messages or messages[-1]["role"] != "user":
            messages.append({"role": "user", "content": "Hello!"})
        return messages

    # -- plain edits ---------------------------------------------------------------------

    def set_sampling(self, settings: SamplingSettings, preset: str = "") -> bool:
        """The next request uses these settings, and the chat remembers them. True if anything changed."""
        self.sampling, self.preset = settings, preset
        data = json.dumps(settings.to_dict())
        if data == self.row.settings and preset == self.row.preset:
            return False
        self.row.settings, self.row.preset = data, preset
        self.storage.update_conversation(self.id, settings=data, preset=preset)
        return True

    def set_system_prompt(self, text: str) -> bool:
        if text == self.row.system_prompt:
            return False
        self.row.system_prompt = text
        self.storage.update_conversation(self.id, system_prompt=text)
        return True

    def set_draft(self, text: str) -> bool:
        if text == self.row.draft:
            return False
        self.row.draft = text
        self.storage.update_conversation(self.id, draft=text)
        return True

    def rename(self, title: str) -> bool:
        """The one way a chat's title changes (F2, a double-click, its first question); announced as "title"."""
        title = title.strip()
        if not title or title == self.row.title:
            return False
        self.row.title = title
        self.storage.update_conversation(self.id, title=title)
        self.announce("title")
        return True

    def auto_title(self) -> bool:
        """Name a new chat after its first question. True if it was renamed."""
        if self.row.title != "New chat":
            return False
        first = next((m for m in self.path if m.role == "user"), None)
        return first is not None and self.rename(auto_title(first.content))

    def remember_model(self, path: str) -> None:
        if path and path != self.row.model_path:
            self.row.model_path = path
            self.storage.update_conversation(self.id, model_path=path)

    # -- the tree ------------------------------------------------------------------------

    def add_user_message(self, text: str) -> MessageRow:
        """A question at the end of the active branch."""
        parent = self.path[-1].id if self.path else None
        message = self.storage.add_message(self.id, parent, "user", text)
        self.reload(message.id)
        return message

    def edit(self, message_id: int, text: str) -> MessageRow | None:
        """An edited version beside the original (nothing is overwritten); the new branch becomes active."""
        original = self.tree.by_id.get(message_id)
        if original is None:
            return None
        stats = {"edited": True} if original.role == "assistant" else None
        message = self.storage.add_message(self.id, original.parent_id, original.role, text, stats=stats)
        self.reload(message.id)
        return message

    def parent_for_regenerate(self, message_id: int) -> MessageRow | None:
        """The question a new version of reply ``message_id`` answers; that branch becomes active."""
        message = self.tree.by_id.get(message_id)
        if message is None or message.parent_id is None:
            return None
        self.reload(message.parent_id)
        return self.tree.by_id[message.parent_id]

    def last_question_to_answer(self) -> MessageRow | None:
        """What Regenerate answers again: the last reply's question, or an unanswered last question."""
        last = next((m for m in reversed(self.path) if m.role == "assistant"), None)
        if last is not None:
            return self.parent_for_regenerate(last.id)
        if self.path and self.path[-1].role == "user":
            return self.path[-1]
        return None

    def switch_version(self, message_id: int, step: int) -> int | None:
        """Show another version of a message (and the newest branch under it); returns the new leaf."""
        if self.reply is not None or message_id not in self.tree.by_id:
            return None
        leaf = self.tree.switch_version(message_id, step)
        if leaf is not None:
            self.storage.update_conversation(self.id, current_leaf=leaf)
            self.reload(leaf)
        return leaf

    # -- replies -------------------------------------------------------------------------

    def start_reply(self, parent: MessageRow) -> tuple[Reply, list[Message]]:
        """A new, empty reply to ``parent`` (a new version if it had one): the reply and the history to send."""
        added = self.storage.add_message(self.id, parent.id, "assistant", "", status="streaming")
        message = self.reload(added.id)[-1]  # the branch's own row, so the branch shows the reply as it ends
        self.reply = Reply(message, "", "", "")
        return self.reply, self.history(self.path[:-1])

    def set_reply_parts(self, reply: Reply, parts: tuple[Part, ...]) -> None:
        """Parts a new reply starts with (the sources it was given), kept after its text as the text arrives."""
        whole = (TextPart(reply.text), *parts)
        self.storage.update_message(reply.message.id, parts=whole)
        for m in (reply.message, *(m for m in self.path if m.id == reply.message.id)):
            m.parts = whole

    def continue_reply(self, message_id: int) -> tuple[Reply, list[Message]] | None:
        """Make reply ``message_id`` longer in place: the reply and the history (ending with it) to send."""
        message = self.tree.by_id.get(message_id)
        if self.reply is not None or message is None or message.role != "assistant" or message.parent_id is None:
            return None
        self.reload(message.id)
        message = self.path[-1]
        self.storage.update_message(message.id, status="streaming")
        message.status = "streaming"
        thinking = "".join(p.text for p in message.parts if isinstance(p, ThinkingPart))
        self.reply = Reply(message, message.content, message.content, message.content, thinking=thinking,
                           saved_thinking=thinking)
        return self.reply, self.history(self.path)

    def settle_interrupted(self, live: set[int] | frozenset[int] = frozenset()) -> int:
        """Replies saved as "streaming" that nothing writes any more (``live`` are being written) end as stopped.

        A crash or kill leaves them so (the text that was committed is kept); they must
        not show "writing…" forever. Returns how many were settled.
        """
        stale = [m for m in self.tree.by_id.values() if m.status == "streaming" and m.id not in live]
        for m in stale:
            stats = {**m.stats, "finish": m.stats.get("finish") or "interrupted"}
            self.storage.update_message(m.id, status="stopped", stats=stats)
            m.status, m.stats = "stopped", stats
        return len(stale)

    def fail_without_engine(self, parent: MessageRow, error: str) -> MessageRow:
        """A reply that could not even start: an empty error message that says why."""
        message = self.storage.add_message(self.id, parent.id, "assistant", "", status="error",
                                           stats={"error": error})
        self.reload(message.id)
        return message

    def save_progress(self, reply: Reply | None = None) -> bool:
        """Commit the streamed text so far (at most a second of it is lost to a kill)."""
        reply = reply or self.reply
        if reply is None or (reply.text == reply.saved_text and reply.thinking == reply.saved_thinking):
            return False
        if reply.thinking:
            self.storage.update_message(reply.message.id, parts=reply.parts())
        else:
            self.storage.update_message(reply.message.id, content=reply.text)
        reply.saved_text, reply.saved_thinking = reply.text, reply.thinking
        return True

    def finish_reply(self, reply: Reply, fin: Finished, *, model_name: str = "", model_path: str = "") -> MessageRow:
        """The reply ended normally or by Stop: saved as done or stopped, with its statistics."""
        t = fin.timings
        stats: dict[str, Any] = {
            "tokens": t.generated_tokens, "tok_s": round(t.tokens_per_second, 2), "ttft_ms": round(reply.first_token_ms or t.first_token_ms),
            "finish": fin.reason, "prompt_tokens": t.prompt_tokens, "prompt_evaluated": t.prompt_evaluated,
            "seed": fin.seed, "dropped": fin.dropped_messages, "model": model_name,
        }
        if reply.thinking_tokens:  # the answer's count leaves the thinking out; the thinking has its own
            stats.update(tokens=max(t.generated_tokens - reply.thinking_tokens, 0),
                         thinking_tokens=reply.thinking_tokens, thinking_ms=round(reply.thinking_ms))
        message = self._end_reply(reply, "stopped" if fin.reason == "cancelled" else "done", stats, model_path)
        self.auto_title()
        return message

    def fail_reply(self, reply: Reply, error: str, *, model_path: str = "") -> MessageRow:
        """The reply ended with an error: the text that arrived is kept, with the reason."""
        stats: dict[str, Any] = {"error": error, "finish": "error"}
        if reply.thinking_tokens:
            stats.update(thinking_tokens=reply.thinking_tokens, thinking_ms=round(reply.thinking_ms))
        return self._end_reply(reply, "error", stats, model_path)

    def _end_reply(self, reply: Reply, status: str, stats: dict[str, Any], model_path: str) -> MessageRow:
        if self.reply is reply:
            self.reply = None
        if reply.continuing and status != "error":
            stats = {**reply.message.stats, **stats}
        if reply.thinking:
            self.storage.update_message(reply.message.id, parts=reply.parts(), status=status, stats=stats)
        else:
            self.storage.update_message(reply.message.id, content=reply.text, status=status, stats=stats)
        self.remember_model(model_path)
        message = reply.message
        copies = [m for m in self.path if m.id == message.id and m is not message]  # the branch re-read meanwhile
        for m in (message, *copies):
            m.set_text(reply.text)
            if reply.thinking:
                m.parts = _with_thinking(m.parts, reply.thinking)
            m.status, m.stats = status, stats
        reply.saved_text, reply.saved_thinking = reply.text, reply.thinking
        return message

    # -- tools ---------------------------------------------------------------------------

    def set_message_parts(self, message: MessageRow, parts: tuple[Part, ...]) -> None:
        """A finished reply's parts (its text and the tool calls found in it)."""
        self.storage.update_message(message.id, parts=parts)
        for m in (message, *(m for m in self.path if m.id == message.id and m is not message)):
            m.parts = parts
            m.content = plain_text(parts)

    def add_tool_result(self, after: MessageRow, part: ToolResultPart) -> MessageRow:
        """A ``tool`` message holding a tool's result, after the reply (or result) that asked; made current."""
        message = self.storage.add_message(self.id, after.id, "tool", parts=(part,))
        self.reload(message.id)
        return message

    # -- export --------------------------------------------------------------------------

    def exported(self, model_name: str = "", *, thinking: bool = False) -> ExportedConversation:
        """The branch on screen as plain data; a reply's thinking only when ``thinking`` is chosen."""
        messages = []
        for m in self.path:
            entry = {"role": m.role, "content": m.content}
            thought = "".join(p.text for p in m.parts if isinstance(p, ThinkingPart)) if thinking else ""
            if thought:
                entry["thinking"] = thought
            messages.append(entry)
        return ExportedConversation(self.title, self.system_prompt, messages, model_name, self.sampling.to_dict())


def _with_thinking(parts: tuple[Part, ...], thinking: str) -> tuple[Part, ...]:
    """``parts`` with one thinking part, ``thinking``, before everything else."""
    return (ThinkingPart(thinking), *(p for p in parts if not isinstance(p, ThinkingPart)))
