"""The engine's troubles through the real window: a frozen engine doesn't leave Regenerate hanging,
and a CPU variant that crashed shows in the status bar and in About."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from ui.conftest import open_window, send

from app.core.sampling import SamplingSettings
from app.ui.about import AboutDialog
from app.ui.main_window import MainWindow

SHORT = SamplingSettings(temperature=0.0, max_tokens=12)


def test_regenerate_on_an_engine_frozen_while_idle_is_answered_by_a_new_engine(qtbot, window: MainWindow) -> None:
    chat = window.chat
    chat.set_sampling(SHORT)
    first = send(qtbot, window, "Say hello.")
    assert first.text.strip()
    frozen = window.engine.pid
    assert frozen is not None
    os.kill(frozen, signal.SIGSTOP)  # frozen after the reply ended: nothing is running to notice it
    try:
        started = time.monotonic()
        with qtbot.waitSignal(chat.reply_finished, timeout=60_000) as done:
            qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # Regenerate (Ctrl+R)
        elapsed = time.monotonic() - started
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(frozen, signal.SIGKILL)  # dead whatever happened: a stopped child would hang pytest's exit
    print(f"\nRegenerate on a frozen engine answered in {elapsed:.1f} s")
    fin = done.args[0]
    assert fin.reason in ("stop", "length") and fin.text.strip(), fin
    assert elapsed < 20, f"Regenerate waited {elapsed:.1f} s on a frozen engine"
    assert window.engine.pid not in (None, frozen)
    assert chat.path[-1].status == "done"


def test_a_crashed_cpu_variant_shows_in_the_status_bar_and_about(qtbot, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INKLING_FAKE_CPU_VARIANTS", "sapphirerapids,zen4,haswell")
    monkeypatch.setenv("INKLING_FAULT_ON_COMPUTE", "segv:sapphirerapids")
    window = open_window(qtbot, tmp_path / "home", monkeypatch)
    try:
        window.chat.set_sampling(SHORT)
        fin = send(qtbot, window, "Say hello.")
        assert fin.text.strip(), fin  # answered, on the next variant
        qtbot.waitUntil(lambda: window.bridge.free, timeout=10_000)
        status = window.engine_status
        assert "CPU (zen4; sapphirerapids skipped)" in status.text(), status.text()
        assert "sapphirerapids skipped: it crashed (SIGSEGV)" in status.toolTip(), status.toolTip()

        window.show_about()
        dialog = window.findChild(AboutDialog, "aboutDialog")
        assert dialog is not None
        field = dialog.fields["cpu_variant"]
        qtbot.waitUntil(lambda: not field.text().startswith("asking"), timeout=60_000)
        assert field.text().startswith("zen4"), field.text()
        assert "sapphirerapids skipped: it crashed (SIGSEGV) in its first compute" in field.text(), field.text()
        dialog.close()
    finally:
        window.close()


def test_a_build_that_crashes_on_every_reply_gets_its_verdict_in_the_window(qtbot, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INKLING_FAULT_ON_COMPUTE", "segv")  # what the AMX build did on that machine
    window = open_window(qtbot, tmp_path / "home", monkeypatch)
    try:
        window.chat.set_sampling(SHORT)
        fin = send(qtbot, window, "Say hello.")
        assert fin.reason == "error" and fin.error.startswith("This build of llama.cpp crashes on this computer"), fin
        assert "`inkling selftest`" in fin.error and "CMAKE_ARGS=" in fin.error
        again = send(qtbot, window, "Say hello again.")
        assert again.reason == "error" and again.error == fin.error  # the verdict, not another crash
        assert window.engine.local.crashes == 2 and window.engine.pid is None  # no third engine
    finally:
        window.close()


RELOADING = "Reloading the model after a crash…"


def test_a_reload_after_a_crash_says_reloading_not_writing(qtbot, window: MainWindow) -> None:
    """The engine killed while idle: the next message waits for a new engine and the model; the window says so."""
    chat = window.chat
    chat.set_sampling(SHORT)
    first = send(qtbot, window, "Say hello.")
    assert first.text.strip()
    crashed = window.engine.pid
    assert crashed is not None
    os.kill(crashed, signal.SIGKILL)  # a crash nobody asked for, while nothing runs
    chat.composer.setPlainText("Say hello again.")
    with qtbot.waitSignal(chat.reply_finished, timeout=120_000) as done:
        chat.send_button.click()

        def reloading_shown() -> bool:
            bubble = chat.reply.widget if chat.reply is not None else None
            return (RELOADING in window.engine_status.text()
                    and bubble is not None and RELOADING in bubble.status_label.text())

        qtbot.waitUntil(reloading_shown, timeout=60_000)
        assert "writing" not in window.engine_status.text().lower()
    fin = done.args[0]
    assert fin.reason in ("stop", "length") and fin.text.strip(), fin
    assert window.engine.pid not in (None, crashed)
    qtbot.waitUntil(lambda: RELOADING not in window.engine_status.text(), timeout=10_000)
