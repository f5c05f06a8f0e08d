"""The window says "automatic" threads only where the engine really tunes them.

Real window, real engine and model. With no count pinned the status bar says the
threads are automatic and the Sampling pane's CPU threads field reads "automatic";
with ``INKLING_THREADS`` set (as the test suite does) both name the pinned count.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QSpinBox
from ui.conftest import open_window

from app.core.system import THREADS_ENV


def _threads_field(window: object) -> QSpinBox:
    spin = window.findChild(QSpinBox, "threadsSpin")  # type: ignore[attr-defined]
    assert spin is not None
    return spin


def test_automatic_threads_are_called_automatic_where_the_engine_tunes_them(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)  # before the engine process starts: it inherits this
    window = open_window(qtbot, tmp_path / "home", monkeypatch)
    try:
        assert window.bridge.info is not None and window.bridge.info.threads_automatic
        assert "CPU, threads automatic" in window.engine_status.text()
        spin = _threads_field(window)
        assert spin.value() == 0 and spin.text() == "automatic"
        assert "fewer threads while other programs keep the cores busy" in spin.toolTip()
    finally:
        window.close()


def test_a_pinned_count_is_named_not_called_automatic(qtbot, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(THREADS_ENV, "1")
    window = open_window(qtbot, tmp_path / "home", monkeypatch)
    try:
        assert window.bridge.info is not None and not window.bridge.info.threads_automatic
        assert "CPU, 1 thread" in window.engine_status.text()
        assert _threads_field(window).text() == "1 (INKLING_THREADS)"
    finally:
        window.close()
