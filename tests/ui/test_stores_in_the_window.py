"""The stores are the only writers and every view follows them: presets, servers and the model list.

- A preset renamed in one pane is the preset of every chat and document that used it: the Write
  pane's selector shows the new name, unmodified, and the stored document says so too (before, the
  other pane showed no preset and "(modified)", and its row kept the old name).
- A preset saved, renamed, deleted or imported anywhere shows in the selector at once (it follows
  the store's announcements, not the call that made the change).
- The Servers tab writes nothing itself: a test that ends after its connection was moved to another
  address does not put the old server's models on it (before, the old server's list was saved).
- One model list: a model imported in the Models pane appears in the model selector, the library
  table and Compare's list in the same turn, and a model the person left out of Compare stays out
  when the list changes (before, every refill checked every model again).
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from ui.conftest import open_window

from app.core.capabilities import LOCAL
from app.core.connections import Connection, ConnectionStore
from app.ui.main_window import MainWindow
from app.ui.models.connections_view import ConnectionsView


def _preset_shown(window: MainWindow) -> tuple[str, str]:
    panel = window.sampling
    return panel.preset_combo.currentText(), panel.modified_label.text()


def _choose(window: MainWindow, name: str) -> None:
    combo = window.sampling.preset_combo
    index = combo.findData(name)
    assert index >= 0, f"{name} is not in the preset selector"
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_a_preset_renamed_in_chat_is_renamed_for_the_document_that_uses_it(qtbot, fake_engine_window) -> None:
    window = fake_engine_window
    panel = window.sampling
    panel.controls["temperature"].slider.setValue(35)
    panel.save_preset("My style")  # Presets ▸ Save as new preset… (the dialog gives the name)
    window.tabs.setCurrentWidget(window.write)
    _choose(window, "My style")
    assert window.write.preset == "My style" and _preset_shown(window) == ("My style", "")

    window.tabs.setCurrentWidget(window.chat)
    panel.rename_preset("House style")  # Presets ▸ Rename preset…
    assert _preset_shown(window) == ("House style", "")

    window.tabs.setCurrentWidget(window.write)
    assert _preset_shown(window) == ("House style", ""), "the document still names the preset by its old name"
    assert window.write.preset == "House style"
    doc = window.write.session
    assert window.storage.document(doc.id).preset == "House style"


def test_the_selector_follows_the_store_whoever_changes_it(qtbot, fake_engine_window) -> None:
    window = fake_engine_window
    combo = window.sampling.preset_combo
    names = lambda: [combo.itemData(i) for i in range(combo.count())]  # noqa: E731
    window.presets.save("Made elsewhere", window.chat.sampling)  # not through the panel
    assert "Made elsewhere" in names()
    window.presets.rename("Made elsewhere", "Renamed elsewhere")
    assert "Renamed elsewhere" in names() and "Made elsewhere" not in names()
    window.presets.delete("Renamed elsewhere")
    assert "Renamed elsewhere" not in names()


def test_a_server_test_that_ends_after_the_address_changed_lists_nothing_from_the_old_server(
        qtbot, tmp_path: Path) -> None:
    store = ConnectionStore(tmp_path / "connections.json", tmp_path / "secrets.json")
    asked: list[tuple[Connection, Future]] = []

    def tester(conn: Connection) -> Future:  # a server that answers when the test says so
        future: Future = Future()
        asked.append((conn, future))
        return future

    view = ConnectionsView(store, tester)
    qtbot.addWidget(view)
    view.name_edit.setText("box")
    view.url_edit.setText("http://old-box:8000")
    view.add_button.click()  # Add tests at once
    view.url_edit.setText("http://new-box:8000")
    view.save_button.click()  # and so does Save changes, while the first test still runs
    assert [conn.base_url for conn, _ in asked] == ["http://old-box:8000/v1", "http://new-box:8000/v1"]

    asked[0][1].set_result((["old-model"], LOCAL))
    QCoreApplication.processEvents()
    saved = ConnectionStore(store.path, store.secrets_path).load()
    assert [c.models for c in saved] == [()], "the old server's models were saved on the moved connection"
    with qtbot.waitSignal(view.test_finished, timeout=5_000) as done:
        asked[1][1].set_result((["new-model"], LOCAL))
    assert done.args[1] is True and view.connections[0].models == ("new-model",)
    assert "new-model" in view.list_view.item(0).text() and view.test_button.isEnabled()


def test_an_imported_model_appears_in_the_selector_the_library_and_compare_at_once(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, starter_path: Path) -> None:
    import app.ui.models.library_view as models_pane

    window = open_window(qtbot, tmp_path / "home", monkeypatch, wait_model=False)
    pane = window.models
    window.tabs.setCurrentWidget(pane)
    compare = pane.compare_models.model()
    library = pane.library_view.model()
    qtbot.waitUntil(lambda: compare.rowCount() == 1, timeout=10_000)  # the starter model, scanned
    compare.setData(compare.index(0, 0), Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)  # left out
    starter = compare.index(0, 0).data(Qt.ItemDataRole.UserRole)

    second = tmp_path / "second.gguf"
    second.write_bytes(starter_path.read_bytes())
    monkeypatch.setattr(models_pane.QFileDialog, "getOpenFileNames", lambda *_a: ([str(second)], ""))
    pane.ask_copy = lambda _path: True  # "Copy it into Inkling's folder?" Yes
    pane.import_button.click()

    def where_shown() -> tuple[bool, bool, bool]:
        named = lambda path: Path(str(path)).name == "second.gguf"  # noqa: E731
        selector = window.model_selector
        return (any(named(selector.itemData(i)) for i in range(selector.count())),
                any(named(library.index(r, 7).data()) for r in range(library.rowCount())),
                any(named(compare.index(i, 0).data(Qt.ItemDataRole.UserRole)) for i in range(compare.rowCount())))

    qtbot.waitUntil(lambda: any(where_shown()), timeout=20_000)
    assert where_shown() == (True, True, True), "the views are filled one after another, not from one list"
    assert window.entries == pane.entries  # one list (no servers here): the selector's and the library's
    states = {compare.index(i, 0).data(Qt.ItemDataRole.UserRole):
              Qt.CheckState(compare.index(i, 0).data(Qt.ItemDataRole.CheckStateRole)) for i in range(compare.rowCount())}
    assert states[starter] == Qt.CheckState.Unchecked, "the model left out of Compare was checked again"
    assert sum(state == Qt.CheckState.Checked for state in states.values()) == 1  # the new one joins, checked
    window.close()


def test_a_folder_with_no_models_yet_is_remembered(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The list announces only what changed; the folder is remembered after every scan all the same."""
    import app.ui.models.library_view as models_pane
    from app.core.paths import app_paths
    from app.core.preferences import Preferences

    window = open_window(qtbot, tmp_path / "home", monkeypatch, wait_model=False)
    pane = window.models
    empty = tmp_path / "models-to-come"
    empty.mkdir()
    monkeypatch.setattr(models_pane.QFileDialog, "getExistingDirectory", lambda *_a: str(empty))
    pane.folder_button.click()  # Add folder…
    qtbot.waitUntil(lambda: str(empty) in Preferences.load(app_paths().preferences).model_folders, timeout=20_000)
    window.close()
