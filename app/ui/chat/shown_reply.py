"""The reply being written in the open chat, as the Chat pane shows it: the turn's reply and its widget."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.chat_session import Reply
from app.core.chat_turn import LiveReply
from app.ui.chat.message_widget import MessageWidget
from app.ui.engine_bridge import StreamHandle


@dataclass
class ShownReply:
    """The reply being written in the open chat, and the widget that shows it."""

    live: LiveReply
    widget: MessageWidget

    @property
    def text(self) -> str:
        return self.live.text

    @property
    def reply(self) -> Reply:
        return self.live.reply

    @property
    def handle(self) -> StreamHandle | None:
        return self.live.stream  # type: ignore[return-value]  # the bridge's StreamHandle (app.ui.live_engine)
