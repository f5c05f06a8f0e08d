"""Indexing as the app and the command line run it: a child process over thousands of real files of every
format, the bad ones listed with their reasons, pause and cancel, and a kill that resumes where it stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import JobCrashed
from app.core.jobs import JobPaused, JobProgress
from app.core.sources.indexer import INDEX_JOB, index_args, index_collection, report_of
from app.core.sources.store import SourceStore
from app.engine.jobs import start_job

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from source_files import write_docx, write_encrypted_pdf, write_epub, write_odt, write_pdf  # noqa: E402

NOBODY = 65534


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder another user can read: as root, the CLI runs as nobody so that 'no permission' is real."""
    d = Path(tempfile.mkdtemp(prefix="inkling-sources-"))
    d.chmod(0o755)
    yield d
    subprocess.run(["rm", "-rf", str(d)], check=False)


def _until(condition: Callable[[], Any], timeout: float = 60.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _corpus(root: Path, n: int) -> list[Path]:
    """``n`` files in folders of 100, mostly Markdown and text, with each office format and PDF among them."""
    out = []
    for i in range(n):
        folder = root / f"part{i // 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        body = [f"Note {i} is about item{i}.", f"It mentions colour{i % 13} and shape{i % 17} in passing."]
        kind = i % 50
        if kind == 1:
            p = write_docx(folder / f"n{i}.docx", body)
        elif kind == 2:
            p = write_odt(folder / f"n{i}.odt", body, heading=f"Heading {i}")
        elif kind == 3:
            p = write_epub(folder / f"n{i}.epub", body)
        elif kind == 4:
            p = write_pdf(folder / f"n{i}.pdf", body)
        elif kind == 5:
            p = folder / f"n{i}.html"
            p.write_text("<html><body>" + "".join(f"<p>{b}</p>" for b in body) + "</body></html>")
        else:
            p = folder / (f"n{i}.md" if i % 2 else f"n{i}.txt")
            p.write_text("\n\n".join(body) + "\n")
        out.append(p)
    return out


def _bad_files(root: Path) -> dict[str, str]:
    """One file of every bad kind, and the reason each must be listed with."""
    bad = root / "bad"
    bad.mkdir()
    write_encrypted_pdf(bad / "locked.pdf", ["a secret page"])
    (bad / "photo.txt").write_bytes(bytes(range(256)) * 64)
    private = bad / "private.md"
    private.write_text("for my eyes only")
    private.chmod(0)
    os.symlink("loop.md", bad / "loop.md")
    with open(bad / "huge.txt", "wb") as f:
        f.truncate(1 << 30)  # 1 GB of text, sparse on disk
    write_epub(bad / "drm.epub", ["locked"], encrypted=True)
    (bad / "broken.docx").write_bytes(b"PK\x03\x04 but not really a zip")
    os.mkfifo(bad / "pipe.txt")
    return {
        "locked.pdf": "an encrypted PDF that needs a password",
        "photo.txt": "binary data, not text",
        "private.md": "no permission to read it",
        "loop.md": "a symbolic link that loops back on itself",
        "huge.txt": "too big: 1,074 MB, over the limit of 64 MB per file",
        "drm.epub": "an EPUB locked with DRM",
        "broken.docx": "not a valid DOCX file",
        "pipe.txt": "not a regular file",
    }


def _inkling(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INKLING_HOME": str(home), "PYTHONPATH": str(ROOT)}
    as_nobody = {"user": NOBODY, "group": NOBODY} if os.geteuid() == 0 else {}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env,
                          timeout=240, cwd=str(home), **as_nobody)


def _collection(home: Path, name: str) -> SourceStore:
    """The collection the command line made under ``home`` (INKLING_HOME), opened in this process."""
    old = os.environ.get("INKLING_HOME")
    os.environ["INKLING_HOME"] = str(home)
    try:
        from app.core.paths import app_paths
        from app.core.sources.collections import Collections

        return Collections(app_paths().sources).open(name)
    finally:
        if old is None:
            del os.environ["INKLING_HOME"]
        else:
            os.environ["INKLING_HOME"] = old


def test_thousands_of_files_of_every_format_index_and_every_bad_file_is_listed(open_dir: Path) -> None:
    docs = open_dir / "docs"
    files = _corpus(docs, 3000)
    reasons = _bad_files(docs)
    home = open_dir / "home"
    home.mkdir(mode=0o777)
    home.chmod(0o777)

    run = _inkling("sources", "add", "notes", str(docs), home=home)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "reading 3008/3008 files" in run.stderr and "left" in run.stderr  # progress: files, MB, time left
    assert "notes: 3000 files, 3000 passages, 0 embedded, 8 skipped (3000 read now, 0 unchanged, 0 gone)" \
        in run.stdout, run.stdout
    skipped = {line.split(": ", 1)[0].rsplit("/", 1)[-1]: line.split(": ", 1)[1]
               for line in run.stdout.splitlines() if line.startswith("skipped ")}
    assert set(skipped) == set(reasons)
    for name, reason in reasons.items():
        assert skipped[name].startswith(reason), (name, skipped[name])

    # every format is searchable by a word only it holds: once through the command line, then in its index
    found = _inkling("sources", "search", "notes", "which note is about item1?", "--top", "3", home=home)
    assert found.returncode == 0, found.stderr
    first = found.stdout.splitlines()[0]
    assert first.startswith("1. ") and f"{files[1]}:1" in first and "item1" in first, first
    store = _collection(home, "notes")
    try:
        for i in (2, 3, 4, 5, 6, 7, 2999):  # odt, epub, pdf, html, md, txt
            hits = store.search(f"which note is about item{i}?", top=3, mode="keyword")
            assert hits[0].location == f"{files[i]}:1" and f"item{i}" in hits[0].text, (i, hits[:1])
    finally:
        store.close()

    again = _inkling("sources", "add", "notes", home=home)
    assert "(0 read now, 3008 unchanged, 0 gone)" in again.stdout, again.stdout


def _reports(events: list[Any]) -> list[dict[str, Any]]:
    return [report_of(e.message) for e in events if isinstance(e, JobProgress)]


def test_an_indexing_job_pauses_and_a_kill_mid_index_resumes_without_rereading_finished_files(
        tmp_path: Path) -> None:
    _corpus(tmp_path / "docs", 2500)
    db = tmp_path / "c.sqlite3"
    store = SourceStore(db)
    store.add_roots([str(tmp_path / "docs")])
    events: list[Any] = []
    job = start_job(INDEX_JOB, index_args(str(db)), events.append, name="Indexing c")  # the app's job runner
    _until(lambda: store.counts()["files"] >= 100)

    job.pause()
    held = _until(lambda: _steady(store))
    time.sleep(1.0)  # a paused job reads nothing more
    assert store.counts()["files"] == held
    assert JobPaused(True) in events  # said by the job itself, at a safe point
    last = _reports(events)[-1]
    assert last["phase"] == "reading" and last["files_total"] == 2500
    job.resume()
    _until(lambda: store.counts()["files"] >= held + 200)

    os.kill(job.pid or 0, signal.SIGKILL)
    with pytest.raises(JobCrashed, match="stopped unexpectedly"):
        job.result(30)
    finished = store.counts()["files"]
    assert 300 <= finished < 2500

    class Quiet:
        def progress(self, info: dict[str, Any]) -> None: ...

        def should_stop(self) -> bool:
            return False

    report = index_collection(store, Quiet())
    assert (report.read, report.unchanged, report.bad) == (2500 - finished, finished, 0)
    counts = store.counts()
    assert (counts["files"], counts["chunks"]) == (2500, 2500)  # no file twice, none lost
    assert len(store.search("item1234", mode="keyword")) == 1


def _steady(store: SourceStore) -> int | None:
    before = store.counts()["files"]
    time.sleep(0.3)
    return before if store.counts()["files"] == before else None


def test_cancel_stops_the_job_and_keeps_what_it_read(tmp_path: Path) -> None:
    _corpus(tmp_path / "docs", 1500)
    db = tmp_path / "c.sqlite3"
    store = SourceStore(db)
    store.add_roots([str(tmp_path / "docs")])
    events: list[Any] = []
    job = start_job(INDEX_JOB, index_args(str(db)), events.append)
    _until(lambda: store.counts()["files"] >= 50)
    job.cancel()
    report = job.result(60)  # stopped at the next file, with its report (not killed)
    assert report["stopped"] and report["phase"] == "stopped"
    assert 50 <= report["read"] < 1500 == report["files_total"]
    assert store.counts()["files"] == report["read"]
    assert any(p["eta_seconds"] for p in _reports(events))


def test_chat_with_sources_answers_then_lists_its_numbered_sources(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lighthouse.md").write_text("The keeper climbs the stairs and lights the lamp at dusk.\n")
    (docs / "bread.md").write_text("Bread needs flour, water, salt and yeast.\n")
    home = tmp_path / "home"
    env = {**os.environ, "INKLING_HOME": str(home), "PYTHONPATH": str(ROOT)}

    def inkling(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env,
                              timeout=120, cwd=ROOT)

    added = inkling("sources", "add", "notes", str(docs))
    assert added.returncode == 0 and "notes: 2 files, 2 passages" in added.stdout, added.stderr
    found = inkling("sources", "search", "notes", "when is the lamp lit?", "--top", "1")
    assert found.stdout.startswith("1. ") and f"{docs / 'lighthouse.md'}:1  The keeper climbs" in found.stdout
    run = inkling("chat", "--sources", "notes", "When does the keeper light the lamp?", "--temperature", "0",
                  "--max-tokens", "24")
    assert run.returncode == 0, run.stderr
    answer, _, sources = run.stdout.partition("Sources:\n")
    assert answer.strip()
    assert sources.splitlines()[0].endswith(f"[1] {docs / 'lighthouse.md'}:1  The keeper climbs the stairs and "
                                            "lights the lamp at dusk.")
