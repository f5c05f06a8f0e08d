"""The one Qt model of the model list: a thin adapter over ``app/core/model_list.py``'s ``ModelList``.

It translates the list's announcements into row insertions and removals (napari's
``_base_item_model`` pattern), so a view keeps its selection across a rescan. The
window makes one and every list of models shows it: the model selector through
``selector_model`` (every model, plus a file opened by hand and "Open a GGUF
file…"), the library table through ``LocalModels`` (the models on this computer),
and Compare's list through ``ComparableModels`` (local models that can be read,
each with a check box that remembers being unchecked).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QConcatenateTablesProxyModel,
    QIdentityProxyModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QStandardItemModel

from app.core.model_list import ModelList, ModelListChange
from app.core.ports import ModelEntry
from app.ui.widgets import human_size

COLUMNS = ["Name", "Architecture", "Parameters", "Quantization", "Size", "Context", "Chat template", "File"]
PATH_ROLE = Qt.ItemDataRole.UserRole
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
LOCAL_ROLE = Qt.ItemDataRole.UserRole + 2
Index = QModelIndex | QPersistentModelIndex


class ModelListModel(QAbstractTableModel):
    """Every model of the ``ModelList`` as a row, its header details as columns."""

    def __init__(self, model_list: ModelList, size_note: Callable[[ModelEntry], str] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model_list = model_list
        self.size_note = size_note  # e.g. the fit badge: "fits in memory"
        self._rows = model_list.entries
        self._local = {e.path for e in model_list.local}
        model_list.subscribe(self._on_model_list_changed)

    def entry(self, row: int) -> ModelEntry:
        return self._rows[row]

    def row_of(self, path: str) -> int:
        return next((r for r, e in enumerate(self._rows) if e.path == path), -1)

    # -- the list's announcements → rows ------------------------------------------------------

    def _on_model_list_changed(self, _change: ModelListChange) -> None:
        new = self.model_list.entries
        self._local = {e.path for e in self.model_list.local}
        kept = [e for e in self._rows if e in new]
        if kept != [e for e in new if e in kept]:  # the order changed: nothing to keep
            self.beginResetModel()
            self._rows = new
            self.endResetModel()
            return
        for row in reversed(range(len(self._rows))):
            if self._rows[row] not in new:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
        for row, entry in enumerate(new):
            if row >= len(self._rows) or self._rows[row] != entry:
                self.beginInsertRows(QModelIndex(), row, row)
                self._rows.insert(row, entry)
                self.endInsertRows()

    def refresh(self) -> None:
        """Something the rows show besides the list changed (the context size behind the fit badge)."""
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1))

    # -- QAbstractTableModel ------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt override
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt override
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt override
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        e = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(e, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return e.error or e.path
        if role == Qt.ItemDataRole.ForegroundRole and e.error:
            return QColor(Qt.GlobalColor.darkRed)
        if role == PATH_ROLE:
            return e.path
        if role == ENTRY_ROLE:
            return e
        if role == LOCAL_ROLE:
            return e.path in self._local
        return None

    def _text(self, e: ModelEntry, column: int) -> str:
        if column == 0:
            return ("★ " if e.builtin else "") + e.name
        if column == 1:
            return e.architecture + (f" · {e.kind}" if e.kind != "chat" else "")
        if column == 2:
            return f"{e.parameters / 1e6:,.0f}M" if e.parameters else ""
        if column == 3:
            return e.quantization
        if column == 4:
            note = self.size_note(e) if self.size_note is not None and not e.error else ""
            return human_size(e.size) + (f" — {note}" if note else "")
        if column == 5:
            return f"{e.context_length:,}" if e.context_length else ""
        if column == 6:
            return "yes" if e.has_chat_template else ("no" if not e.error else "")
        return e.path if not e.error else f"⚠ {e.error} — {e.path}"


class LocalModels(QSortFilterProxyModel):
    """The models on this computer (the library table's rows)."""

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:  # noqa: N802 - Qt override
        return bool(self.sourceModel().index(row, 0, parent).data(LOCAL_ROLE))

    def entry(self, row: int) -> ModelEntry | None:
        if not 0 <= row < self.rowCount():
            return None
        return self.index(row, 0).data(ENTRY_ROLE)


class ComparableModels(LocalModels):
    """Local chat models that can be read, each checkable; a new one comes checked, an unchecked one stays so."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.unchecked: set[str] = set()

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:  # noqa: N802 - Qt override
        entry = self.sourceModel().index(row, 0, parent).data(ENTRY_ROLE)
        return super().filterAcceptsRow(row, parent) and not entry.error and entry.kind == "chat"  # text to score

    def flags(self, index: Index) -> Qt.ItemFlag:
        return super().flags(index) | Qt.ItemFlag.ItemIsUserCheckable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.CheckStateRole and index.column() == 0:
            path = super().data(index, PATH_ROLE)
            return Qt.CheckState.Unchecked if path in self.unchecked else Qt.CheckState.Checked
        if role == Qt.ItemDataRole.DisplayRole and index.column() == 0:  # the name, without the starter's star
            return super().data(index, ENTRY_ROLE).name
        return super().data(index, role)

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != 0:
            return super().setData(index, value, role)
        path = super().data(index, PATH_ROLE)
        checked = Qt.CheckState(value) == Qt.CheckState.Checked if not isinstance(value, bool) else value
        (self.unchecked.discard if checked else self.unchecked.add)(path)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        return True

    def checked_paths(self) -> list[str]:
        return [p for p in (self.index(r, 0).data(PATH_ROLE) for r in range(self.rowCount())) if p not in self.unchecked]


NOT_FOR_CHAT = {"embedding": "an embedding model: use it for sources in Models",
                "adapter": "a LoRA adapter: pick it in the Sampling panel"}


class ChoosableModels(QIdentityProxyModel):
    """The model selector's rows: every model (local, then each server's) as "name (quantization, size)"."""

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and index.column() == 0:
            e: ModelEntry = super().data(index, ENTRY_ROLE)
            if e.error:
                return f"⚠ {e.name} — {e.error}"
            if e.kind != "chat":  # listed, so it is not missed, but not chosen for chatting by mistake
                return f"{e.name}  ({NOT_FOR_CHAT.get(e.kind, e.kind)})"
            return e.name + (f"  ({e.quantization}, {human_size(e.size)})" if e.quantization else "")
        if role == Qt.ItemDataRole.ToolTipRole:
            return super().data(index, PATH_ROLE)
        return super().data(index, role)

    def flags(self, index: Index) -> Qt.ItemFlag:
        e = super().data(index, ENTRY_ROLE)
        if isinstance(e, ModelEntry) and e.kind != "chat":
            return super().flags(index) & ~Qt.ItemFlag.ItemIsEnabled & ~Qt.ItemFlag.ItemIsSelectable
        return super().flags(index)


def selector_model(list_model: ModelListModel, extras: QStandardItemModel, parent: QObject | None = None
                   ) -> QConcatenateTablesProxyModel:
    """The selector's model: the one list's rows, then ``extras`` (a file opened by hand, "Open a GGUF file…")."""
    choosable = ChoosableModels(parent)
    choosable.setSourceModel(list_model)
    both = QConcatenateTablesProxyModel(parent)
    both.addSourceModel(choosable)
    both.addSourceModel(extras)
    both.sources = (choosable, extras)  # type: ignore[attr-defined]  # without a parent, Python must keep them alive
    return both
