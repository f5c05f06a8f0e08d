"""Adapters in the window: picked per chat in the Sampling panel, switched on the loaded model (no reload).

The real window over the real engine with the starter model, and LoRA adapters written as GGUF
for it (random B, so they change what it writes; see tests/train/conftest.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from app.core.capabilities import Capabilities
from app.core.sampling import SamplingSettings
from app.ui.errors import ErrorPresenter
from app.ui.main_window import MainWindow
from tests.train.conftest import needs_extra, random_adapter
from tests.ui.conftest import open_window, send

pytestmark = [needs_extra, pytest.mark.model]

GREEDY = SamplingSettings(temperature=0.0, max_tokens=12, seed=1)
PROMPT = "Tell me about the old lighthouse."


def _config(starter_path: Path) -> Any:  # the training stack's LlamaConfig
    import gguf

    from app.train.model import read_config

    return read_config(gguf.GGUFReader(str(starter_path)), starter_path)


def _reply(qtbot, window: MainWindow) -> str:
    """A fresh chat's greedy reply to PROMPT, with the adapter of the chat before (a new chat starts without)."""
    before = window.chat.sampling
    window.chat.new_conversation()
    window.chat.set_sampling(GREEDY.replace(adapter=before.adapter, adapter_scale=before.adapter_scale))
    window.sampling.show_settings(window.chat.sampling)
    send(qtbot, window, PROMPT)
    return window.chat.session.history()[-1]["content"]


def _pick(qtbot, window: MainWindow, path: str, scale: float = 1.0) -> None:
    """Pick ``path`` in the panel's adapter combo as a person does, and wait for the engine's answer."""
    picker = window.sampling.adapter_picker
    picker.slider.setValue(round(scale * 100))
    picker._slider_timer.stop()
    with qtbot.waitSignal(window.bridge.adapter_switched, timeout=30_000):
        index = picker.combo.findData(path)
        assert index >= 0, f"{path} is not in the adapter combo"
        picker.combo.setCurrentIndex(index)
        picker.combo.activated.emit(index)


def test_an_adapter_picked_in_the_window_changes_the_reply_without_a_reload(
        qtbot, tmp_path: Path, monkeypatch, starter_path: Path) -> None:
    home = tmp_path / "home"
    folder = home / "data" / "models" / "adapters"
    folder.mkdir(parents=True)
    cfg = _config(starter_path)
    mine = folder / "lighthouse.gguf"
    random_adapter(cfg, mine, starter_path, seed=11, strength=0.3)
    other = folder / "other-base.gguf"  # made for another model: refused
    random_adapter(dataclasses.replace(cfg, name="Tinyllama 1.1B Chat"), other, starter_path, seed=3)

    window = open_window(qtbot, home, monkeypatch)
    try:
        pid = window.bridge.engine.pid
        assert window.sampling.adapter_picker.combo.findData(str(mine)) > 0, "the library's adapter is listed"
        base = _reply(qtbot, window)

        _pick(qtbot, window, str(mine), 1.0)
        assert window.chat.sampling.adapter == str(mine), "the chat keeps the adapter it was given"
        message = window.statusBar().currentMessage()
        assert message == "Adapter lighthouse on (strength 1); the prompt cache was cleared", message
        adapted = _reply(qtbot, window)
        assert adapted != base, f"the adapter changed nothing: {base!r}"
        assert window.bridge.engine.pid == pid, "a switch must not restart the engine"

        # a wrong-base adapter in the library: refused with the reason, the previous choice stays
        shown: list[BaseException] = []
        monkeypatch.setattr(ErrorPresenter, "present", lambda self, exc: shown.append(exc))
        combo = window.sampling.adapter_picker.combo
        with qtbot.waitSignal(window.bridge.adapter_refused, timeout=30_000):
            combo.setCurrentIndex(combo.findData(str(other)))
            combo.activated.emit(combo.currentIndex())
        assert shown and "made for 'Tinyllama 1.1B Chat'" in str(shown[-1]), shown
        assert window.chat.sampling.adapter == str(mine)
        assert window.sampling.adapter_picker.combo.currentData() == str(mine)
        assert _reply(qtbot, window) == adapted, "the refused adapter changed what is on the model"

        _pick(qtbot, window, "", 1.0)  # None: the base model again
        assert window.statusBar().currentMessage().startswith("Adapter off"), window.statusBar().currentMessage()
        assert _reply(qtbot, window) == base
        assert window.bridge.engine.pid == pid
    finally:
        window.close()


def test_the_chats_adapter_is_saved_and_put_on_before_its_next_request(
        qtbot, tmp_path: Path, monkeypatch, starter_path: Path) -> None:
    home = tmp_path / "home"
    folder = home / "data" / "models" / "adapters"
    folder.mkdir(parents=True)
    mine = folder / "saved.gguf"
    random_adapter(_config(starter_path), mine, starter_path, seed=11, strength=0.3)
    first = open_window(qtbot, home, monkeypatch)
    _pick(qtbot, first, str(mine), 0.5)
    assert first.chat.sampling.adapter == str(mine) and first.chat.sampling.adapter_scale == 0.5
    first.close()

    second = open_window(qtbot, home, monkeypatch)
    try:
        assert second.chat.sampling.adapter == str(mine) and second.chat.sampling.adapter_scale == 0.5
        assert second.sampling.adapter_picker.combo.currentData() == str(mine)
        assert second.bridge.adapter == ("", 1.0)  # a fresh engine has none until the chat's next request
        with qtbot.waitSignal(second.bridge.adapter_switched, timeout=30_000):
            send(qtbot, second, PROMPT)
        assert second.bridge.adapter == (str(mine), 0.5)
    finally:
        second.close()


def test_a_server_refuses_an_adapter_with_the_reason() -> None:
    from app.engine.openai_api import samplers_of

    caps = Capabilities(server="llama.cpp", samplers=samplers_of("llama.cpp"))
    assert not caps.adapters and "server loads its own adapters" in caps.why_not("adapters")
    assert Capabilities().adapters and caps.not_applied(SamplingSettings(adapter="/x.gguf")) == ("adapter",)


def test_each_chat_and_document_has_its_own_adapter_put_on_before_its_request(qtbot, fake_engine_window) -> None:
    window = fake_engine_window
    engine = window.bridge.engine
    window.bridge.load("/fake.gguf")
    qtbot.waitUntil(lambda: window.bridge.free, timeout=10_000)
    window.tabs.setCurrentWidget(window.chat)
    with qtbot.waitSignal(window.bridge.adapter_switched, timeout=10_000):
        window.sampling.adapter_picker.choose("/library/poet.gguf", 0.7)
    assert window.chat.sampling.adapter == "/library/poet.gguf" and engine.adapter == ("/library/poet.gguf", 0.7)

    window.tabs.setCurrentWidget(window.write)  # the document has none: the panel shows its own
    assert window.sampling.adapter_picker.combo.currentData() == "" and window.write.sampling.adapter == ""
    window.write.editor.setPlainText("Once")
    with qtbot.waitSignal(window.bridge.adapter_switched, timeout=10_000):
        window.write.continue_at_cursor()
    assert engine.adapter == ("", 1.0), "the document's request went out with the chat's adapter on"
    qtbot.waitUntil(lambda: not window.bridge.busy, timeout=10_000)

    window.tabs.setCurrentWidget(window.chat)
    assert window.sampling.adapter_picker.combo.currentData() == "/library/poet.gguf"
    assert window.sampling.adapter_picker.slider.value() == 70
