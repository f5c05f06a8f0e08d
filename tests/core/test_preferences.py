"""Preferences: a file Inkling can't read is kept aside, the user is told, the defaults are used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.preferences import Preferences


@pytest.mark.parametrize("content", ['{"n_ctx": 8192, "model_path": "/models/a.gguf",',  # hand-edited, cut short
                                     '{"n_ctx": "lots"}', "[1, 2, 3]"])
def test_an_unreadable_preferences_file_is_kept_aside_and_the_user_is_told(tmp_path: Path, content: str) -> None:
    path = tmp_path / "preferences.json"
    path.write_text(content, encoding="utf-8")
    prefs = Preferences.load(path)
    assert prefs == Preferences()  # the defaults
    [kept] = list(tmp_path.glob("preferences.json.bad-*"))
    assert kept.read_text(encoding="utf-8") == content  # the user's text is not lost
    assert str(kept) in prefs.warning and "default" in prefs.warning
    prefs.save(path)  # the next save writes a fresh file and leaves the kept one alone
    assert kept.read_text(encoding="utf-8") == content
    assert "warning" not in json.loads(path.read_text(encoding="utf-8"))


def test_a_good_file_round_trips_without_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "preferences.json"
    Preferences(n_ctx=8192, model_folders=["/models"]).save(path)
    prefs = Preferences.load(path)
    assert prefs.n_ctx == 8192 and prefs.model_folders == ["/models"] and prefs.warning == ""
    assert list(tmp_path.glob("*.bad-*")) == []


def test_no_file_yet_is_not_a_problem(tmp_path: Path) -> None:
    prefs = Preferences.load(tmp_path / "preferences.json")
    assert prefs == Preferences() and prefs.warning == ""
