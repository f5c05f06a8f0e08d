"""Connections in the real window: add a server, see its badges, pick its model, get a chat reply."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from remote_server import API_KEY, LlamaServer
from ui.conftest import open_window, send

from app.core.connections import remote_ref
from app.core.paths import app_paths
from app.core.sampling import SamplingSettings

pytestmark = pytest.mark.model


def test_add_a_connection_pick_its_model_and_chat(qtbot: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  llama_server: LlamaServer) -> None:
    window = open_window(qtbot, tmp_path / "home", monkeypatch)
    local_pid = window.engine.pid  # type: ignore[attr-defined]
    view = window.connections  # type: ignore[attr-defined]
    window.tabs.setCurrentWidget(window.models)  # type: ignore[attr-defined]
    window.models.tabs.setCurrentWidget(view)  # type: ignore[attr-defined]
    assert view.findChild(object, "connectionUrlEdit") is view.url_edit
    qtbot.keyClicks(view.name_edit, "test box")  # type: ignore[attr-defined]
    qtbot.keyClicks(view.url_edit, llama_server.url)  # type: ignore[attr-defined]
    qtbot.keyClicks(view.key_edit, API_KEY)  # type: ignore[attr-defined]
    with qtbot.waitSignal(view.test_finished, timeout=90_000) as tested:  # type: ignore[attr-defined]
        view.add_button.click()
    assert tested.args[1] is True, view.status.text()
    badges = view.badge_data()
    assert badges["alternatives"] == ("✓ Token probabilities", True)
    assert badges["raw_completion"][1]
    assert badges["scoring"] == ("✗ Scoring (echo)", False) and "misaligned" in view.badges["scoring"].toolTip()
    assert "llama-cpp-python server" in view.status.text()

    conn = view.connections[0]
    ref = remote_ref(conn.id, llama_server.model)
    selector = window.model_selector
    index = selector.findData(ref)
    assert index >= 0 and selector.itemText(index).endswith("· test box")
    assert selector.findData(str(window.bridge.info.path)) >= 0  # local models are still listed
    selector.setCurrentIndex(index)
    selector.activated.emit(index)
    qtbot.waitUntil(lambda: window.bridge.free and window.bridge.info is not None  # type: ignore[attr-defined]
                    and window.bridge.info.path == ref, timeout=60_000)
    assert "server" in window.engine_status.text()

    window.tabs.setCurrentWidget(window.chat)
    window.chat.set_sampling(SamplingSettings(max_tokens=12, logit_bias=((2, -100.0),)), "Balanced")
    fin = send(qtbot, window, "Hello there!")
    assert fin.reason in ("stop", "length") and fin.text.strip()  # type: ignore[attr-defined]
    saved = window.storage.messages(window.chat.conversation.id)[-1]
    assert saved.role == "assistant" and saved.status == "done" and saved.content == fin.text  # type: ignore[attr-defined]
    assert window.chat.conversation.model_path == ref  # the chat remembers the connection and model
    assert window.engine.pid == local_pid and window.engine.info is not None  # type: ignore[attr-defined]

    paths = app_paths()
    assert stat.S_IMODE(paths.connection_secrets.stat().st_mode) == 0o600
    assert API_KEY in paths.connection_secrets.read_text()
    assert API_KEY not in paths.connections.read_text()
    assert json.loads(paths.connections.read_text())["connections"][0]["models"] == [llama_server.model]
    for log in paths.logs.glob("*.log"):
        assert API_KEY not in log.read_text(errors="replace")
    window.close()


def test_a_bad_address_says_why_in_the_pane(qtbot: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window = open_window(qtbot, tmp_path / "home", monkeypatch, wait_model=False)
    view = window.connections  # type: ignore[attr-defined]
    view.url_edit.setText("http://127.0.0.1:9/v1")
    view.key_edit.setText("sk-secret-abcdef")
    with qtbot.waitSignal(view.test_finished, timeout=30_000) as tested:  # type: ignore[attr-defined]
        view.add_button.click()
    assert tested.args[1] is False
    assert "can't connect" in view.status.text() and "sk-secret-abcdef" not in view.status.text()
    window.close()
