"""A widget for each kind of message part that is not text (text is the message's Markdown body).

Each kind has its own widget and objectName (``part-thinking``, ``part-tool_call``,
``part-tool_result``, ``part-citation``, ``part-image``), filled from the part's
fields as plain text: nothing here reads the model's words to decide what they are.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette, QPixmap
from PySide6.QtWidgets import QFrame, QLabel, QToolButton, QVBoxLayout, QWidget

from app.core.parts import CitationPart, ImagePart, Part, ThinkingPart, ToolCallPart, ToolResultPart

IMAGE_MAX_WIDTH = 360
DIM = QColor("#6e7781")  # the reasoning reads quieter than the answer (style.qss says the same)


def _plain_label(text: str, name: str, parent: QWidget) -> QLabel:
    """A label that shows ``text`` as it is (never as rich text: the model wrote it) and wraps."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setObjectName(name)
    return label


class _PartFrame(QFrame):
    """A small labelled card: a title line, then the part's own lines."""

    def __init__(self, part: Part, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.part = part
        self.setObjectName(f"part-{part.kind}")
        self.setProperty("kind", part.kind)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(6, 3, 6, 3)
        self.layout_.setSpacing(1)
        self.title = _plain_label(title, "partTitle", self)
        self.layout_.addWidget(self.title)


class ThinkingWidget(_PartFrame):
    """The model's reasoning: a "Thinking" toggle, collapsed at first, its text dimmed."""

    def __init__(self, part: ThinkingPart, parent: QWidget | None = None) -> None:
        super().__init__(part, "", parent)
        self.title.hide()
        self.toggle = QToolButton(self)
        self.toggle.setObjectName("thinkingToggle")
        self.toggle.setText("Thinking")
        self.toggle.setCheckable(True)
        self.toggle.setAutoRaise(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.text = _plain_label(part.text, "thinkingText", self)
        for widget in (self.toggle, self.text):
            palette = widget.palette()
            for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
                palette.setColor(role, DIM)
            widget.setPalette(palette)
        self.text.hide()
        self.layout_.addWidget(self.toggle)
        self.layout_.addWidget(self.text)
        self.toggle.toggled.connect(self._on_toggled)

    def _on_toggled(self, shown: bool) -> None:
        self.text.setVisible(shown)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)


class ToolCallWidget(_PartFrame):
    """A call the model asked for: the tool's name and its arguments."""

    def __init__(self, part: ToolCallPart, parent: QWidget | None = None) -> None:
        super().__init__(part, f"Tool call: {part.name}", parent)
        self.arguments = _plain_label(part.arguments, "toolArguments", self)
        self.layout_.addWidget(self.arguments)


class ToolResultWidget(_PartFrame):
    """What a tool gave back (or its failure)."""

    def __init__(self, part: ToolResultPart, parent: QWidget | None = None) -> None:
        super().__init__(part, f"{'Tool failed' if part.is_error else 'Tool result'}: {part.name}", parent)
        self.setProperty("error", part.is_error)
        self.content = _plain_label(part.content, "toolContent", self)
        self.layout_.addWidget(self.content)


class CitationWidget(_PartFrame):
    """A footnote-like line: "[n] title — source", the quoted words below."""

    remove_requested = Signal(str)
    """(source ``path:line``): leave this passage out of the next reply (Regenerate)."""

    def __init__(self, part: CitationPart, number: int, parent: QWidget | None = None) -> None:
        line = f"[{number}] {part.title}" + (f" — {part.source}" if part.source else "")
        line += f" · found by {part.found_by}" if part.found_by else ""
        super().__init__(part, line, parent)
        if part.quote:
            shown = part.quote if len(part.quote) <= 300 else part.quote[:300].rstrip() + "…"
            self.layout_.addWidget(_plain_label(f"“{shown}”", "citationQuote", self))
        self.opened: QWidget | None = None
        if part.source.startswith("/"):  # a passage of a local file: it opens in place
            self.open_button = QToolButton(self)
            self.open_button.setObjectName("citationOpen")
            self.open_button.setText("Open passage")
            self.open_button.setAutoRaise(True)
            self.open_button.clicked.connect(self._on_open_button_clicked)
            self.layout_.addWidget(self.open_button)
            self.remove_button = QToolButton(self)
            self.remove_button.setObjectName("citationRemove")
            self.remove_button.setText("× Leave out")
            self.remove_button.setToolTip("Leave this passage out when the reply is regenerated")
            self.remove_button.setAutoRaise(True)
            self.remove_button.clicked.connect(self._on_remove_button_clicked)
            self.layout_.addWidget(self.remove_button)

    def _on_remove_button_clicked(self) -> None:
        self.remove_button.setEnabled(False)
        self.remove_button.setText("Left out of the next reply")
        self.remove_requested.emit(self.part.source)  # type: ignore[attr-defined]

    def _on_open_button_clicked(self) -> None:
        from app.ui.sources.passage_view import open_passage

        self.opened = open_passage(self.part, self)  # type: ignore[arg-type]


class ImageWidget(_PartFrame):
    """A picture from its file, scaled to fit a bubble; its description when it can't be read."""

    def __init__(self, part: ImagePart, parent: QWidget | None = None) -> None:
        super().__init__(part, part.alt or Path(part.path).name, parent)
        self.picture = QLabel(self)
        self.picture.setObjectName("imagePicture")
        pixmap = QPixmap(part.path)
        if pixmap.isNull():
            self.picture.setText(f"(image not found: {part.path})")
        else:
            self.picture.setPixmap(pixmap.scaledToWidth(min(IMAGE_MAX_WIDTH, pixmap.width()),
                                                        Qt.TransformationMode.SmoothTransformation))
        self.layout_.addWidget(self.picture)
