"""What the window watches of a collection within a budget of watches, and whether its files changed on disk."""

from __future__ import annotations

from pathlib import Path

from app.core.sources.indexer import index_collection
from app.core.sources.store import SourceStore
from app.core.sources.watching import DiskChanges, changes_on_disk, collection_folders_and_files, plan_watch


class _Quiet:
    def progress(self, info: object) -> None: ...

    def should_stop(self) -> bool:
        return False


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
