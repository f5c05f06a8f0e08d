"""The tool side of a chat's live turn, without Qt: offer tools, hold a call for approval, run it, go on.

``ToolTurn`` is attached to a ``ChatTurn`` (``ChatTurn.tools``). Its life, announced
through the chat session like the rest of the turn:

1. each reply is started with the chat's ``ToolOffer`` (the enabled servers' tools);
2. when a reply ends with calls in it (parsed from the text: Hermes, Mistral, Llama 3.x;
   or a server's structured ``tool_calls``), the reply keeps its text and gets a
   ``ToolCallPart`` per call, and the first call waits in ``pending``
   (announced ``"tool-approval"``), unless the person said to always allow that tool
   in this chat;
3. ``approve()`` runs it on the tool host (``"tool-running"``); ``refuse()`` does not.
   Either way a ``tool`` message with a ``ToolResultPart`` follows the reply (the
   result, a clear error, or "refused"), is announced ``"tool-result"``, and a new
   reply starts from it, so the model continues with the result in its history;
4. Stop while a tool runs cancels it (its server is stopped) and ends the turn
   there; Stop while a call waits refuses it and ends the turn.

Nothing a tool returns is interpreted: it is stored as plain text in its part.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.core.errors import InklingError, ToolError
from app.core.parts import Part, TextPart, ToolCallPart, ToolResultPart
from app.core.tools import REFUSED, STOPPED, ToolApprovals, ToolOffer, arguments_of, parse_tool_calls

if TYPE_CHECKING:
    from app.core.chat_turn import ChatTurn
    from app.core.ports import ToolHostPort
    from app.core.storage import MessageRow

MAX_ROUNDS = 8
"""Tool rounds one question may take before the model must answer without more calls."""

Deliver = Callable[[Callable[[], None]], None]
"""Run a callable on the session's thread (a tool's answer arrives on the host's thread)."""


@dataclass
class PendingCall:
    """A call that waits for the person (or runs): which reply asked for it, the call, and its future."""

    message: MessageRow
    call: ToolCallPart
    future: Future[Any] | None = None
    queued: list[ToolCallPart] = field(default_factory=list)  # more calls of the same reply, after this one


@dataclass(eq=False)
class ToolTurn:
    """Tools for one chat: what is offered, the call waiting for approval or running, and the rounds so far."""

    turn: ChatTurn
    host: ToolHostPort
    approvals: ToolApprovals
    deliver: Deliver
    offer: ToolOffer | None = None
    """The tools offered with each reply (None: no tools)."""
    first_choice: str = "auto"
    """``tool_choice`` of a question's first reply ("required" makes the model call a tool)."""
    pending: PendingCall | None = None
    """The call waiting for the person (``running`` False) or running (True)."""
    running: bool = False
    rounds: int = 0
    last_result: ToolResultPart | None = None

    @property
    def chat_id(self) -> int:
        return self.turn.session.id

    # -- what ChatTurn asks ----------------------------------------------------------------

    def offer_for(self, parent: MessageRow) -> ToolOffer | None:
        """The offer for a reply to ``parent``: the first choice for a question, "auto" after a tool's result."""
        if self.offer is None or not self.offer.tools:
            return None
        if parent.role == "tool":
            if self.rounds >= MAX_ROUNDS:
                return None
            return ToolOffer(self.offer.tools, "auto")
        self.rounds = 0
        return ToolOffer(self.offer.tools, self.first_choice)

    def after_reply(self, message: MessageRow, text: str, server_calls: tuple[ToolCallPart, ...]) -> bool:
        """A reply ended: if it asked for tools, keep its calls as parts and ask (or run). True if it did."""
        if self.offer is None:
            return False
        if server_calls:
            body, calls = text, list(server_calls)
        else:
            parsed = parse_tool_calls(text, self.offer.names)
            body, calls = parsed.text, list(parsed.calls)
        if not calls:
            return False
        parts: list[Part] = [TextPart(body)] if body else []
        parts.extend(calls)
        self.turn.session.set_message_parts(message, tuple(parts))
        self.rounds += 1
        self.pending = PendingCall(message, calls[0], queued=calls[1:])
        return True

    def start_pending(self) -> None:
        """Announce the waiting call, or run it at once if its tool is always allowed in this chat."""
        if self.pending is None:
            return
        if self.approvals.allowed(self.chat_id, self.pending.call.name):
            self._run()
        else:
            self.turn.session.announce("tool-approval")

    def stop(self) -> bool:
        """Stop: a running tool is cancelled, a waiting call refused; the turn ends there. True if there was one."""
        pending = self.pending
        if pending is None:
            return False
        if self.running and pending.future is not None:
            pending.future.cancel()  # its done-callback records the stop
            return True
        self._record(pending, ToolResultPart(pending.call.name, REFUSED, pending.call.call_id, is_error=True),
                     go_on=False)
        return True

    # -- what the person decides -------------------------------------------------------------

    def approve(self, always: bool = False) -> None:
        """Run the waiting call; ``always``: every later call of this tool in this chat runs without asking."""
        if self.pending is None or self.running:
            return
        if always:
            self.approvals.allow_always(self.chat_id, self.pending.call.name)
        self._run()

    def refuse(self) -> None:
        """Don't run the waiting call; the model is told it was refused and goes on."""
        pending = self.pending
        if pending is None or self.running:
            return
        self._record(pending, ToolResultPart(pending.call.name, REFUSED, pending.call.call_id, is_error=True))

    # -- running -------------------------------------------------------------------------------

    def _run(self) -> None:
        pending = self.pending
        assert pending is not None
        try:
            arguments = arguments_of(pending.call)
        except ToolError as exc:
            self._record(pending, ToolResultPart(pending.call.name, str(exc), pending.call.call_id, is_error=True))
            return
        self.running = True
        pending.future = self.host.call_async(pending.call.name, arguments)
        self.turn.session.announce("tool-running")
        pending.future.add_done_callback(lambda f: self.deliver(lambda: self._on_done(pending, f)))

    def _on_done(self, pending: PendingCall, future: Future[Any]) -> None:
        if self.pending is not pending:
            return
        call = pending.call
        go_on = True
        try:
            outcome = future.result()
            part = ToolResultPart(call.name, str(outcome.text), call.call_id, is_error=bool(outcome.is_error))
        except CancelledError:
            part, go_on = ToolResultPart(call.name, STOPPED, call.call_id, is_error=True), False
        except InklingError as exc:
            part = ToolResultPart(call.name, str(exc), call.call_id, is_error=True)
        except Exception as exc:
            part = ToolResultPart(call.name, f"The tool failed: {type(exc).__name__}: {exc}", call.call_id,
                                  is_error=True)
        self._record(pending, part, go_on=go_on)

    def _record(self, pending: PendingCall, part: ToolResultPart, go_on: bool = True) -> None:
        """The call's result as a ``tool`` message after its reply; then the next queued call, or the next reply."""
        self.running = False
        self.last_result = part
        session = self.turn.session
        tool_message = session.add_tool_result(pending.message, part)
        if pending.queued and go_on:
            self.pending = PendingCall(tool_message, pending.queued[0], queued=pending.queued[1:])
            session.announce("tool-result")
            self.start_pending()
            return
        self.pending = None
        session.announce("tool-result")
        if go_on:
            self.turn.continue_after_tool(tool_message)
