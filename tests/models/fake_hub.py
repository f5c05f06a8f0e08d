"""A fake Hugging Face Hub on 127.0.0.1 for the tests (huggingface_hub talks to it through HF_ENDPOINT).

It serves what huggingface_hub and Inkling's downloader ask for: model search,
model info with LFS sha256, the file tree, and ``resolve`` URLs with Range
support. Switches make it misbehave: throttle a transfer, drop the connection
mid-file, serve bytes that do not match the advertised hash, or answer 401/404/500.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class FakeFile:
    path: str
    source: Path | None = None  # serve this file's bytes
    data: bytes = b""  # or these
    advertised_sha: str = ""  # override (a lie) for corruption tests

    def size(self) -> int:
        return self.source.stat().st_size if self.source else len(self.data)

    def read(self, start: int, end: int) -> bytes:
        if self.source:
            with self.source.open("rb") as f:
                f.seek(start)
                return f.read(end - start)
        return self.data[start:end]

    def sha256(self) -> str:
        if self.advertised_sha:
            return self.advertised_sha
        h = hashlib.sha256()
        if self.source:
            with self.source.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        else:
            h.update(self.data)
        return h.hexdigest()


@dataclass
class FakeRepo:
    repo_id: str
    files: list[FakeFile]
    downloads: int = 0
    likes: int = 0
    updated: str = "2026-01-01T00:00:00.000Z"
    status: int = 200  # 401/404/500 to misbehave
    token: str = ""  # gated: requests need "Authorization: Bearer <token>"
    tags: list[str] = field(default_factory=lambda: ["gguf"])  # a search's ``filter`` values must all be here
    pipeline_tag: str = "text-generation"
    hold: threading.Event | None = None  # set: the repo's answers wait until it is set (a slow Hub, for a race)


@dataclass
class Behaviour:
    throttle: float = 0.0  # seconds to sleep per 64 KiB sent
    drop_after: int = 0  # close the connection after sending this many bytes (once per file)
    dropped: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)
    ranges: list[str] = field(default_factory=list)


class FakeHub:
    def __init__(self, repos: list[FakeRepo]) -> None:
        self.repos = {r.repo_id: r for r in repos}
        self.behaviour = Behaviour()
        self._shas: dict[str, str] = {}
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                hub.handle(self, head=True)

            def do_GET(self) -> None:
                hub.handle(self, head=False)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def sha(self, f: FakeFile) -> str:
        key = f"{f.path}:{f.advertised_sha}"
        if key not in self._shas:
            self._shas[key] = f.sha256()
        return self._shas[key]

    # -- routing ---------------------------------------------------------------------------

    def handle(self, req: BaseHTTPRequestHandler, head: bool) -> None:
        url = urlparse(req.path)
        path = unquote(url.path)
        query = parse_qs(url.query)
        self.behaviour.requests.append(f"{'HEAD' if head else 'GET'} {req.path}")
        if path == "/api/models":
            return self._search(req, query)
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", path)
        if m:
            return self._info(req, m.group(1))
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)(?:/.*)?", path)
        if m:
            return self._tree(req, m.group(1))
        m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        if m:
            return self._resolve(req, m.group(1), m.group(3), head)
        self._json(req, {"error": "not found"}, 404)

    def _json(self, req: BaseHTTPRequestHandler, data: object, status: int = 200, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        req.end_headers()
        req.wfile.write(body)

    def _repo_or_error(self, req: BaseHTTPRequestHandler, repo_id: str) -> FakeRepo | None:
        repo = self.repos.get(repo_id)
        if repo is None:
            self._json(req, {"error": "Repository not found"}, 404, {"X-Error-Code": "RepoNotFound"})
            return None
        if repo.hold is not None:
            repo.hold.wait(30)
        if repo.token and req.headers.get("Authorization") != f"Bearer {repo.token}":
            self._json(req, {"error": "Access to this repo is restricted"}, 401, {"X-Error-Code": "GatedRepo"})
            return None
        if repo.status != 200:
            extra = {"X-Error-Code": "RepoNotFound"} if repo.status in (401, 404) else {}
            self._json(req, {"error": f"status {repo.status}"}, repo.status, extra)
            return None
        return repo

    def _search(self, req: BaseHTTPRequestHandler, query: dict[str, list[str]]) -> None:
        search = (query.get("search") or [""])[0].lower()
        sort = (query.get("sort") or ["downloads"])[0]
        limit = int((query.get("limit") or ["50"])[0])
        wanted = query.get("filter") or []  # the Hub ANDs filters, and pipeline_tag with them
        pipeline = (query.get("pipeline_tag") or [""])[0]
        hits = [r for r in self.repos.values() if search in r.repo_id.lower() and all(t in r.tags for t in wanted)
                and (not pipeline or r.pipeline_tag == pipeline)]
        key = {"downloads": lambda r: r.downloads, "likes": lambda r: r.likes}.get(sort, lambda r: r.updated)
        hits.sort(key=key, reverse=True)
        self._json(req, [{"id": r.repo_id, "modelId": r.repo_id, "downloads": r.downloads, "likes": r.likes,
                          "lastModified": r.updated, "gated": False, "tags": r.tags,
                          "pipeline_tag": r.pipeline_tag} for r in hits[:limit]])

    def _info(self, req: BaseHTTPRequestHandler, repo_id: str) -> None:
        repo = self._repo_or_error(req, repo_id)
        if repo is None:
            return
        siblings = [{"rfilename": f.path, "size": f.size(), "blobId": self.sha(f)[:40],
                     "lfs": {"size": f.size(), "sha256": self.sha(f), "pointerSize": 134}} for f in repo.files]
        self._json(req, {"id": repo.repo_id, "modelId": repo.repo_id, "sha": COMMIT, "private": False,
                         "gated": False, "downloads": repo.downloads, "likes": repo.likes,
                         "lastModified": repo.updated, "tags": repo.tags, "pipeline_tag": repo.pipeline_tag,
                         "siblings": siblings})

    def _tree(self, req: BaseHTTPRequestHandler, repo_id: str) -> None:
        repo = self._repo_or_error(req, repo_id)
        if repo is None:
            return
        self._json(req, [{"type": "file", "path": f.path, "oid": self.sha(f)[:40], "size": f.size(),
                          "lfs": {"oid": self.sha(f), "size": f.size(), "pointerSize": 134}} for f in repo.files])

    def _resolve(self, req: BaseHTTPRequestHandler, repo_id: str, filename: str, head: bool) -> None:
        repo = self._repo_or_error(req, repo_id)
        if repo is None:
            return
        f = next((x for x in repo.files if x.path == filename), None)
        if f is None:
            self._json(req, {"error": "Entry not found"}, 404, {"X-Error-Code": "EntryNotFound"})
            return
        size = f.size()
        start, end = 0, size
        rng = req.headers.get("Range")
        if not head:
            self.behaviour.ranges.append(rng or "")
        status = 200
        if rng:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
            if m:
                start = int(m.group(1))
                end = int(m.group(2)) + 1 if m.group(2) else size
                if start >= size:
                    self._json(req, {"error": "range"}, 416)
                    return
                status = 206
        req.send_response(status)
        req.send_header("Content-Length", str(end - start))
        req.send_header("Accept-Ranges", "bytes")
        req.send_header("ETag", f'"{self.sha(f)}"')
        req.send_header("X-Repo-Commit", COMMIT)
        if status == 206:
            req.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        req.end_headers()
        if head:
            return
        sent = 0
        pos = start
        drop = self.behaviour.drop_after and filename not in self.behaviour.dropped
        while pos < end:
            block = f.read(pos, min(end, pos + 65536))
            if drop and sent + len(block) > self.behaviour.drop_after:
                self.behaviour.dropped.add(filename)
                req.wfile.write(block[: max(0, self.behaviour.drop_after - sent)])
                req.wfile.flush()
                req.close_connection = True
                req.connection.shutdown(2)  # the connection drops mid-file
                return
            try:
                req.wfile.write(block)
            except (BrokenPipeError, ConnectionResetError):
                return
            sent += len(block)
            pos += len(block)
            if self.behaviour.throttle:
                time.sleep(self.behaviour.throttle)
