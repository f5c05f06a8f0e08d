"""The Sources panel indexing real files in its child-process job (progress, pause, the skipped files and why),
and Write's sidebar showing passages for the paragraph at the cursor."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from ui.conftest import wait_for_panes
from ui.fake_engine import FakeEngine, fake_window

from app.core.paths import app_paths
from app.core.sources.collections import Collections
from app.core.sources.indexer import INDEX_JOB, index_args
from app.engine.jobs import JobRunner, start_job
from app.ui.sources.indexing import SourceIndexing
from app.ui.sources.sources_panel import SourcesPanel


def _docs(root: Path, n: int) -> Path:
    root.mkdir()
    for i in range(n):
        (root / f"note{i}.md").write_text(f"Note {i} about item{i}.\n\nGardens, tomatoes and rain.\n")
    (root / "lighthouse.md").write_text("The keeper climbs the stairs and lights the lamp at dusk.\n")
    (root / "photo.txt").write_bytes(bytes(range(256)) * 32)
    os.symlink("loop.md", root / "loop.md")
    return root


def test_the_panel_indexes_with_progress_pause_and_lists_skipped_files(qtbot, tmp_path: Path) -> None:
    docs = _docs(tmp_path / "docs", 1500)
    collections = Collections(tmp_path / "sources")
    panel = SourcesPanel(collections, SourceIndexing(collections, JobRunner()))  # the app's job runner
    qtbot.addWidget(panel)
    panel.resize(800, 500)
    panel.show()
    panel.create("notes")
    assert panel.current == "notes" and "nothing yet" in panel.roots.text()
    panel.add_paths([str(docs)])
    qtbot.waitUntil(lambda: panel.progress_label.text().startswith("Reading "), timeout=30_000)
    assert " files · " in panel.progress_label.text() and " MB" in panel.progress_label.text()
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.progress_label.text().startswith("Paused · Reading"), timeout=10_000)
    assert panel.pause_button.text() == "Resume" and not panel.add_folder_button.isEnabled()
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.job is None, timeout=120_000)
    qtbot.waitUntil(lambda: panel.progress_label.text().startswith("Done"), timeout=5_000)
    assert panel.progress_label.text() == "Done: 1,501 read, 0 unchanged, 2 skipped, 0 gone"
    qtbot.waitUntil(lambda: panel.counts.text().startswith("1,501 files · 1,501 passages"), timeout=10_000)  # counts refresh after "Done"
    skipped = [panel.bad.item(i).text() for i in range(panel.bad.count())]
    assert skipped == [f"{docs / 'loop.md'} — a symbolic link that loops back on itself",
                       f"{docs / 'photo.txt'} — binary data, not text (the name says text, the contents don't)"]
    assert panel.add_folder_button.isEnabled() and not panel.pause_button.isEnabled()


def test_write_shows_passages_for_the_paragraph_at_the_cursor(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    docs = _docs(tmp_path / "docs", 30)
    store = Collections(app_paths().ensure().sources).open("notes", create=True)
    store.add_roots([str(docs)])
    start_job(INDEX_JOB, index_args(str(store.path))).result(60)
    store.close()
    window = fake_window(FakeEngine("unused"))
    qtbot.addWidget(window)
    window.show()
    wait_for_panes(window)
    write = window.write
    sidebar = write.sources_sidebar
    sidebar.reload_collections()
    assert sidebar.chooser.currentText() == "notes"
    write.editor.setPlainText("Chapter one.\n\nAt dusk the old keeper went up to light the lamp.\n\nThe end.")
    cursor = write.editor.textCursor()
    cursor.setPosition(len("Chapter one.\n\nAt dusk"))
    write.editor.setTextCursor(cursor)
    qtbot.waitUntil(lambda: bool(sidebar.hits) and sidebar.hits[0].path == str(docs / "lighthouse.md"),
                    timeout=5_000)
    assert sidebar.searched == "At dusk the old keeper went up to light the lamp."
    assert sidebar.list.item(0).text().startswith("lighthouse.md, line 1\nThe keeper climbs the stairs")
    window.close()  # (quoting and the memory: tests/ui/test_sources_in_write.py)

def test_a_killed_indexing_job_is_reported_and_update_goes_on_where_it_stopped(qtbot, tmp_path: Path) -> None:
    docs = _docs(tmp_path / "docs", 1500)
    collections = Collections(tmp_path / "sources")
    indexing = SourceIndexing(collections, JobRunner())
    panel = SourcesPanel(collections, indexing)
    qtbot.addWidget(panel)
    panel.show()
    panel.create("notes")
    panel.add_paths([str(docs)])
    qtbot.waitUntil(lambda: indexing.last.get("notes", {}).get("files_done", 0) >= 100, timeout=30_000)
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)  # held still part way, then killed
    qtbot.waitUntil(lambda: panel.progress_label.text().startswith("Paused · Reading"), timeout=10_000)
    os.kill(panel.job.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: panel.job is None, timeout=30_000)
    assert "stopped unexpectedly: it was killed (SIGKILL" in panel.progress_label.text(), panel.progress_label.text()
    assert panel.reindex_button.isEnabled()
    store = collections.open("notes")
    kept = len(store.files())  # every file finished before the kill, bad ones included
    store.close()
    assert 100 <= kept < 1503

    qtbot.mouseClick(panel.reindex_button, Qt.MouseButton.LeftButton)  # Update
    qtbot.waitUntil(lambda: panel.job is None and panel.progress_label.text().startswith("Done"), timeout=60_000)
    assert f"{kept:,} unchanged" in panel.progress_label.text(), panel.progress_label.text()  # none read twice
    qtbot.waitUntil(lambda: panel.counts.text().startswith("1,501 files · 1,501 passages"), timeout=10_000)
