"""What the window watches of a collection within a budget of watches, and whether its files changed on disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from source_files import QuietProgress as _Quiet

from app.core.sources.indexer import index_collection, roots_text, unavailable_text
from app.core.sources.store import SourceStore
from app.core.sources.watching import (
    DiskChanges,
    changes_on_disk,
    check_collection,
    collection_folders_and_files,
    plan_watch,
)


def test_a_collection_is_watched_whole_then_by_folders_only_then_not_at_all_as_it_outgrows_the_budget() -> None:
    folders = [f"/d/{i}" for i in range(10)]
    files = [f"/d/{i % 10}/f{i}.md" for i in range(90)]
    whole = plan_watch(folders, files, budget=100)
    assert (len(whole.folders), len(whole.files)) == (10, 90)
    assert whole.note == "Watching 10 folders and 90 files for changes while Inkling is open"
    folders_only = plan_watch(folders, files, budget=99)
    assert (len(folders_only.folders), folders_only.files) == (10, ())
    assert "too big to watch each one" in folders_only.note and "next start or with Update" in folders_only.note
    none = plan_watch(folders, files, budget=9)
    assert none.size == 0
    assert none.note == ("Too big to watch while open (10 folders, over the limit of 9): changes are noticed at the "
                         "next start, or with Update")


def test_changes_on_disk_counts_what_an_indexing_run_would_do(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "a").mkdir(parents=True)
    (docs / "one.md").write_text("one\n")
    (docs / "a" / "two.md").write_text("two\n")
    store = SourceStore(tmp_path / "c.sqlite3")
    store.add_roots([str(docs)])
    assert changes_on_disk(store) == DiskChanges(added=2)
    index_collection(store, _Quiet())
    assert not changes_on_disk(store).any
    assert collection_folders_and_files(store) == ([str(docs), str(docs / "a")],
                                                   [str(docs / "a" / "two.md"), str(docs / "one.md")])
    (docs / "one.md").write_text("one, longer now\n")
    (docs / "a" / "two.md").unlink()
    (docs / "three.txt").write_text("three\n")
    assert changes_on_disk(store) == DiskChanges(added=1, changed=1, gone=1)
    assert check_collection(store) == (changes_on_disk(store), *collection_folders_and_files(store))  # one walk


def _collection(tmp_path: Path) -> tuple[SourceStore, Path]:
    docs = tmp_path / "docs"
    (docs / "a").mkdir(parents=True)
    (docs / "one.md").write_text("The lighthouse keeper climbs the stairs at dusk.\n")
    (docs / "a" / "two.md").write_text("Bread needs flour, water, salt and time.\n")
    store = SourceStore(tmp_path / "c.sqlite3")
    store.add_roots([str(docs)])
    index_collection(store, _Quiet())
    return store, docs


def _kept_through_a_catch_up(store: SourceStore, docs: Path, counts: dict[str, int]) -> None:
    """Neither the watcher's check nor an indexing run forgets a file under ``docs`` while it can't be read."""
    changes = changes_on_disk(store)
    assert changes == DiskChanges(unavailable=(str(docs),)) and not changes.any  # no job, nothing counted gone
    report = index_collection(store, _Quiet())
    assert (report.deleted, report.unavailable) == (0, [str(docs)])
    assert store.counts() == counts
    assert unavailable_text(report.as_dict()) == (f"{docs} is not there (unplugged?): its files and passages are "
                                                  "kept until it is back")


def test_a_folder_that_is_not_there_empty_or_unreadable_keeps_its_files_and_passages(tmp_path: Path) -> None:
    store, docs = _collection(tmp_path)
    counts = store.counts()
    assert counts["files"] == 2 and counts["chunks"] >= 2
    away = tmp_path / "away"
    docs.rename(away)  # unplugged (or renamed for a moment)
    _kept_through_a_catch_up(store, docs, counts)
    docs.mkdir()  # the mount point without its disk
    _kept_through_a_catch_up(store, docs, counts)
    assert roots_text([str(docs), str(away)]) == f"{docs}; {away}"
    docs.rmdir()
    assert roots_text([str(docs), str(away)]) == f"{docs} (not there — unplugged?); {away}"
    away.rename(docs)  # plugged in again: everything is there, nothing to read again
    assert not changes_on_disk(store).any
    report = index_collection(store, _Quiet())
    assert (report.read, report.unchanged, report.deleted, report.unavailable) == (0, 2, 0, [])
    assert store.counts() == counts
    assert store.search("lighthouse keeper", mode="keyword")[0].path == str(docs / "one.md")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a folder whatever its permissions")
def test_an_unreadable_folder_keeps_its_files_while_a_file_really_deleted_beside_it_is_forgotten(
        tmp_path: Path) -> None:
    store, docs = _collection(tmp_path)
    counts = store.counts()
    docs.chmod(0)
    try:
        _kept_through_a_catch_up(store, docs, counts)
    finally:
        docs.chmod(0o755)
    (docs / "a").chmod(0)  # a folder under the root can't be listed; a file beside it is deleted
    (docs / "one.md").unlink()
    try:
        assert changes_on_disk(store) == DiskChanges(gone=1, unavailable=(str(docs / "a"),))
        report = index_collection(store, _Quiet())
    finally:
        (docs / "a").chmod(0o755)
    assert report.deleted == 1
    assert list(store.files()) == [str(docs / "a" / "two.md")]
