"""The one Qt model of the model list: rows follow the list's announcements, views keep their choice."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QTableView

from app.core.model_list import ModelList
from app.core.ports import ModelEntry
from app.ui.model_list_model import PATH_ROLE, ComparableModels, LocalModels, ModelListModel, selector_model


def entry(name: str, error: str = "") -> ModelEntry:
    return ModelEntry(path=f"/models/{name}.gguf", name=name, size=1 << 20, quantization="Q4_1", error=error)


def test_a_rescan_adds_and_removes_rows_and_the_library_keeps_its_selected_model(qtbot) -> None:
    a, b, c = entry("a"), entry("b"), entry("c")
    models = ModelList([a, b])
    qt_model = ModelListModel(models)
    local = LocalModels()
    local.setSourceModel(qt_model)
    table = QTableView()
    qtbot.addWidget(table)
    table.setModel(local)
    table.setCurrentIndex(local.index(1, 0))  # the person chose b
    models.set_local([b, c])  # a deleted, c downloaded
    assert [local.index(r, 0).data(PATH_ROLE) for r in range(local.rowCount())] == [b.path, c.path]
    assert table.currentIndex().data(PATH_ROLE) == b.path, "a rescan lost the chosen model"


def test_one_model_serves_the_selector_the_library_and_compare(qtbot) -> None:
    good, broken, remote = entry("good"), entry("broken", "truncated"), entry("server-model")
    models = ModelList([good, broken], remote=[remote])
    qt_model = ModelListModel(models)
    local, comparable = LocalModels(), ComparableModels()
    local.setSourceModel(qt_model)
    comparable.setSourceModel(qt_model)
    extras = QStandardItemModel()
    open_file = QStandardItem("Open a GGUF file…")
    open_file.setData("__open__", Qt.ItemDataRole.UserRole)
    extras.appendRow(open_file)
    selector = QComboBox()
    qtbot.addWidget(selector)
    selector.setModel(selector_model(qt_model, extras))
    assert [selector.itemData(i) for i in range(selector.count())] == [good.path, broken.path, remote.path, "__open__"]
    assert selector.itemText(0) == "good  (Q4_1, 1.0 MB)" and selector.itemText(1).startswith("⚠ broken — truncated")
    assert local.rowCount() == 2  # no server's model in the library
    assert comparable.rowCount() == 1 and comparable.checked_paths() == [good.path]  # nothing broken to compare
    comparable.setData(comparable.index(0, 0), Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)
    newer = entry("newer")
    models.set_local([good, broken, newer])  # a download: it shows in all three at once
    assert selector.findData(newer.path) == 2 and local.rowCount() == 3
    assert comparable.checked_paths() == [newer.path], "the model left out of Compare came back checked"
