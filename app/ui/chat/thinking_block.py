"""A reply's thinking as a collapsible block above its answer, live while the model thinks.

While the model thinks the block is open, its header counts ("Thinking… 42 tokens,
3 s") and it shows the last lines of the reasoning as they arrive; when the answer
starts it folds away to one line ("Thought for 3 s · 42 tokens"), which opens it
again on a click. A saved reply's thinking is the same block, folded. The text is
plain (never rich text: the model wrote it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

from app.core.parts import ThinkingPart
from app.ui.chat.part_widgets import ThinkingWidget

if TYPE_CHECKING:
    from app.core.chat_session import Reply
    from app.ui.chat.message_widget import MessageWidget

LIVE_TAIL = 600  # characters of the reasoning shown while it streams (the whole of it once it is folded)


def thinking_summary(tokens: int, seconds: float, *, live: bool = False) -> str:
    """"Thinking… 42 tokens, 3 s" while it runs; "Thought for 3 s · 42 tokens" after."""
    count = f"{tokens:,} token{'s' if tokens != 1 else ''}"
    if live:
        return f"Thinking… {count}, {seconds:.0f} s"
    if not tokens and not seconds:
        return "Thinking"
    return f"Thought for {seconds:.0f} s · {count}" if seconds >= 1 else f"Thought · {count}"


class ThinkingBlock(ThinkingWidget):
    """The thinking of one reply: a toggle that counts, and the reasoning below it."""

    def __init__(self, part: ThinkingPart | None = None, parent: QWidget | None = None) -> None:
        super().__init__(part or ThinkingPart(""), parent)
        self.setObjectName("part-thinking")
        self.live = False
        self._full = self.part.text  # type: ignore[attr-defined]

    def show_live(self, text: str, tokens: int, seconds: float) -> None:
        """The model is thinking: open the first time, count, and show the newest of its reasoning."""
        if not self.live:
            self.live = True
            self.toggle.setChecked(True)
        self._full = text
        self.toggle.setText(thinking_summary(tokens, seconds, live=True))
        shown = text if len(text) <= LIVE_TAIL else "…" + text[-LIVE_TAIL:]
        self.text.setText(shown)

    def fold(self, tokens: int, seconds: float) -> None:
        """The answer began (or the reply ended): fold to one line; a click shows all of the reasoning."""
        self.live = False
        self.text.setText(self._full)
        self.toggle.setText(thinking_summary(tokens, seconds))
        self.toggle.setChecked(False)

    @property
    def expanded(self) -> bool:
        return self.toggle.isChecked()


def show_thinking(widget: MessageWidget, reply: Reply, *, writing: bool) -> None:
    """Render a streaming reply's thinking in its bubble: live until the answer is written, then folded."""
    if not reply.thinking:
        return
    block = widget.thinking_block
    if writing and block is not None and not block.live:
        return  # folded already; the person may have opened it again
    widget.set_streaming_thinking(reply.thinking, reply.thinking_tokens, reply.thinking_ms)
    if writing:
        widget.fold_thinking(reply.thinking_tokens, reply.thinking_ms)
