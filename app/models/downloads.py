"""Downloads that survive anything: ranged, resumable across restarts, verified by sha256.

huggingface_hub 2.x deletes a failed download's temp file, so it cannot resume
across calls or restarts (FACTS.md). Inkling downloads the Hub's resolve URL
itself, through huggingface_hub's own HTTP session: bytes go to
``<file>.part`` with a ``<file>.part.json`` sidecar describing the job, a dropped
connection continues with a ``Range`` request, a restart finds the sidecar and
offers to resume, and only a file whose sha256 matches the Hub's metadata is
renamed into place. The library never lists ``.part`` files.

The GUI never sees the live ``Download`` that a worker thread mutates: every
update is a frozen ``DownloadSnapshot`` taken under the manager's lock, and each
run of a job announces its final state (done, failed, cancelled, paused) exactly
once — also when something unexpected goes wrong inside it.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any

from app.core.errors import DiskFull, DownloadError, HashMismatch, HubError, InklingError
from app.core.system import free_disk
from app.models.hub import HubClient

CHUNK = 256 * 1024
FINAL = ("done", "failed", "cancelled", "paused")
RETRIES = 6
DISK_MARGIN = 64 * 1024**2


def _http_errors() -> tuple[type[BaseException], ...]:
    for name in ("httpx2", "httpx"):
        try:
            mod = importlib.import_module(name)
            return (mod.TransportError, mod.StreamError)  # type: ignore[attr-defined]
        except (ImportError, AttributeError):
            continue
    return (OSError,)


@dataclass(frozen=True)
class DownloadSnapshot:
    """What a download looked like at one moment: safe to hand to another thread."""

    id: int
    repo_id: str
    filename: str
    revision: str
    size: int
    sha256: str
    dest: str
    downloaded: int
    status: str
    error: str
    speed: float

    @property
    def fraction(self) -> float:
        return self.downloaded / self.size if self.size else 0.0

    @property
    def eta(self) -> float | None:
        if self.speed <= 0 or not self.size:
            return None
        return (self.size - self.downloaded) / self.speed

    @property
    def final(self) -> bool:
        return self.status in FINAL


@dataclass
class Download:
    """One file being fetched (live, owned by the manager and its worker thread).

    ``status``: queued, downloading, paused, verifying, done, failed, cancelled.
    """

    id: int
    repo_id: str
    filename: str
    revision: str
    size: int
    sha256: str
    dest: str
    downloaded: int = 0
    status: str = "queued"
    error: str = ""
    speed: float = 0.0  # bytes/s
    _pause: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    _announced: str = field(default="", repr=False, compare=False)  # the final state this run announced

    def snapshot(self) -> DownloadSnapshot:
        return DownloadSnapshot(self.id, self.repo_id, self.filename, self.revision, self.size, self.sha256,
                                self.dest, self.downloaded, self.status, self.error, self.speed)

    @property
    def fraction(self) -> float:
        return self.downloaded / self.size if self.size else 0.0

    @property
    def eta(self) -> float | None:
        if self.speed <= 0 or not self.size:
            return None
        return (self.size - self.downloaded) / self.speed

    @property
    def part(self) -> Path:
        return Path(self.dest + ".part")

    @property
    def sidecar(self) -> Path:
        return Path(self.dest + ".part.json")

    def save_sidecar(self) -> None:
        data = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        data.update(status="paused", speed=0.0)
        self.sidecar.write_text(json.dumps(data), encoding="utf-8")


def safe_destination(models_dir: Path, repo_id: str, filename: str) -> Path:
    """models/<owner>/<repo>/<filename>, refusing names that climb out of it."""
    parts = PurePosixPath(repo_id).parts + PurePosixPath(filename).parts
    if any(p in ("..", "") or p.startswith("/") for p in parts) or len(PurePosixPath(repo_id).parts) != 2:
        raise DownloadError(f"refusing a suspicious file name from the Hub: {repo_id}/{filename}")
    return models_dir.joinpath(*parts)


class DownloadManager:
    """A queue of downloads running on background threads (at most ``parallel`` at once).

    ``on_update(snapshot)`` is called from those threads whenever a download
    changes, with a frozen ``DownloadSnapshot``; the UI hands it over to the GUI
    thread. A run's final state is announced once.
    """

    def __init__(self, models_dir: Path, hub: HubClient | None = None, parallel: int = 2,
                 on_update: Callable[[DownloadSnapshot], None] | None = None) -> None:
        self.models_dir = models_dir
        self.hub = hub or HubClient()
        self.parallel = parallel
        self.on_update = on_update
        self.downloads: dict[int, Download] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._threads: dict[int, threading.Thread] = {}

    # -- queue --------------------------------------------------------------------------

    def add(self, repo_id: str, filename: str, revision: str, size: int, sha256: str,
            folder: Path | None = None) -> Download:
        """Queue ``filename``; it lands in ``models/<owner>/<repo>/``, or straight in ``folder`` (adapters)."""
        dest = safe_destination(self.models_dir, repo_id, filename)
        if folder is not None:
            dest = folder / dest.name
        if dest.exists():
            raise DownloadError(f"{filename} is already downloaded ({dest}).")
        existing = next((d for d in self.downloads.values() if d.dest == str(dest) and d.status not in
                         ("done", "cancelled", "failed")), None)
        if existing is not None:
            return existing
        dest.parent.mkdir(parents=True, exist_ok=True)
        job = Download(next(self._ids), repo_id, filename, revision, size, sha256, str(dest))
        if job.part.exists():
            job.downloaded = job.part.stat().st_size
        needed = size - job.downloaded
        free = free_disk(dest.parent)
        if needed + DISK_MARGIN > free:
            raise DiskFull(needed, free, str(dest.parent))
        job.save_sidecar()
        with self._lock:
            self.downloads[job.id] = job
        self._notify(job)
        self._pump()
        return job

    def restore(self) -> list[Download]:
        """Downloads left unfinished by an earlier run, found by their sidecars (paused)."""
        found = []
        for sidecar in sorted(self.models_dir.rglob("*.gguf.part.json")):
            try:
                data = json.loads(sidecar.read_text(encoding="utf-8"))
                job = Download(next(self._ids), data["repo_id"], data["filename"], data["revision"],
                               int(data["size"]), data["sha256"], data["dest"], status="paused",
                               error=data.get("error", ""))
            except (OSError, ValueError, KeyError, TypeError):
                continue
            job.downloaded = job.part.stat().st_size if job.part.exists() else 0
            with self._lock:
                self.downloads[job.id] = job
            found.append(job)
            self._notify(job)
        return found

    def pause(self, job_id: int) -> None:
        job = self.downloads[job_id]
        if job.status in ("queued", "downloading"):
            job._pause.set()
            if job.status == "queued":
                job.status = "paused"
                self._notify(job)

    def resume(self, job_id: int) -> None:
        job = self.downloads[job_id]
        with self._lock:
            if job.status not in ("paused", "failed") or job._cancel.is_set() or job_id in self._threads:
                return
            job._pause.clear()
            job.error = ""
            job.status = "queued"
            job._announced = ""  # a new run, which will announce its own end
        self._notify(job)
        self._pump()

    def cancel(self, job_id: int) -> None:
        job = self.downloads[job_id]
        with self._lock:
            if job.status == "done":
                return  # finished and verified: there is nothing left to cancel
            job._cancel.set()
            running = job_id in self._threads
            if not running:
                job.status = "cancelled"
        if not running:  # a running job's thread discards and announces it
            self._discard(job)
            self._notify(job)

    def wait(self, job_id: int, timeout: float = 60.0) -> Download:
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
        return self.downloads[job_id]

    def _pump(self) -> None:
        with self._lock:
            running = sum(1 for t in self._threads.values() if t.is_alive())
            for job in self.downloads.values():
                if running >= self.parallel:
                    break
                if job.status == "queued" and job.id not in self._threads:
                    thread = threading.Thread(target=self._run, args=(job,), name=f"download-{job.id}", daemon=True)
                    self._threads[job.id] = thread
                    running += 1
                    thread.start()

    def _notify(self, job: Download) -> None:
        """Tell the listener, with a snapshot; a run's final state only once."""
        with self._lock:
            snap = job.snapshot()
            if snap.final:
                if job._announced == snap.status:
                    return
                job._announced = snap.status
        if self.on_update is not None:
            self.on_update(snap)

    def _discard(self, job: Download) -> None:
        for path in (job.part, job.sidecar):
            path.unlink(missing_ok=True)

    # -- transfer -----------------------------------------------------------------------------

    def _open_part(self, job: Download) -> Any:
        return job.part.open("ab")

    def _run(self, job: Download) -> None:
        try:
            job.status = "downloading"
            self._notify(job)
            self._transfer(job)
        except Exception as exc:  # every outcome ends the job; a surprise is a failure with its message
            error = str(exc) if isinstance(exc, InklingError) else (
                f"The download of {job.filename} failed unexpectedly ({type(exc).__name__}: {exc}). "
                "What was downloaded is kept; resume it to try again.")
            job.status = "failed"
            job.error = error
            with contextlib.suppress(OSError):
                if job.sidecar.exists():
                    job.save_sidecar()
        finally:
            with self._lock:
                if job._cancel.is_set():
                    job.status = "cancelled"
                elif job.status in ("downloading", "verifying", "queued"):
                    # stopped without an outcome: paused on request, else an ending nobody explained
                    if job._pause.is_set():
                        job.status = "paused"
                    else:
                        job.status, job.error = "failed", job.error or "The download stopped unexpectedly."
                job.speed = 0.0
                self._threads.pop(job.id, None)
            if job.status == "cancelled":
                with contextlib.suppress(OSError):
                    self._discard(job)
            self._notify(job)
            self._pump()

    def _transfer(self, job: Download) -> None:
        from huggingface_hub import get_session

        transport_errors = _http_errors()
        url = self.hub.download_url(job.repo_id, job.filename, job.revision)
        hasher = hashlib.sha256()
        have = job.part.stat().st_size if job.part.exists() else 0
        if have > job.size:
            job.part.unlink()
            have = 0
        if have:
            with job.part.open("rb") as f:  # resuming: the hash must cover what is already on disk
                for block in iter(lambda: f.read(CHUNK), b""):
                    hasher.update(block)
        job.downloaded = have
        failures = 0
        last_note = 0.0
        window_start, window_bytes = time.monotonic(), 0
        while have < job.size:
            if job._pause.is_set() or job._cancel.is_set():
                return
            headers = {**self.hub.headers(), "Range": f"bytes={have}-", "Accept-Encoding": "identity"}
            try:
                with get_session().stream("GET", url, headers=headers, follow_redirects=True,
                                          timeout=30.0) as response:
                    status = response.status_code
                    if status == 200 and have:  # the server ignored Range: start over
                        have = 0
                        hasher = hashlib.sha256()
                        job.part.write_bytes(b"")
                    elif status not in (200, 206):
                        raise _status_error(status, job)
                    with self._open_part(job) as out:
                        for chunk in response.iter_bytes(CHUNK):
                            if job._pause.is_set() or job._cancel.is_set():
                                return
                            _write(out, chunk, job)
                            hasher.update(chunk)
                            have += len(chunk)
                            job.downloaded = have
                            window_bytes += len(chunk)
                            now = time.monotonic()
                            if now - window_start >= 0.5:
                                job.speed = window_bytes / (now - window_start)
                                window_start, window_bytes = now, 0
                            if now - last_note >= 0.2:
                                last_note = now
                                self._notify(job)
                    failures = 0
            except transport_errors as exc:  # dropped connection: continue from where it broke
                failures += 1
                if failures > RETRIES:
                    raise DownloadError(f"The connection kept dropping ({exc}). {job.filename} is paused "
                                        "with what was downloaded kept; resume it later.") from None
                time.sleep(min(0.2 * 2**failures, 5.0))
        job.status = "verifying"
        self._notify(job)
        digest = hasher.hexdigest()
        if job.sha256 and digest != job.sha256.lower():
            self._discard(job)
            job.downloaded = 0
            raise HashMismatch(job.filename, job.sha256, digest)
        Path(job.part).replace(job.dest)
        job.sidecar.unlink(missing_ok=True)
        job.status = "done"


def _write(out: Any, chunk: bytes, job: Download) -> None:
    try:
        out.write(chunk)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            out.flush()
            raise DiskFull(job.size - job.downloaded, free_disk(Path(job.dest).parent), str(Path(job.dest).parent)) from None
        raise DownloadError(f"Could not write {job.part}: {exc.strerror or exc}") from None


def _status_error(status: int, job: Download) -> HubError:
    name = f"{job.repo_id}/{job.filename}"
    if status in (401, 403):
        return HubError(f"The Hub refused {name} ({status}): it is gated or private. Accept its terms on the Hub "
                        "and log in with `hf auth login`.")
    if status == 404:
        return HubError(f"{name} is no longer on the Hub (404).")
    if status == 416:
        return HubError(f"The Hub could not resume {name} (416); cancel and download it again.")
    return HubError(f"The Hub answered {status} for {name}. Try again later; the download is kept.")
