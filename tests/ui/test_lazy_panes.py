"""Write and Models are built after the window is on screen (a faster start), yet work the moment they are chosen.

The real window (real engine process, no model loaded): a pane not built yet is
built by its shortcut, wired to the window (title, status bar) and shown in place
of its placeholder; left alone, the panes not in view are built once the window
has painted itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from app.main import create_main_window
from app.ui.main_window import MainWindow
from app.ui.models.models_pane import ModelsPane
from app.ui.write.write_pane import WritePane


@pytest.fixture
def fresh(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    """A freshly started window, shown, whose panes out of view are built only when asked for."""
    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    window = create_main_window(load_model=False)
    qtbot.addWidget(window)
    window.lazy.stop_building()  # so that only the shortcut below can build them
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()


def _placeholders(window: MainWindow) -> list[str]:
    return [window.tabs.widget(i).objectName() for i in range(window.tabs.count())
            if window.tabs.widget(i).objectName().endswith("Placeholder")]


def test_ctrl_2_shows_a_working_write_pane_in_a_fresh_window(qtbot, fresh: MainWindow) -> None:
    window = fresh
    assert not window.lazy.is_built("write") and not window.lazy.is_built("models")
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ["Chat", "Write", "Models", "Train", "Tools"]

    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    pane = window.tabs.currentWidget()
    assert isinstance(pane, WritePane) and window.tabs.tabText(window.tabs.currentIndex()) == "Write"
    assert pane is window.write and window.tabs.indexOf(pane) == 1
    assert _placeholders(window) == ["modelsPlaceholder", "trainPlaceholder", "toolsPlaceholder"]
    qtbot.waitUntil(pane.editor.isVisible, timeout=5_000)
    # wired to the window as it was built: the Sampling panel shows this document's settings and the
    # window is named after the document's first line as it is typed
    assert window.sampling.settings == pane.sampling_owner().sampling
    pane.editor.setPlainText("The lighthouse keeper\nwrote every night.")
    qtbot.waitUntil(lambda: window.windowTitle() == "The lighthouse keeper — Inkling", timeout=5_000)
    window.stop_generating()  # the one Stop reaches the pane built late (nothing runs: no error)

    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    models = window.tabs.currentWidget()
    assert isinstance(models, ModelsPane) and models is window.models and _placeholders(window) == ["trainPlaceholder", "toolsPlaceholder"]
    assert window.connections is models.connections and models.tabs.tabText(models.tabs.count() - 1) == "Servers"
    qtbot.waitUntil(lambda: models.library_view.model().rowCount() > 0, timeout=10_000)  # the starter model, scanned

    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is pane  # built once: the same pane, its text kept
    assert pane.editor.toPlainText().startswith("The lighthouse keeper")


def test_panes_out_of_view_are_built_after_the_first_paint(qtbot, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    window = create_main_window(load_model=False)
    qtbot.addWidget(window)
    try:
        assert not window.lazy.is_built("write") and not window.lazy.is_built("models")  # not before the window
        window.show()
        qtbot.waitUntil(lambda: all(window.lazy.is_built(k) for k in ("write", "models", "train", "tools")), timeout=10_000)
        assert window.tabs.currentWidget() is window.chat  # built out of view: Chat stays in front
        assert _placeholders(window) == []
        assert all(isinstance(window.tabs.widget(i), QWidget) for i in range(3))
        assert window.storage.documents()  # Write opened (here: created) its document, as it did at start
    finally:
        window.close()
