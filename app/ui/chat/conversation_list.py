"""The conversation list: a thin Qt model over Storage's conversations, with search and rename.

Renaming a row writes nothing itself: it asks (``rename_requested``), the chat's
``ChatSession`` renames and announces it, and the pane shows the new title here
(``set_title``), in the window title and in Export's file name alike.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import QListView, QWidget

from app.core.storage import ConversationRow, Storage

Index = QModelIndex | QPersistentModelIndex


class ConversationListModel(QAbstractListModel):
    """Rows are conversations, newest first; editing a row asks for the conversation to be renamed."""

    rename_requested = Signal(int, str)
    """(conversation id, new title): the row was edited (F2, a double-click)."""

    IdRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, storage: Storage) -> None:
        super().__init__()
        self.storage = storage
        self.rows: list[ConversationRow] = []
        self.search = ""

    def reload(self, search: str | None = None) -> None:
        if search is not None:
            self.search = search
        self.beginResetModel()
        self.rows = self.storage.conversations(self.search)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return row.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.title
        if role == self.IdRole:
            return row.id
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        return super().flags(index) | Qt.ItemFlag.ItemIsEditable

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        title = str(value).strip()
        if role != Qt.ItemDataRole.EditRole or not title:
            return False
        self.rename_requested.emit(self.rows[index.row()].id, title)
        return True

    def set_title(self, conversation_id: int, title: str) -> None:
        """Show a conversation's new title in its row, in place (the selection stays where it is)."""
        row = self.row_of(conversation_id)
        if row >= 0 and self.rows[row].title != title:
            self.rows[row].title = title
            self.dataChanged.emit(self.index(row), self.index(row))

    def row_of(self, conversation_id: int) -> int:
        return next((i for i, r in enumerate(self.rows) if r.id == conversation_id), -1)


class ConversationListView(QListView):
    """The list widget; Delete key asks to delete the selected conversation."""

    delete_requested = Signal(int)
    """Delete this conversation (undoable)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conversationList")
        self.setEditTriggers(QListView.EditTrigger.EditKeyPressed | QListView.EditTrigger.DoubleClicked)
        self.setUniformItemSizes(True)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_Delete and self.currentIndex().isValid():
            self.delete_requested.emit(int(self.currentIndex().data(ConversationListModel.IdRole)))
            return
        super().keyPressEvent(event)
