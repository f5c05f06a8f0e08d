"""Indexing in the window, as the review of the Sources code asked: files copied into a folder before its watch
began are still indexed, the watch walks never wait behind (or block) Qt's global thread pool, a failure of work
nobody clicked for is said in the status bar, Write's sidebar follows the collections made and removed, and a
file dropped on a chat whose collection is already indexing is reported by the run that read it.

Real parts throughout: collections in SQLite indexed from files the test writes, the app's child-process job
runner, ``QFileSystemWatcher``, and the real main window over a fake engine where a window is needed."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from PySide6.QtCore import QRunnable, QThreadPool
from ui.conftest import wait_for_panes
from ui.fake_engine import FakeEngine, fake_window

from app.core.paths import app_paths
from app.core.sources.collections import Collections
from app.engine.jobs import JobRunner
from app.ui.main_window import MainWindow
from app.ui.sources.indexing import SourceIndexing
from app.ui.sources.sources_panel import SourcesPanel


def _found(collections: Collections, name: str, query: str) -> list[str]:
    store = collections.open(name)
    try:
        return [hit.path for hit in store.search(query, mode="keyword")]
    finally:
        store.close()


def _collection(collections: Collections, name: str, *roots: Path) -> None:
    store = collections.open(name, create=True)
    try:
        store.add_roots([str(r) for r in roots])
    finally:
        store.close()


def _window(qtbot, tmp_path: Path, monkeypatch) -> MainWindow:
    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    window = fake_window(FakeEngine("unused"))
    qtbot.addWidget(window)
    window.show()
    wait_for_panes(window)
    return window


def test_files_copied_into_a_new_folder_before_its_watch_began_are_indexed_without_a_click(
        qtbot, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbour.md").write_text("The harbour wall is built of granite.\n")
    collections = Collections(tmp_path / "sources")
    _collection(collections, "notes", docs)
    indexing = SourceIndexing(collections, JobRunner(), debounce_ms=300)
    indexing.start()
    qtbot.waitUntil(lambda: "notes" in indexing.outcomes and not indexing.running()
                    and (indexing.watched("notes") or None) is not None
                    and len(indexing.watched("notes").files) == 1, timeout=30_000)

    # ``cp -r``: the folder and its first file tell the watched docs folder; the rest lands while the job that
    # read the first one ends, before the new folder is watched (nothing would tell of it)
    late = docs / "new" / "late.md"

    def on_ended(name: str, _ended: object) -> None:
        if indexing.reasons.get(name) == "changed" and not late.exists():
            late.write_text("The lighthouse keeper feeds a tabby cat.\n")

    indexing.ended.connect(on_ended)
    (docs / "new").mkdir()
    (docs / "new" / "first.md").write_text("The ferry leaves at nine.\n")
    qtbot.waitUntil(lambda: late.exists(), timeout=30_000)
    assert _found(collections, "notes", "ferry") == [str(docs / "new" / "first.md")]
    qtbot.waitUntil(lambda: bool(_found(collections, "notes", "tabby")), timeout=30_000)
    assert _found(collections, "notes", "tabby cat") == [str(late)]
    qtbot.waitUntil(lambda: not indexing.running(), timeout=30_000)


def test_the_watch_walks_run_on_the_indexings_own_thread_while_the_global_pool_is_busy(
        qtbot, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tide.md").write_text("The tide tables are pinned by the door.\n")
    collections = Collections(tmp_path / "sources")
    _collection(collections, "notes", docs)
    indexing = SourceIndexing(collections, JobRunner())
    assert indexing.pool.maxThreadCount() == 1  # one walk at a time

    # every thread of Qt's global pool busy (a Hub search, a library scan, a stale network mount...)
    release = threading.Event()
    pool = QThreadPool.globalInstance()
    for _ in range(pool.maxThreadCount()):
        pool.start(QRunnable.create(lambda: release.wait(60)))
    try:
        indexing.start()  # the catch-up at start: its walks do not wait for the global pool
        qtbot.waitUntil(lambda: bool(_found(collections, "notes", "tide")), timeout=30_000)
        qtbot.waitUntil(lambda: (indexing.watched("notes") or None) is not None
                        and len(indexing.watched("notes").files) == 1, timeout=10_000)  # planned after its job too
        assert indexing.watch_note("notes") == "Watching 1 folder and 1 file for changes while Inkling is open"
    finally:
        release.set()
        pool.waitForDone(10_000)
    qtbot.waitUntil(lambda: not indexing.running(), timeout=30_000)


def test_a_failure_of_background_indexing_is_said_in_the_status_bar_naming_the_collection(
        qtbot, tmp_path: Path, monkeypatch) -> None:
    window = _window(qtbot, tmp_path, monkeypatch)
    collections = window.chat.sources.collections
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mill.md").write_text("The old windmill grinds barley.\n")
    _collection(collections, "notes", docs)
    store = collections.open("notes")
    store.set_meta("embedder_spec", json.dumps({"kind": "abacus"}))  # a model the job cannot make: it fails
    store.close()
    collections.path_of("broken").write_text("this is not a collection's database\n")  # cannot even be checked
    lines: list[str] = []
    window.statusBar().messageChanged.connect(lambda text: text and lines.append(text))
    indexing = window.chat.sources_indexing
    indexing.start()
    qtbot.waitUntil(lambda: any("“notes”" in line for line in lines)
                    and any("“broken”" in line for line in lines), timeout=30_000)
    notes = next(line for line in lines if "“notes”" in line)
    assert notes.startswith("Sources: “notes” could not be brought up to date: ") and notes.endswith("(open Sources)")
    assert "abacus" in notes
    broken = next(line for line in lines if "“broken”" in line)
    assert broken.startswith("Sources: “broken” could not be brought up to date: ")
    assert indexing.watch_note("broken").startswith("Could not ")  # the Sources panel says it too
    qtbot.waitUntil(lambda: not indexing.running(), timeout=30_000)
    window.close()


def test_writes_sidebar_lists_a_collection_made_later_and_notes_one_removed_behind_its_back(
        qtbot, tmp_path: Path, monkeypatch) -> None:
    window = _window(qtbot, tmp_path, monkeypatch)
    window.tabs.setCurrentWidget(window.write)
    sidebar = window.write.sources_sidebar
    window.write.editor.setPlainText("At dusk the keeper lights the lamp.")
    qtbot.waitUntil(lambda: sidebar.note.text().startswith("Make a collection"), timeout=5_000)

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lighthouse.md").write_text("Every evening the keeper lights the lamp at dusk.\n")
    collections = Collections(app_paths().sources)
    panel = SourcesPanel(collections, window.chat.sources_indexing)  # as the Sources window holds it
    qtbot.addWidget(panel)
    panel.create("lamps")
    assert sidebar.chooser.currentText() == "lamps"  # listed at once, the window opened before it was made
    panel.add_paths([str(docs)])
    qtbot.waitUntil(lambda: bool(sidebar.hits), timeout=30_000)
    assert sidebar.hits[0].path == str(docs / "lighthouse.md")
    indexing = window.chat.sources_indexing
    indexing.start()  # (as 3 s after the window opened) its folder watched, and checked
    qtbot.waitUntil(lambda: not indexing.running() and (indexing.watched("lamps") or None) is not None
                    and len(indexing.watched("lamps").files) == 1, timeout=30_000)

    collections.remove("lamps")  # what ``inkling sources remove lamps`` does, with the window open
    (docs / "lighthouse.md").write_text("The keeper lights the lamp at dusk, and at dawn puts it out.\n")
    window.write.editor.setPlainText("The keeper's lamp at dusk, again.")
    qtbot.waitUntil(lambda: "cannot be read" in sidebar.note.text(), timeout=5_000)
    assert sidebar.note.text().startswith("“lamps” cannot be read: There is no collection named 'lamps'")
    assert sidebar.hits == [] and sidebar.list.count() == 0
    qtbot.waitUntil(lambda: indexing.watched("lamps") is None, timeout=10_000)  # its watch is let go
    assert not indexing.running() and not collections.exists("lamps")  # and no job made it again
    panel.close()
    window.close()


def test_a_file_dropped_while_its_collection_indexes_is_reported_by_the_run_that_read_it(
        qtbot, tmp_path: Path, monkeypatch) -> None:
    window = _window(qtbot, tmp_path, monkeypatch)
    chat = window.chat
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(3):
        (docs / f"note{i}.md").write_text(f"Note {i} about the garden and the rain.\n")
    dropped = tmp_path / "lighthouse.md"
    dropped.write_text("Every evening the keeper lights the lamp at dusk.\n")
    collections = chat.sources.collections
    _collection(collections, "notes", docs)
    chat.sources.set(chat.session.id, ["notes"])
    indexing = chat.sources_indexing
    lines: list[str] = []
    chat.status_message.connect(lines.append)

    def hold(name: str) -> None:  # paused at once: held after its walk, before it reads a file
        indexing.pause(name)

    held: list[bool] = []
    indexing.paused_changed.connect(lambda name, paused: held.append(paused))
    indexing.started.connect(hold)
    indexing.index("notes")
    qtbot.waitUntil(lambda: held == [True], timeout=30_000)  # said by the job, waiting at its first safe point
    indexing.started.disconnect(hold)
    assert indexing.last["notes"]["files_total"] == 3  # its walk is over: the dropped file is not in it

    assert chat.file_drop.add([str(dropped)]) == "notes"
    indexing.resume("notes")
    qtbot.waitUntil(lambda: chat.file_drop.job is None, timeout=30_000)
    said = [line for line in lines if line.startswith("“notes”")]
    assert said[-1] == "“notes”: 1 file(s) read.", said  # the run after the drop, not the one it found running
    assert _found(collections, "notes", "keeper lamp") == [str(dropped)]
    qtbot.waitUntil(lambda: not indexing.running(), timeout=30_000)
    window.close()


def test_a_run_waiting_behind_a_paused_job_names_it_and_says_it_is_paused(qtbot, tmp_path: Path) -> None:
    collections = Collections(tmp_path / "sources")
    for name in ("alpha", "beta"):
        docs = tmp_path / name
        docs.mkdir()
        (docs / "a.md").write_text(f"A note for {name} about the harbour.\n")
        _collection(collections, name, docs)
    indexing = SourceIndexing(collections, JobRunner())
    held: list[bool] = []
    indexing.paused_changed.connect(lambda name, paused: held.append(paused))

    def hold(name: str) -> None:
        indexing.pause(name)

    indexing.started.connect(hold)
    indexing.index("alpha")
    qtbot.waitUntil(lambda: held == [True], timeout=30_000)
    indexing.started.disconnect(hold)
    panel = SourcesPanel(collections, indexing)
    qtbot.addWidget(panel)
    panel.reload(select="beta")
    panel.index_current()
    assert indexing.busy("beta") and not indexing.running("beta")
    assert panel.progress_label.text() == "Waits for “alpha”, whose indexing is paused: resume or cancel it there…"
    indexing.resume("alpha")
    qtbot.waitUntil(lambda: "beta" in indexing.outcomes, timeout=30_000)
    assert _found(collections, "beta", "harbour") == [str(tmp_path / "beta" / "a.md")]
    panel.close()


def test_the_catch_up_at_start_walks_each_collection_once(qtbot, tmp_path: Path, monkeypatch) -> None:
    import app.core.sources.watching as watching

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tide.md").write_text("The tide tables are pinned by the door.\n")
    collections = Collections(tmp_path / "sources")
    _collection(collections, "notes", docs)
    indexing = SourceIndexing(collections, JobRunner())
    indexing.index("notes")
    qtbot.waitUntil(lambda: "notes" in indexing.outcomes, timeout=30_000)
    walks: list[list[str]] = []
    real = watching.scan_roots

    def counted(roots, *args, **kwargs):  # the real walk, counted
        walks.append(list(roots))
        return real(roots, *args, **kwargs)

    monkeypatch.setattr(watching, "scan_roots", counted)
    checked: list[bool] = []
    indexing.checked.connect(lambda name, changed: checked.append(changed))
    indexing.start()  # nothing changed since: no job, one walk for the change check and the watch plan
    qtbot.waitUntil(lambda: checked == [False] and indexing.watched("notes") is not None, timeout=10_000)
    assert walks == [[str(docs)]] and not indexing.running()
    assert indexing.watch_note("notes") == "Watching 1 folder and 1 file for changes while Inkling is open"
