"""Sessions through the real window with the starter model: settings survive a restart, nothing is refused.

Each chat and document keeps its own sampling settings in SQLite; a new window on
the same INKLING_HOME must show them on the sliders again (not the defaults), and
the first slider move after a restart must not overwrite the rest of them.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSlider
from ui.conftest import open_window, send

from app.core.engine_status import EnginePhase
from app.core.sampling import SamplingSettings
from app.ui.main_window import MainWindow

SHORT = SamplingSettings(temperature=0.0, max_tokens=24)
# a reply that cannot end by itself: no end-of-text / end-of-turn tokens, many tokens allowed
ENDLESS = SamplingSettings(temperature=0.9, max_tokens=2000, seed=3, logit_bias=((0, -100.0), (1, -100.0), (2, -100.0)))


def _slider(window: MainWindow, name: str) -> QSlider:
    slider = window.findChild(QSlider, name)
    assert slider is not None, name
    return slider


def test_a_chats_and_a_documents_sampling_settings_survive_a_restart(qtbot, tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    first = open_window(qtbot, home, monkeypatch)
    _slider(first, "temperatureSlider").setValue(20)  # the chat: 0.20, as a drag ends
    _slider(first, "topPSlider").setValue(80)
    assert first.chat.sampling.temperature == pytest.approx(0.2)
    first.tabs.setCurrentWidget(first.write)
    _slider(first, "temperatureSlider").setValue(135)  # the document: 1.35
    assert first.write.sampling.temperature == pytest.approx(1.35)
    first.tabs.setCurrentWidget(first.chat)
    first.close()

    second = open_window(qtbot, home, monkeypatch)
    assert _slider(second, "temperatureSlider").value() == 20  # the chat's own, not the 0.70 default
    assert _slider(second, "topPSlider").value() == 80
    _slider(second, "minPSlider").setValue(10)  # the first move after a restart keeps the rest
    second.tabs.setCurrentWidget(second.write)
    assert _slider(second, "temperatureSlider").value() == 135  # the document's own
    second.tabs.setCurrentWidget(second.chat)
    assert _slider(second, "temperatureSlider").value() == 20
    second.close()

    third = open_window(qtbot, home, monkeypatch, wait_model=False)
    assert third.chat.sampling.temperature == pytest.approx(0.2)
    assert third.chat.sampling.top_p == pytest.approx(0.8) and third.chat.sampling.min_p == pytest.approx(0.1)
    third.close()


def test_a_message_sent_before_the_model_has_loaded_is_answered_once_it_has(qtbot, tmp_path: Path,
                                                                              monkeypatch) -> None:
    window = open_window(qtbot, tmp_path / "home", monkeypatch, wait_model=False)
    assert window.bridge.status.phase is EnginePhase.LOADING  # sent during the load, not after it
    window.chat.set_sampling(SHORT)
    fin = send(qtbot, window, "Say hello.")
    assert fin.reason in ("stop", "length") and fin.text.strip(), fin
    saved = window.storage.messages(window.chat.session.id)
    assert [(m.role, m.status) for m in saved] == [("user", "done"), ("assistant", "done")]
    qtbot.waitUntil(lambda: window.bridge.free, timeout=10_000)
    window.close()


def test_regenerate_after_a_frozen_engine_is_killed_answers_with_the_same_model(qtbot, window: MainWindow,
                                                                                starter_path: Path) -> None:
    chat = window.chat
    chat.set_sampling(ENDLESS)
    chat.composer.setPlainText("Write a long story about a lighthouse keeper.")
    chat.send_button.click()
    qtbot.waitUntil(lambda: chat.reply is not None and len(chat.reply.text) > 40, timeout=60_000)
    frozen = window.engine.pid
    assert frozen is not None
    stopped = chat.reply.reply.message.id
    os.kill(frozen, signal.SIGSTOP)
    try:
        chat.set_sampling(SHORT)
        with qtbot.waitSignal(chat.reply_finished, timeout=60_000) as done:
            qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # Regenerate (Ctrl+R)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(frozen, signal.SIGCONT)
    fin = done.args[0]
    assert fin.reason in ("stop", "length") and fin.text.strip(), fin
    assert window.engine.pid != frozen  # the frozen engine was killed and a new one answered
    assert window.bridge.info is not None and window.bridge.info.path == str(starter_path)
    saved = {m.id: m for m in window.storage.messages(chat.session.id)}
    assert saved[stopped].status == "stopped" and len(saved[stopped].content) > 40  # the frozen reply's text is kept
    newest = chat.path[-1]
    assert newest.id != stopped and newest.status == "done" and "No model" not in str(newest.stats)
