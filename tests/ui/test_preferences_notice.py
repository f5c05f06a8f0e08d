"""A preferences file Inkling can't read is kept aside, and the window says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui.conftest import open_window

from app.core.paths import app_paths


def test_an_unreadable_preferences_file_is_kept_aside_and_the_window_says_so(qtbot, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("INKLING_HOME", str(home))
    prefs = app_paths().ensure().preferences
    prefs.write_text('{"n_ctx": 8192,', encoding="utf-8")  # hand-edited, cut short
    window = open_window(qtbot, home, monkeypatch, wait_model=False)
    try:
        [kept] = list(prefs.parent.glob("preferences.json.bad-*"))
        assert kept.read_text(encoding="utf-8") == '{"n_ctx": 8192,'
        assert not window.notice.isHidden() and str(kept) in window.notice.label.text()
    finally:
        window.close()
