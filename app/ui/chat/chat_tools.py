"""The Chat pane's tools: each chat's ``ToolTurn``, its tool offer, and the approval cards on screen.

``ChatTools`` is the Qt glue between the core's ``ToolTurn`` (app.core.tool_turn)
and the window: it attaches a ``ToolTurn`` to every chat's turn, keeps its offer
(the tools of the servers enabled for that chat, listed in the background) up to
date with the ``ToolStore``, brings a tool's answer from the host's thread to the
GUI thread, and shows what the turn announces: the card waiting for approval, the
tool running, its result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, Signal

from app.core.builtin_tools import BuiltinTool, ChatToolHost
from app.core.chat_session import ChatSession
from app.core.chat_turn import ChatTurn
from app.core.errors import InklingError
from app.core.ports import ToolHostPort
from app.core.tool_store import ToolStore
from app.core.tool_turn import ToolTurn
from app.core.tools import ToolApprovals, ToolOffer
from app.ui.chat.tool_card import ToolCard
from app.ui.jobs import when_done

if TYPE_CHECKING:
    from app.ui.chat.chat_pane import ChatPane


class ChatTools(QObject):
    """Tools for every chat of one Chat pane."""

    _arrived = Signal(object)
    """(internal) a callable from the tool host's thread, to run on the GUI thread."""
    offer_changed = Signal(int)
    """The tools offered to chat N were listed again (for tests and the Tools tab)."""

    def __init__(self, pane: ChatPane, host: ToolHostPort, store: ToolStore) -> None:
        super().__init__(pane)
        self.pane = pane
        self.host = host
        self.store = store
        self.approvals = ToolApprovals()
        self.first_choice = "auto"  # tool_choice of a question's first reply (tests force "required")
        self.builtins: list[BuiltinTool] = []  # tools Inkling runs itself (search_sources), offered per chat
        self._turns: dict[int, ToolTurn] = {}
        self._auto: set[tuple[int, str]] = set()  # (chat, built-in name) allowed here because the chat offers it
        self._told: set[int] = set()  # chats told that the model's template has no tool section
        self._arrived.connect(self._on_arrived)
        store.subscribe(self._on_store_changed)
        pane.tools = self
        if pane.session is not None:
            self.attach(pane._turn_of(pane.session))

    def attach(self, turn: ChatTurn) -> None:
        """Give a chat's turn its tools (once), and list them."""
        if turn.tools is not None:
            return
        host = ChatToolHost(self.host, self.builtins, turn.session.id)  # built-in names run here, the rest over MCP
        tools = ToolTurn(turn, host, self.approvals, self._deliver, first_choice=self.first_choice)
        turn.tools = tools
        self._allow_builtins(turn.session.id)
        self._turns[turn.session.id] = tools
        turn.session.subscribe(self._on_session_changed)
        self.refresh(turn.session.id)

    def add_builtin(self, tool: BuiltinTool) -> None:
        """Offer a tool Inkling runs itself, in the chats where ``tool.offered(chat)`` says so."""
        self.builtins.append(tool)
        for chat_id in list(self._turns):
            self._allow_builtins(chat_id)
            self.refresh(chat_id)

    def _allow_builtins(self, chat_id: int) -> None:
        """Built-in tools that need no approval run without a card, only where the chat offers them: elsewhere a
        call of that name is an MCP tool's, and asks as any other does."""
        for tool in self.builtins:
            key = (chat_id, tool.spec.name)
            if not tool.needs_approval and tool.offered(chat_id):  # it reads only what the person gave the chat
                if not self.approvals.allowed(*key):
                    self.approvals.allow_always(*key)
                    self._auto.add(key)
            elif key in self._auto:
                self._auto.discard(key)
                self.approvals.always.get(chat_id, set()).discard(tool.spec.name)

    def refresh(self, chat_id: int) -> None:
        """List the tools of the servers enabled for this chat again (in the background), and the built-in ones."""
        tools = self._turns.get(chat_id)
        if tools is None:
            return
        self._allow_builtins(chat_id)
        builtin = [t.spec for t in self.builtins if t.offered(chat_id)]
        names = self.store.enabled_for(chat_id)
        if not names:
            tools.offer = ToolOffer.of(builtin) if builtin else None
            self.offer_changed.emit(chat_id)
            return

        def listed(specs: list) -> None:
            taken = {s.name for s in builtin}  # a call of a built-in's name runs the built-in: not offered twice
            specs = [*(s for s in specs if s.name not in taken), *builtin]
            tools.offer = ToolOffer.of(specs) if specs else None
            self.offer_changed.emit(chat_id)

        def failed(exc: BaseException) -> None:
            tools.offer = ToolOffer.of(builtin) if builtin else None
            self.pane.status_message.emit(str(exc) if isinstance(exc, InklingError) else f"Tools: {exc}")
            self.offer_changed.emit(chat_id)

        when_done(self.host.tools_async(names), listed, failed, self)

    def set_first_choice(self, choice: str) -> None:
        self.first_choice = choice
        for tools in self._turns.values():
            tools.first_choice = choice

    def _deliver(self, callback: Callable[[], None]) -> None:
        self._arrived.emit(callback)  # queued onto the GUI thread

    def _on_arrived(self, callback: Callable[[], None]) -> None:
        callback()

    def _on_store_changed(self, _store: ToolStore, _what: str) -> None:
        self.host.set_servers(self.store.servers)
        for chat_id in list(self._turns):
            self.refresh(chat_id)

    def card_for(self, session: ChatSession) -> ToolCard | None:
        """The card of the call waiting (or running) in the chat on screen."""
        tools = session.turn.tools if session.turn is not None else None
        if tools is None or tools.pending is None or session is not self.pane.session:
            return None
        widget = self.pane.transcript.widgets.get(tools.pending.message.id)
        if widget is None or not shiboken6.isValid(widget):
            return None
        for card in widget.findChildren(ToolCard):
            if card.part.call_id == tools.pending.call.call_id:
                return card
        return None

    def _on_session_changed(self, session: ChatSession, what: str) -> None:
        if session is not self.pane.session:
            return
        tools = session.turn.tools if session.turn is not None else None
        if tools is None:
            return
        if what == "reply-ended" and session.turn is not None and session.turn.ended is not None:
            note = session.turn.ended.finished.note
            if tools.offer is not None and note and "no tool section" in note and session.id not in self._told:
                self._told.add(session.id)  # once per chat: the model's template has no tool support
                self.pane.transcript.show_notice(f"⚠ {note}")
            return
        if not what.startswith("tool-"):
            return
        self.pane._sync_transcript()
        if what == "tool-approval":
            card = self.card_for(session)
            if card is not None:
                card.ask(lambda choice: self._decide(tools, choice))
                self.pane.status_message.emit(f"The model wants to run the tool {tools.pending.call.name!r}: "
                                              "allow it or refuse it")
            self.pane.transcript.scroll_to_bottom()
        elif what == "tool-running":
            card = self.card_for(session)
            if card is not None:
                card.set_running()
            self.pane.status_message.emit("Running a tool… (Stop ends it)")
        elif what == "tool-result":
            for widget in self.pane.transcript.widgets.values():
                for card in widget.findChildren(ToolCard):
                    if tools.pending is None or card.part.call_id != tools.pending.call.call_id:
                        card.settle()
            result = tools.last_result
            if result is not None and result.is_error:
                self.pane.status_message.emit(f"Tool {result.name!r}: {result.content[:200]}")
            self.pane.transcript.scroll_to_bottom()

    @staticmethod
    def _decide(tools: ToolTurn, choice: str) -> None:
        if choice == "refuse":
            tools.refuse()
        else:
            tools.approve(always=choice == "always")
