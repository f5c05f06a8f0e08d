"""Every download ends in one final state, announced once, as an immutable snapshot.

The GUI gets frozen ``DownloadSnapshot``s, never the live job a worker thread
mutates, so a late progress update can't show up as a second "done"; and an
exception nobody foresaw inside a job still ends it as failed, with a message.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest
from models.conftest import TINY
from models.fake_hub import FakeHub

from app.core.storage import Storage
from app.models.downloads import DownloadManager, DownloadSnapshot
from app.models.hub import HubClient
from app.models.library import ModelLibrary
from app.models.manager import ModelManager


def _add(manager: DownloadManager, repo: str, filename: str):
    files = HubClient().files(repo)
    f = files.file(filename)
    return manager.add(repo, filename, files.revision, f.size, f.sha256)


class Recorder:
    def __init__(self) -> None:
        self.updates: list[DownloadSnapshot] = []
        self.ended = threading.Event()

    def __call__(self, snap: DownloadSnapshot) -> None:
        self.updates.append(snap)
        if snap.status in ("done", "failed", "cancelled"):
            self.ended.set()

    def finals(self) -> list[str]:
        return [u.status for u in self.updates if u.status in ("done", "failed", "cancelled")]


def test_a_finished_download_is_announced_once_with_frozen_snapshots(hub: FakeHub, tmp_path: Path) -> None:
    hub.behaviour.throttle = 0.005
    seen = Recorder()
    manager = DownloadManager(tmp_path / "models", on_update=seen)
    job = _add(manager, "TestOrg/Tiny-GGUF", "tiny-Q4_K_M.gguf")
    assert seen.ended.wait(60)
    manager.wait(job.id)
    assert seen.finals() == ["done"]
    assert all(isinstance(u, DownloadSnapshot) for u in seen.updates)
    with pytest.raises(dataclasses.FrozenInstanceError):
        seen.updates[0].status = "done"  # type: ignore[misc]
    progress = [u.downloaded for u in seen.updates if u.status == "downloading"]
    assert len(progress) >= 3 and progress == sorted(progress)
    assert seen.updates[0].status == "queued" and seen.updates[-1].downloaded == len(TINY)


def test_cancel_pressed_twice_or_after_the_end_announces_nothing_new(hub: FakeHub, tmp_path: Path) -> None:
    seen = Recorder()
    waiting = DownloadManager(tmp_path / "models", parallel=0, on_update=seen)  # nothing starts: it stays queued
    job = _add(waiting, "TestOrg/Tiny-GGUF", "tiny-Q4_K_M.gguf")
    waiting.cancel(job.id)
    waiting.cancel(job.id)  # a double click
    assert seen.finals() == ["cancelled"]

    done = Recorder()
    manager = DownloadManager(tmp_path / "models2", on_update=done)
    job = _add(manager, "TestOrg/Tiny-GGUF", "tiny-Q4_K_M.gguf")
    assert done.ended.wait(60)
    manager.wait(job.id)
    manager.cancel(job.id)  # too late: it is done
    assert done.finals() == ["done"] and Path(job.dest).exists()


def test_an_unexpected_exception_inside_a_job_ends_it_as_failed_with_a_message(hub: FakeHub, tmp_path: Path,
                                                                               monkeypatch) -> None:
    def broken(self, job) -> None:
        raise KeyError("a surprise from deep inside the transfer")

    monkeypatch.setattr(DownloadManager, "_transfer", broken)
    seen = Recorder()
    manager = DownloadManager(tmp_path / "models", on_update=seen)
    job = _add(manager, "TestOrg/Tiny-GGUF", "tiny-Q4_K_M.gguf")
    assert seen.ended.wait(30)
    final = manager.wait(job.id)
    assert final.status == "failed"
    assert "unexpectedly" in final.error and "KeyError" in final.error
    assert seen.finals() == ["failed"]
    assert job.sidecar.exists()  # kept, so it can be resumed
    assert ModelLibrary(tmp_path / "models").files() == []


def test_the_models_pane_says_downloaded_and_verified_once(qtbot, hub: FakeHub, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from app.ui.models.models_pane import ModelsPane

    hub.behaviour.throttle = 0.002  # many progress updates queue up behind the final one
    storage = Storage(tmp_path / "db.sqlite")
    manager = ModelManager(ModelLibrary(tmp_path / "models"), HubClient())
    pane = ModelsPane(manager, storage, lambda *_a: [], lambda: 2048)
    qtbot.addWidget(pane)
    messages: list[str] = []
    finished: list[object] = []
    pane.status_message.connect(messages.append)
    pane.download_finished.connect(finished.append)
    files = HubClient().files("TestOrg/Tiny-GGUF")
    [first] = manager.download(files, files.groups[0])
    assert isinstance(first, DownloadSnapshot)
    qtbot.waitUntil(lambda: len(finished) > 0, timeout=60_000)
    manager.downloads.wait(first.id)
    qtbot.waitUntil(lambda: pane.downloads_view.status_of(first.id).startswith("Done"), timeout=10_000)
    QApplication.processEvents()  # the worker has ended: every update it sent is queued by now; deliver them
    QApplication.processEvents()
    assert len(finished) == 1 and finished[0].status == "done"
    assert sum("Downloaded and verified" in m for m in messages) == 1
    storage.close()
