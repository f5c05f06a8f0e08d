"""A tool call in the transcript: the tool, its arguments, and — while it waits — the person's choice.

The card shows the arguments as plain text (the model wrote them; never rich text)
and, when the chat's ``ToolTurn`` holds this call for approval, three buttons:
Run once, Always allow (this tool in this chat), Refuse. While the tool runs it says
so; Stop in the chat ends it. The result arrives as its own card (``ToolResultWidget``).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from app.core.parts import ToolCallPart
from app.ui.chat.part_widgets import ToolCallWidget
from app.ui.flow_layout import flow_row


class ToolCard(ToolCallWidget):
    """A tool call, with Run once / Always allow / Refuse while it waits for the person."""

    def __init__(self, part: ToolCallPart, parent: QWidget | None = None) -> None:
        super().__init__(part, parent)
        self.state = QLabel(self)
        self.state.setObjectName("toolCallState")
        self.state.hide()
        self.run_button = QPushButton("Run once", self)
        self.run_button.setObjectName("toolApproveButton")
        self.always_button = QPushButton("Always allow in this chat", self)
        self.always_button.setObjectName("toolAlwaysButton")
        self.refuse_button = QPushButton("Refuse", self)
        self.refuse_button.setObjectName("toolRefuseButton")
        self.buttons = flow_row(self.run_button, self.always_button, self.refuse_button, spacing=4)
        self.buttons.hide()
        self.layout_.addWidget(self.state)
        self.layout_.addWidget(self.buttons)
        self._decide: Callable[[str], None] | None = None
        self.run_button.clicked.connect(self._on_run_clicked)
        self.always_button.clicked.connect(self._on_always_clicked)
        self.refuse_button.clicked.connect(self._on_refuse_clicked)

    def ask(self, decide: Callable[[str], None]) -> None:
        """Wait for the person: ``decide`` gets "once", "always" or "refuse"."""
        self._decide = decide
        self.state.setText("The model wants to run this tool. Allow it?")
        self.state.show()
        self.buttons.show()

    def set_running(self) -> None:
        self._decide = None
        self.buttons.hide()
        self.state.setText("Running… (Stop ends it)")
        self.state.show()

    def settle(self) -> None:
        self._decide = None
        self.buttons.hide()
        self.state.hide()

    def _choose(self, choice: str) -> None:
        decide, self._decide = self._decide, None
        self.buttons.hide()
        if decide is not None:
            decide(choice)

    def _on_run_clicked(self) -> None:
        self._choose("once")

    def _on_always_clicked(self) -> None:
        self._choose("always")

    def _on_refuse_clicked(self) -> None:
        self._choose("refuse")
