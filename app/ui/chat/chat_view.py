"""The Chat pane's widgets and their layout, and nothing else (the behaviour is in ``ChatPane``).

Left: new chat, search, the conversation list, delete and undo. Right: the
system prompt, the transcript, the context meter and the composer with Send,
Stop and Regenerate.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QSplitter, QVBoxLayout, QWidget

from app.core.storage import Storage
from app.ui.chat.composer import Composer
from app.ui.chat.conversation_list import ConversationListModel, ConversationListView
from app.ui.chat.transcript import TranscriptView
from app.ui.widgets import UndoDeleteButton


class ChatView(QWidget):
    """Layout of the Chat pane; the objectNames are the ones DESIGN.md lists."""

    def __init__(self, storage: Storage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._build_list(storage)
        self._build_chat()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("chatSplitter")
        self.splitter.addWidget(self._left)
        self.splitter.addWidget(self._right)
        self.splitter.setStretchFactor(0, 1)  # a narrowed window narrows the list too, a third as fast
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([220, 800])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)

    def _build_list(self, storage: Storage) -> None:
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("conversationSearch")
        self.search_edit.setPlaceholderText("Search chats")
        self.search_edit.setClearButtonEnabled(True)
        self.new_button = QPushButton("New chat")
        self.new_button.setObjectName("newConversationButton")
        self.new_button.setToolTip("New chat (Ctrl+N)")
        self.list_model = ConversationListModel(storage)
        self.list_view = ConversationListView()
        self.list_view.setModel(self.list_model)
        self.undo_delete_button = UndoDeleteButton()
        self.undo_delete_button.setObjectName("undoDeleteButton")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setObjectName("deleteConversationButton")
        self.delete_button.setToolTip("Delete the selected chat (Del); it can be undone")
        self._left = QWidget()
        left_layout = QVBoxLayout(self._left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.new_button)
        left_layout.addWidget(self.search_edit)
        self.no_match_label = QLabel()  # a search with no hits says so instead of showing an empty list
        self.no_match_label.setObjectName("noChatMatches")
        self.no_match_label.setWordWrap(True)
        self.no_match_label.hide()
        left_layout.addWidget(self.no_match_label)
        left_layout.addWidget(self.list_view, 1)
        row = QHBoxLayout()
        row.addWidget(self.delete_button)
        row.addWidget(self.undo_delete_button)
        left_layout.addLayout(row)

    def _build_chat(self) -> None:
        self.system_edit = QLineEdit()
        self.system_edit.setObjectName("systemPromptEdit")
        self.system_edit.setPlaceholderText("System prompt for this chat (how the assistant should behave)")
        self.transcript = TranscriptView()
        self.composer = Composer()
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.setDefault(True)
        self.send_button.setToolTip("Send (Enter)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop the reply (Esc)")
        self.stop_button.setEnabled(False)
        self.regen_button = QPushButton("Regenerate")
        self.regen_button.setObjectName("regenerateButton")
        self.regen_button.setToolTip("New version of the last reply (Ctrl+R)")
        self.context_label = QLabel()
        self.context_label.setObjectName("contextMeter")
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.regen_button)
        composer_row = QHBoxLayout()
        composer_row.addWidget(self.composer, 1)
        composer_row.addLayout(buttons)
        self._right = QWidget()
        right_layout = QVBoxLayout(self._right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        sys_row = QHBoxLayout()
        sys_row.addWidget(QLabel("System:"))
        sys_row.addWidget(self.system_edit, 1)
        right_layout.addLayout(sys_row)
        self.sys_row = sys_row  # the Sources button joins it (app/ui/sources/chat_sources_button.py)
        right_layout.addWidget(self.transcript, 1)
        right_layout.addWidget(self.context_label)
        right_layout.addLayout(composer_row)
