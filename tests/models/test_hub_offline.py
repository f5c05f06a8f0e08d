"""Searching the Hub without a network: a busy sign and Cancel, and "offline" said at once in plain words."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from ui.conftest import open_window

from app.core.errors import HubUnreachable
from app.models.hub import HubClient
from app.ui import jobs


@pytest.fixture
def window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    win = open_window(qtbot, tmp_path / "home", monkeypatch, wait_model=False)
    yield win
    win.close()


def test_a_name_that_does_not_resolve_is_offline_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")  # .invalid never resolves (RFC 2606)
    started = time.monotonic()
    with pytest.raises(HubUnreachable) as caught:
        HubClient().search("llama")
    assert time.monotonic() - started < 5  # huggingface_hub alone retries for ~23 s
    assert "offline" in str(caught.value) and "import a GGUF file" in str(caught.value)


def test_hub_search_offline_shows_busy_then_offline_with_import_offered(qtbot, window, monkeypatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")
    pane = window.models
    window.tabs.setCurrentWidget(pane)
    pane.tabs.setCurrentIndex(1)
    pane.search_input.setText("llama")
    started = time.monotonic()
    with qtbot.waitSignal(pane.search_finished, timeout=10_000):
        pane.search_button.click()
        assert pane.search_busy.isVisible() and pane.search_cancel_button.isVisible()  # a busy sign at once
    assert time.monotonic() - started < 5
    assert not pane.search_busy.isVisible() and not pane.search_cancel_button.isVisible()
    notice = pane.offline_label.text()
    assert pane.offline_row.isVisible() and "offline" in notice and "Errno" not in notice and "Error" not in notice
    assert pane.hub_import_button.isVisible() and pane.hub_import_button.text() == "Import a GGUF file…"
    assert pane.search_button.isEnabled()


def test_cancel_stops_waiting_for_a_slow_hub(qtbot, window) -> None:
    pane = window.models
    window.tabs.setCurrentWidget(pane)
    pane.tabs.setCurrentIndex(1)
    release = threading.Event()
    rows = pane.results_view.count()

    def slow_search(query: str, sort: str) -> list:  # a Hub that does not answer (yet)
        release.wait(20)
        raise AssertionError("this answer must be dropped")

    pane.manager.search = slow_search  # type: ignore[method-assign]
    pane.search_input.setText("llama")
    pane.search_button.click()
    assert pane.search_busy.isVisible()
    pane.search_cancel_button.click()
    assert not pane.search_busy.isVisible() and pane.search_button.isEnabled()
    release.set()
    QThreadPool.globalInstance().waitForDone(10_000)
    qtbot.waitUntil(lambda: not jobs._live, timeout=5_000)  # the late answer arrived (and was dropped)
    assert pane.results_view.count() == rows and "⚠" not in pane.repo_label.text()
