"""Model ▸ Open on a file that is not a model: checked first, and the loaded model stays loaded."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog
from ui.conftest import send

from app.core.sampling import SamplingSettings
from app.ui.main_window import MainWindow


def _menu_action(window: MainWindow, text: str) -> QAction:
    for menu_action in window.menuBar().actions():
        for act in menu_action.menu().actions():
            if act.text() == text:
                return act
    raise AssertionError(text)


def test_opening_a_non_gguf_file_keeps_the_loaded_model_and_chat_answers(qtbot, window: MainWindow,
                                                                          tmp_path: Path, monkeypatch) -> None:
    bad = tmp_path / "notes.gguf"
    bad.write_text("These are my notes, not a model.\n" * 100, encoding="utf-8")
    loaded = window.bridge.info.path
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    opened = _menu_action(window, "Open model file…")
    assert opened.shortcut().toString() == "Ctrl+O"
    opened.trigger()
    qtbot.waitUntil(lambda: window.notice.isVisible(), timeout=10_000)
    assert "notes.gguf" in window.notice.label.text()
    qtbot.waitUntil(lambda: window.bridge.free, timeout=10_000)  # the engine's status follows on its own thread
    assert window.bridge.info.path == loaded  # nothing was unloaded
    assert window.model_selector.findData(str(bad)) < 0  # the bad file is not offered as a model
    assert window.model_selector.currentData() == loaded
    window.chat.set_sampling(SamplingSettings(temperature=0.0, max_tokens=8))
    fin = send(qtbot, window, "Hello")
    assert fin.reason in ("stop", "length") and fin.text, fin  # the chat keeps answering
    with qtbot.waitSignal(window.bridge.model_loaded, timeout=60_000):
        _menu_action(window, "Reload model").trigger()
    assert not window.notice.isVisible()  # the banner goes when a model loads


def test_a_load_the_engine_refuses_keeps_the_model_before_and_its_banner_clears(qtbot, window: MainWindow,
                                                                                 tmp_path: Path) -> None:
    loaded = window.bridge.info.path
    cut = tmp_path / "cut.gguf"  # a GGUF cut short: the engine refuses it (no header check in the window first)
    cut.write_bytes(Path(loaded).read_bytes()[: 4 * 1024 * 1024])
    with qtbot.waitSignal(window.bridge.model_failed, timeout=60_000):
        window.load_model(str(cut))  # as a library entry or a chat's remembered model would be
    assert window.notice.isVisible() and "cut.gguf" in window.notice.label.text()
    qtbot.waitUntil(lambda: window.bridge.free, timeout=10_000)
    assert window.bridge.info.path == loaded  # the model before stays
    assert window.model_selector.findData(str(cut)) < 0 and window.model_selector.currentData() == loaded
    window.chat.set_sampling(SamplingSettings(temperature=0.0, max_tokens=8))
    fin = send(qtbot, window, "Hello")  # the engine loads the model before again, and answers
    assert fin.reason in ("stop", "length") and fin.text, fin
    with qtbot.waitSignal(window.bridge.model_loaded, timeout=60_000):
        window.load_model(loaded)
    assert not window.notice.isVisible(), window.notice.label.text()  # the problem is gone, and so is its banner
