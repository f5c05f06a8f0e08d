"""The transcript: a scrolling column of message widgets for the active branch.

Only the streaming message re-renders while tokens arrive; the column follows the
newest text only when the user is already at the bottom.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from app.core.conversation import ConversationTree
from app.core.storage import MessageRow
from app.ui.chat.message_widget import MessageWidget


class TranscriptView(QScrollArea):
    """Shows messages; re-emits their requests for the chat controller."""

    version_requested = Signal(int, int)
    """(message id, step) from a message's arrows."""
    edit_submitted = Signal(int, str)
    """(message id, text) from a message's editor."""
    regenerate_requested = Signal(int)
    """A reply's Regenerate button."""
    continue_requested = Signal(int)
    """A reply's Continue button."""
    action_requested = Signal(str)
    """An error row's action ('reload', 'choose-model')."""
    passage_removed = Signal(str)
    """A "Sources used" passage (``path:line``) to leave out of the next reply."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatTranscript")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # a scroll bar that came and went would change every message's width, and a width change
        # lays out each message's whole text again in one go (a long reply: hundreds of ms)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self._column = QWidget()
        self._column.setObjectName("transcriptColumn")
        self._layout = QVBoxLayout(self._column)
        self._layout.setContentsMargins(12, 12, 12, 12)
        self._layout.setSpacing(10)
        self._layout.addStretch(1)
        self.setWidget(self._column)
        self.widgets: dict[int, MessageWidget] = {}
        self._notice: QLabel | None = None
        self._follow = True
        self.verticalScrollBar().rangeChanged.connect(self._on_scrollbar_range_changed)
        self.verticalScrollBar().valueChanged.connect(self._on_scrollbar_value_changed)
        self.empty_label = QLabel("Start a conversation: type below and press Enter.")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setObjectName("emptyTranscript")
        self._layout.insertWidget(0, self.empty_label)

    def show_branch(self, path: list[MessageRow], tree: ConversationTree) -> None:
        for widget in self.widgets.values():
            widget.setParent(None)
            widget.deleteLater()
        self.widgets.clear()
        self.clear_notice()
        self.empty_label.setVisible(not path)
        for message in path:
            self.append(message, tree.sibling_position(message.id))
        self._follow = True

    def append(self, message: MessageRow, version: tuple[int, int] = (1, 1)) -> MessageWidget:
        widget = MessageWidget(message, version, self._column)
        widget.version_requested.connect(self.version_requested)
        widget.edit_submitted.connect(self.edit_submitted)
        widget.regenerate_requested.connect(self.regenerate_requested)
        widget.continue_requested.connect(self.continue_requested)
        widget.action_requested.connect(self.action_requested)
        widget.passage_removed.connect(self.passage_removed)
        self._layout.insertWidget(self._layout.count() - 1, widget)
        self.widgets[message.id] = widget
        self.empty_label.hide()
        return widget

    def remove(self, message_ids: list[int]) -> None:
        """Take messages off the screen (a branch was shortened to regenerate or edit)."""
        for mid in message_ids:
            widget = self.widgets.pop(mid, None)
            if widget is not None:
                widget.setParent(None)
                widget.deleteLater()

    def show_notice(self, text: str) -> None:
        """A line in the transcript, e.g. that old turns no longer fit in the context."""
        if self._notice is None:
            self._notice = QLabel()
            self._notice.setObjectName("transcriptNotice")
            self._notice.setWordWrap(True)
            self._layout.insertWidget(self._layout.count() - 1, self._notice)
        self._notice.setText(text)
        self._notice.show()

    def clear_notice(self) -> None:
        if self._notice is not None:
            self._notice.setParent(None)
            self._notice.deleteLater()
            self._notice = None

    def scroll_to_bottom(self) -> None:
        self._follow = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _on_scrollbar_value_changed(self, value: int) -> None:
        self._follow = value >= self.verticalScrollBar().maximum() - 24

    def _on_scrollbar_range_changed(self, _low: int, high: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(high)
