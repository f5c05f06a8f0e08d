"""The Sources panel while the app is open: a file added, changed or deleted in a collection's folder is
indexed again by itself (no click), and changes made while Inkling was closed are caught up at its start."""

from __future__ import annotations

from pathlib import Path

from app.core.sources.collections import Collections
from app.engine.jobs import JobRunner
from app.ui.sources.indexing import SourceIndexing
from app.ui.sources.sources_panel import SourcesPanel


def _found(collections: Collections, query: str) -> list[str]:
    """The files a keyword search of the real collection index finds for ``query``."""
    store = collections.open("notes")
    try:
        return [hit.path for hit in store.search(query, mode="keyword")]
    finally:
        store.close()


def test_files_added_changed_and_deleted_while_the_panel_is_open_are_indexed_without_a_click(
        qtbot, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "harbour.md").write_text("The harbour wall is built of granite.\n")
    (docs / "ferry.md").write_text("The ferry leaves at nine.\n")
    (docs / "mill.md").write_text("The old windmill grinds barley.\n")
    (docs / "sub" / "gulls.md").write_text("Seagulls nest on the roof.\n")
    collections = Collections(tmp_path / "sources")
    store = collections.open("notes", create=True)
    store.add_roots([str(docs)])
    store.close()
    indexing = SourceIndexing(collections, JobRunner(), debounce_ms=1000)
    panel = SourcesPanel(collections, indexing)
    qtbot.addWidget(panel)
    panel.resize(800, 500)
    panel.show()
    panel.index_current()
    qtbot.waitUntil(lambda: panel.job is None and "notes" in indexing.outcomes, timeout=60_000)
    assert _found(collections, "windmill") == [str(docs / "mill.md")]

    # written while Inkling was "closed" (nothing watched yet): caught up when watching starts
    (docs / "closed.md").write_text("Written while the app was closed: the tide tables.\n")
    started: list[tuple[str, str]] = []
    indexing.started.connect(lambda name: started.append((name, indexing.reasons[name])))
    indexing.start()
    qtbot.waitUntil(lambda: bool(_found(collections, "tide tables")), timeout=60_000)
    assert started == [("notes", "start")]
    qtbot.waitUntil(lambda: panel.job is None and (indexing.watched("notes") or None) is not None
                    and len(indexing.watched("notes").files) == 5, timeout=20_000)
    assert panel.watch_label.text() == "Watching 2 folders and 5 files for changes while Inkling is open"

    # a file written in place: only its own watch sees it (a folder's does not)
    (docs / "ferry.md").write_text("The ferry leaves at eleven on Sundays.\n")
    qtbot.waitUntil(lambda: bool(_found(collections, "eleven")), timeout=60_000)
    assert _found(collections, "ferry") == [str(docs / "ferry.md")] and not _found(collections, "nine")
    assert started == [("notes", "start"), ("notes", "changed")]
    qtbot.waitUntil(lambda: panel.job is None, timeout=20_000)

    # then a burst: a file added in a subfolder, another changed, one deleted
    (docs / "sub" / "cat.md").write_text("The lighthouse keeper feeds a tabby cat.\n")
    (docs / "harbour.md").write_text("The harbour wall is built of basalt now.\n")
    (docs / "mill.md").unlink()
    qtbot.waitUntil(lambda: bool(_found(collections, "tabby")) and not _found(collections, "windmill")
                    and bool(_found(collections, "basalt")), timeout=60_000)
    assert _found(collections, "tabby cat") == [str(docs / "sub" / "cat.md")]
    assert started == [("notes", "start"), ("notes", "changed"), ("notes", "changed")]  # one job for the burst
    qtbot.waitUntil(lambda: panel.job is None, timeout=20_000)
    assert panel.progress_label.text().startswith("A change on disk was noticed · Done: 2 read, "), \
        panel.progress_label.text()
    assert panel.progress_label.text().endswith(", 1 gone")
    panel.close()
