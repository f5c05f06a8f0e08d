"""huggingface_hub against a fake Hub on 127.0.0.1: search, files, and downloads that survive anything."""

from __future__ import annotations

import errno
import hashlib
import socket
import time
from pathlib import Path

import pytest
from models.conftest import TINY
from models.fake_hub import FakeHub

from app.core.errors import DiskFull, HubError, HubOffline
from app.models import downloads as downloads_module
from app.models.downloads import DownloadManager
from app.models.hub import HubClient
from app.models.library import ModelLibrary


def _wait(manager: DownloadManager, job_id: int, statuses: tuple[str, ...], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while manager.downloads[job_id].status not in statuses:
        assert time.monotonic() < deadline, manager.downloads[job_id]
        time.sleep(0.02)


def _add(manager: DownloadManager, repo: str, filename: str):
    files = HubClient().files(repo)
    f = files.file(filename)
    return manager.add(repo, filename, files.revision, f.size, f.sha256)


def test_search_finds_gguf_repos_in_the_chosen_order(hub: FakeHub) -> None:
    client = HubClient()
    by_downloads = [r.repo_id for r in client.search("GGUF", sort="downloads")]
    assert by_downloads[:3] == ["TestOrg/SmolLM2-135M-GGUF", "TestOrg/Tiny-GGUF", "TestOrg/Corrupt-GGUF"]
    by_likes = [r.repo_id for r in client.search("GGUF", sort="likes")]
    assert by_likes[0] == "TestOrg/Tiny-GGUF"
    assert [r.repo_id for r in client.search("tiny")] == ["TestOrg/Tiny-GGUF"]
    hit = client.search("smollm2")[0]
    assert hit.downloads == 500 and hit.likes == 3


def test_a_repo_lists_its_gguf_files_by_quantization_with_sizes(hub: FakeHub, starter_path: Path) -> None:
    files = HubClient().files("TestOrg/SmolLM2-135M-GGUF")
    assert [f.path for f in files.files] == ["SmolLM2-135M-Instruct-Q4_1.gguf", "SmolLM2-135M-Instruct-Q8_0.gguf"]
    assert {g.quant: g.size for g in files.groups} == {"Q4_1": starter_path.stat().st_size, "Q8_0": 3 * 1024 * 1024}
    assert all(len(f.sha256) == 64 for f in files.files)
    assert len(files.revision) == 40


def test_a_download_reports_progress_and_lands_verified(hub: FakeHub, tmp_path: Path) -> None:
    hub.behaviour.throttle = 0.01
    updates: list[int] = []
    manager = DownloadManager(tmp_path / "models", on_update=lambda d: updates.append(d.downloaded))
    job = _add(manager, "TestOrg/Tiny-GGUF", "tiny-Q4_K_M.gguf")
    _wait(manager, job.id, ("done", "failed"))
    assert job.status == "done", job.error
    dest = Path(job.dest)
    assert dest == tmp_path / "models" / "TestOrg" / "Tiny-GGUF" / "tiny-Q4_K_M.gguf"
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == hashlib.sha256(TINY).hexdigest()
    assert not job.part.exists() and not job.sidecar.exists()
    progress = [u for u in updates if 0 < u < len(TINY)]
    assert len(progress) >= 3 and progress == sorted(progress)  # it moved forward, visibly
    assert dest in ModelLibrary(tmp_path / "models").files()


def test_pause_and_resume_across_a_restart(hub: FakeHub, tmp_path: Path) -> None:
    hub.behaviour.throttle = 0.01
    first = DownloadManager(tmp_path / "models")
    job = _add(first, "TestOrg/Tiny-GGUF", "tiny-Q4_K_M.gguf")
    deadline = time.monotonic() + 30
    while job.downloaded < 1_000_000:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    first.pause(job.id)
    _wait(first, job.id, ("paused",))
    first.wait(job.id)
    kept = job.part.stat().st_size
    assert 0 < kept < len(TINY) and job.sidecar.exists()
    assert ModelLibrary(tmp_path / "models").files() == []  # a partial file is never listed

    hub.behaviour.throttle = 0.0
    second = DownloadManager(tmp_path / "models")  # the app restarted
    [restored] = second.restore()
    assert restored.status == "paused" and restored.downloaded == kept
    second.resume(restored.id)
    _wait(second, restored.id, ("done", "failed"))
    assert restored.status == "done", restored.error
    assert Path(restored.dest).read_bytes() == TINY
    assert f"bytes={kept}-" in hub.behaviour.ranges  # it asked only for the rest


def test_a_dropped_connection_resumes_and_the_hash_is_right(hub: FakeHub, tmp_path: Path) -> None:
    hub.behaviour.drop_after = 1_500_000
    manager = DownloadManager(tmp_path / "models")
    job = _add(manager, "TestOrg/Tiny-GGUF", "tiny-Q4_K_M.gguf")
    _wait(manager, job.id, ("done", "failed"))
    assert job.status == "done", job.error
    assert Path(job.dest).read_bytes() == TINY
    assert hub.behaviour.dropped == {"tiny-Q4_K_M.gguf"}
    assert any(r.startswith("bytes=") and r != "bytes=0-" for r in hub.behaviour.ranges)


def test_a_wrong_hash_is_rejected_and_removed(hub: FakeHub, tmp_path: Path) -> None:
    manager = DownloadManager(tmp_path / "models")
    job = _add(manager, "TestOrg/Corrupt-GGUF", "bad-Q4_K_M.gguf")
    _wait(manager, job.id, ("done", "failed"))
    assert job.status == "failed"
    assert "checksum" in job.error and "removed" in job.error
    assert not Path(job.dest).exists() and not job.part.exists() and not job.sidecar.exists()


@pytest.mark.parametrize(("repo", "words"), [
    ("TestOrg/Nope-GGUF", "not found"),
    ("secret/private-GGUF", "log"),
    ("broken/server-GGUF", "Try again"),
])
def test_hub_errors_become_clear_messages(hub: FakeHub, repo: str, words: str) -> None:
    with pytest.raises(HubError) as caught:
        HubClient().files(repo)
    assert words in str(caught.value) and repo in str(caught.value)


def test_a_full_disk_is_caught_before_starting(hub: FakeHub, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(downloads_module, "free_disk", lambda _path: 1_000_000)
    manager = DownloadManager(tmp_path / "models")
    with pytest.raises(DiskFull) as caught:
        _add(manager, "TestOrg/Tiny-GGUF", "tiny-Q4_K_M.gguf")
    assert "Free some space" in str(caught.value)
    assert ModelLibrary(tmp_path / "models").files() == []


def test_a_disk_that_fills_up_mid_download_is_a_clear_message_and_nothing_is_listed(hub: FakeHub, tmp_path: Path,
                                                                                   monkeypatch) -> None:
    class FillingFile:
        def __init__(self, real):
            self.real, self.written = real, 0

        def write(self, data: bytes) -> int:
            if self.written + len(data) > 2_000_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += len(data)
            return self.real.write(data)

        def flush(self) -> None:
            self.real.flush()

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.real.close()

    monkeypatch.setattr(DownloadManager, "_open_part", lambda self, job: FillingFile(job.part.open("ab")))
    manager = DownloadManager(tmp_path / "models")
    job = _add(manager, "TestOrg/Tiny-GGUF", "tiny-Q4_K_M.gguf")
    _wait(manager, job.id, ("done", "failed"))
    assert job.status == "failed" and "disk" in job.error.lower()
    assert not Path(job.dest).exists()
    assert ModelLibrary(tmp_path / "models").files() == []
    assert job.part.exists() and job.sidecar.exists()  # what arrived is kept, to resume after freeing space


def test_offline_mode_is_a_clear_state_not_an_error_storm(hub: FakeHub, monkeypatch) -> None:
    # huggingface_hub refuses by itself under HF_HUB_OFFLINE, so "nothing was sent" alone holds without
    # Inkling's guard. What the guard adds: "offline" at once, before any name lookup or connection (on a
    # machine without a network, looking the Hub's name up can hang for the resolver's timeout).
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    network: list[str] = []
    real_lookup, real_connect = socket.getaddrinfo, socket.socket.connect

    def lookup(host, *args, **kwargs):
        network.append(f"looked up {host}")
        return real_lookup(host, *args, **kwargs)

    def connect(sock, address):
        network.append(f"connected to {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.setattr(socket.socket, "connect", connect)
    started = time.monotonic()
    with pytest.raises(HubOffline) as caught:
        HubClient().search("gguf")
    elapsed = time.monotonic() - started
    assert network == [], f"offline, yet Inkling went to the network: {network}"
    assert elapsed < 1.0, f"offline was said after {elapsed:.2f} s"
    assert "Offline mode" in str(caught.value)
    assert not hub.behaviour.requests  # nothing was sent


def test_a_gated_repo_uses_the_token_from_huggingface_hubs_login(hub: FakeHub, tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(HubError) as caught:
        HubClient().files("TestOrg/Gated-GGUF")
    assert "hf auth login" in str(caught.value)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")  # what `hf auth login` / the token store provides
    manager = DownloadManager(tmp_path / "models")
    job = _add(manager, "TestOrg/Gated-GGUF", "gated-Q4_K_M.gguf")
    _wait(manager, job.id, ("done", "failed"))
    assert job.status == "done", job.error
    assert Path(job.dest).read_bytes() == TINY[:300_000]
