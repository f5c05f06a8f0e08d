"""Launching Inkling: file arguments, one instance per data folder, first-run welcome, About, quitting mid-reply."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QWidget
from ui.conftest import send

from app.__main__ import _gui_parser
from app.core.sampling import SamplingSettings
from app.core.storage import Storage
from app.main import create_main_window, serve_later_launches
from app.ui.about import AboutDialog
from app.ui.main_window import MainWindow
from app.ui.single_instance import SingleInstance, hand_over, server_name

ROOT = Path(__file__).resolve().parents[2]


def _model_copy(starter_path: Path, folder: Path) -> Path:
    """The starter model under another name, in a folder with a space (a symlink: no 98 MB copy)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "My Model.gguf"
    target.symlink_to(starter_path)
    return target


def _window(qtbot, home: Path, monkeypatch: pytest.MonkeyPatch, files: list[str] | None = None) -> MainWindow:
    monkeypatch.setenv("INKLING_HOME", str(home))
    window = create_main_window(files=files)
    qtbot.addWidget(window)
    window.show()
    return window


def test_command_line_takes_model_files_and_keeps_the_commands() -> None:
    assert _gui_parser().parse_known_args(["a.gguf", "b c.gguf"])[0].files == ["a.gguf", "b c.gguf"]
    out = subprocess.run([sys.executable, "-m", "app", "selftest", "--help"], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert out.returncode == 0 and "--info" in out.stdout


def test_a_gguf_argument_is_loaded_and_its_folder_added(qtbot, tmp_path: Path, monkeypatch, starter_path: Path) -> None:
    model = _model_copy(starter_path, tmp_path / "my models")
    window = _window(qtbot, tmp_path / "home", monkeypatch, files=[str(model), str(tmp_path / "notes.txt")])
    try:
        qtbot.waitUntil(lambda: window.bridge.info is not None and window.bridge.info.path == str(model), timeout=60_000)
        assert model.parent in window.models.manager.library.extra_folders
        assert "not a GGUF model file" in window.notice.label.text()
        assert window.prefs.model_path == str(model)
    finally:
        window.close()


def test_a_second_launch_hands_over_its_file_and_focuses_the_first_window(
        qtbot, tmp_path: Path, monkeypatch, starter_path: Path) -> None:
    home = tmp_path / "home"
    window = _window(qtbot, home, monkeypatch)
    other = QWidget()
    qtbot.addWidget(other)
    try:
        qtbot.waitUntil(lambda: window.bridge.free, timeout=60_000)
        instance = serve_later_launches(window, server_name(window.paths.data))
        assert instance.server.isListening()
        other.show()
        other.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is other, timeout=5_000)
        model = _model_copy(starter_path, tmp_path / "dl")
        env = {**os.environ, "INKLING_HOME": str(home), "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
        started = time.monotonic()
        second = subprocess.Popen([sys.executable, "-m", "app", str(model)], env=env, cwd=ROOT)
        with qtbot.waitSignal(instance.files_received, timeout=60_000) as got:
            pass
        assert got.args[0] == [str(model)]
        assert second.wait(timeout=60) == 0  # the second launch quits instead of opening a window
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
        qtbot.waitUntil(lambda: window.bridge.info is not None and window.bridge.info.path == str(model), timeout=60_000)
        assert time.monotonic() - started < 60
    finally:
        window.close()


def test_hand_over_finds_nobody_when_no_instance_runs(qtbot, tmp_path: Path) -> None:
    assert hand_over(server_name(tmp_path / "nobody"), ["x.gguf"], timeout_ms=300) is False
    first = SingleInstance(server_name(tmp_path / "one"))
    assert first.listen()
    second = SingleInstance(server_name(tmp_path / "one"))
    assert not second.listen()  # the first is alive: its socket is not stolen
    first.close()
    second.close()


def test_first_run_welcome_until_the_first_reply(qtbot, tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    window = _window(qtbot, home, monkeypatch)
    try:
        welcome = window.findChild(QWidget, "welcomePanel")
        assert welcome is not None and welcome.isVisible()
        text = welcome.findChild(QWidget, "welcomeText").text()
        assert "leaves" in text and "starter model" in text
        welcome.findChild(QWidget, "welcomeModelsButton").click()
        assert window.tabs.tabText(window.tabs.currentIndex()) == "Models"
        window.tabs.setCurrentIndex(0)
        qtbot.waitUntil(lambda: window.bridge.free, timeout=60_000)
        window.chat.set_sampling(SamplingSettings(temperature=0.0, max_tokens=4))
        send(qtbot, window, "Hi")
        assert not welcome.isVisible()
    finally:
        window.close()
    again = _window(qtbot, home, monkeypatch)
    try:
        assert again.findChild(QWidget, "welcomePanel") is None  # not the first run any more
    finally:
        again.close()


def test_about_shows_versions_cpu_backend_and_folders(qtbot, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    from app.core.paths import app_paths

    paths = app_paths().ensure()
    dialog = AboutDialog(paths, None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.fields["cpu_variant"].text().startswith("asking"), timeout=60_000)
    assert "ggml" in dialog.fields["llama_cpp"].text(), dialog.fields["llama_cpp"].text()
    assert dialog.fields["gpu"].text().startswith(("yes", "no"))
    assert dialog.fields["cpu_variant"].text() and "unknown" not in dialog.fields["cpu_variant"].text()
    assert dialog.fields["qt"].text() and dialog.fields["python"].text().startswith(sys.version.split()[0])
    assert set(dialog.folder_buttons) == {"data", "models", "logs", "config"}
    assert dialog.findChild(QWidget, "about_folder_models").text() == str(paths.models)


def test_quitting_while_a_reply_streams_saves_the_partial_reply(qtbot, tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    window = _window(qtbot, home, monkeypatch)
    errors: list[str] = []
    monkeypatch.setattr(sys, "excepthook", lambda *exc: errors.append(str(exc[1])))
    qtbot.waitUntil(lambda: window.bridge.free, timeout=60_000)
    window.chat.set_sampling(SamplingSettings(temperature=0.9, max_tokens=1500, seed=3))
    window.chat.composer.setPlainText("Tell me a very long story about a lighthouse.")
    window.chat.send_button.click()
    qtbot.waitUntil(lambda: window.chat.reply is not None and len(window.chat.reply.text) > 40, timeout=30_000)
    conversation = window.chat.conversation.id
    window.close()  # storage closes here; late stream events must not write to it
    qtbot.wait(500)
    assert not errors, errors
    storage = Storage(home / "data" / "inkling.sqlite3")
    try:
        reply = storage.messages(conversation)[-1]
        assert reply.role == "assistant" and reply.status == "stopped" and len(reply.content) > 40
    finally:
        storage.close()


def test_selftest_info_is_json_from_the_command_line() -> None:
    out = subprocess.run([sys.executable, "-m", "app", "selftest", "--info"], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert out.returncode == 0 and info["cpu_variant"] and "ggml" in info["llama_cpp"]
