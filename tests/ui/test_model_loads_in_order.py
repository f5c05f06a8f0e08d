"""Loads asked for one after another: the window always names the model the engine has.

Loads queue in the engine and run in order. When an older one ends after a newer
one was asked for, its outcome must not decide what the window shows: a failed
load while a newer one waits once made the window settle on the model before,
while the engine went on to load the newer one.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
from pathlib import Path

import gguf_tools as g

from app.ui.main_window import MainWindow


def _copy_of(starter: Path, dst: Path) -> Path:
    """The starter model under another path (a hard link where the file system allows it)."""
    with contextlib.suppress(OSError):
        os.link(starter, dst)
        return dst
    shutil.copyfile(starter, dst)
    return dst


def _bad_model(starter: Path, dst: Path) -> Path:
    """A GGUF the engine refuses: the starter's weights behind a context length that is not a number."""
    def edit(model: g.GGUF) -> None:
        model.metadata["llama.context_length"] = (g.FLOAT32, math.nan)
    return g.patched_copy(starter, dst, edit)


def _settled(window: MainWindow) -> bool:
    return window.bridge.free and window.engine.info is not None


def test_a_failed_load_with_a_newer_load_queued_shows_the_newer_model(qtbot, window: MainWindow, tmp_path: Path,
                                                                     starter_path: Path) -> None:
    before = _copy_of(starter_path, tmp_path / "model-before.gguf")
    bad = _bad_model(starter_path, tmp_path / "bad.gguf")
    with qtbot.waitSignal(window.bridge.model_loaded, timeout=60_000):
        window.load_model(str(before))
    assert window.bridge.info.path == str(before)

    failures: list[BaseException] = []
    window.bridge.model_failed.connect(failures.append)
    window.load_model(str(bad))  # fails in the engine...
    window.load_model(str(starter_path))  # ...while this one waits its turn
    qtbot.waitUntil(lambda: bool(failures) and _settled(window), timeout=60_000)
    qtbot.waitUntil(lambda: window.engine.info.path == str(starter_path), timeout=60_000)  # the engine has it

    def the_window_names_it() -> None:
        shown = window.bridge.info.path if window.bridge.info is not None else None
        assert shown == str(starter_path), f"the engine has {Path(starter_path).name}, the window says {shown}"

    qtbot.waitUntil(the_window_names_it, timeout=10_000)
    qtbot.waitUntil(lambda: window.bridge.free, timeout=10_000)
    assert window.bridge.loading_path == str(starter_path)
    assert window.model_selector.currentData() == str(starter_path)
    assert window.prefs.model_path == str(starter_path)  # and it is the model the next start loads
    assert len(failures) == 1 and "llama.context_length" in str(failures[0])  # the failure was still reported


def test_a_good_load_followed_by_a_failed_one_keeps_the_good_one(qtbot, window: MainWindow, tmp_path: Path,
                                                                starter_path: Path) -> None:
    good = _copy_of(starter_path, tmp_path / "good.gguf")
    bad = _bad_model(starter_path, tmp_path / "bad.gguf")
    failures: list[BaseException] = []
    window.bridge.model_failed.connect(failures.append)
    window.load_model(str(good))  # loads in the engine, but a newer load is already asked for...
    window.load_model(str(bad))  # ...and fails: the engine keeps the good one
    qtbot.waitUntil(lambda: bool(failures) and _settled(window), timeout=60_000)
    assert window.engine.info.path == str(good)
    assert window.bridge.info.path == str(good)
    assert window.model_selector.currentData() == str(good)
    assert window.prefs.model_path == str(good), "the model the engine kept is not the one the next start loads"
