"""The one place that picks the widget for a part of a message that is not text.

Apart from ``part_widgets.py`` so the tool card, which builds on ``ToolCallWidget``,
can be chosen here without the two modules importing each other.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.core.parts import CitationPart, ImagePart, Part, TextPart, ThinkingPart, ToolCallPart, ToolResultPart
from app.ui.chat.part_widgets import CitationWidget, ImageWidget, ThinkingWidget, ToolResultWidget
from app.ui.chat.tool_card import ToolCard


def part_widget(part: Part, citation_number: int, parent: QWidget | None = None) -> QWidget:
    """The widget for one part that is not text, chosen by its type."""
    if isinstance(part, ThinkingPart):
        return ThinkingWidget(part, parent)
    if isinstance(part, ToolCallPart):
        return ToolCard(part, parent)
    if isinstance(part, ToolResultPart):
        return ToolResultWidget(part, parent)
    if isinstance(part, CitationPart):
        return CitationWidget(part, citation_number, parent)
    if isinstance(part, ImagePart):
        return ImageWidget(part, parent)
    if isinstance(part, TextPart):
        raise TypeError("text parts are the message's body, not a part widget")
    raise TypeError(f"no widget for a {type(part).__name__}")
