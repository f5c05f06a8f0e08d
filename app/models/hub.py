"""Searching the Hugging Face Hub for GGUF models and listing a repo's files (huggingface_hub).

``HF_ENDPOINT`` and ``HF_HUB_OFFLINE`` are honoured as huggingface_hub defines
them, read when a request is made (so the app and the tests can change them).
Every Hub failure becomes a HubError with a message a person can act on.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from app.core.errors import HubError, HubOffline, HubUnreachable
from app.models.quant import QuantGroup, group_by_quant


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE")


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def check_reachable() -> None:
    """Raise HubUnreachable at once when the Hub's host name cannot be looked up.

    huggingface_hub retries a failed connection five times with back-off (~23 s);
    a name that does not resolve will not resolve on a retry, so that is checked first.
    """
    host = urlsplit(endpoint()).hostname or ""
    if not host:
        return
    try:
        socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        if exc.errno in _NAME_FAILURES:
            raise HubUnreachable(host) from None
    except (UnicodeError, OSError):
        return  # let the request itself report anything else


_NAME_FAILURES = {getattr(socket, name) for name in ("EAI_NONAME", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA")
                  if hasattr(socket, name)}


def token() -> str | None:
    """The token from huggingface_hub's own login store (for gated repos), if any."""
    from huggingface_hub import get_token

    try:
        return get_token()
    except Exception:
        return None


EMBEDDING_TAGS = ("sentence-similarity", "feature-extraction")
"""The Hub's pipeline tags of embedding models (nomic-embed-text, all-MiniLM, bge, embeddinggemma…)."""
ADAPTER_TAGS = ("lora", "gguf-my-lora")
"""Tags of GGUF LoRA adapters: PEFT's ``lora``, and what llama.cpp's GGUF-my-LoRA space puts on its repos."""


@dataclass(frozen=True)
class HubKind:
    """What a Hub search looks for: each query is one ``list_models`` call (its filters are ANDed by the Hub).

    The calls' hits are merged (a repo once), and hits that carry an ``exclude`` tag or
    pipeline tag are dropped: the Hub cannot say "not" in one query.
    """

    name: str
    label: str
    queries: tuple[dict[str, Any], ...]
    exclude: tuple[str, ...] = ()


KINDS: dict[str, HubKind] = {k.name: k for k in (
    HubKind("chat", "Chat models", ({"filter": ["gguf"]},),
            exclude=(*EMBEDDING_TAGS, *ADAPTER_TAGS)),
    HubKind("embedding", "Embedding models",
            tuple({"filter": ["gguf"], "pipeline_tag": tag} for tag in EMBEDDING_TAGS)),
    HubKind("adapter", "Adapters (LoRA)", tuple({"filter": ["gguf", tag]} for tag in ADAPTER_TAGS)),
)}
"""The kinds of GGUF a person can look for on the Hub, by name."""


@dataclass(frozen=True)
class RepoSummary:
    """A search hit; ``kind`` is the kind of search that found it."""

    repo_id: str
    downloads: int = 0
    likes: int = 0
    updated: datetime | None = None
    gated: bool = False
    kind: str = "chat"
    pipeline_tag: str = ""


@dataclass(frozen=True)
class HubFile:
    """A file of a repo, with what is needed to download and verify it."""

    path: str
    size: int
    sha256: str = ""


@dataclass(frozen=True)
class RepoFiles:
    """A repo's GGUF files at one commit, grouped by quantization."""

    repo_id: str
    revision: str
    files: list[HubFile]
    groups: list[QuantGroup] = field(default_factory=list)
    gated: bool = False

    def file(self, path: str) -> HubFile:
        return next(f for f in self.files if f.path == path)


def _name_not_found(exc: BaseException) -> bool:
    """A failed name lookup anywhere in the exception's chain (httpx wraps socket.gaierror)."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, socket.gaierror) or "Name or service not known" in str(exc) or "nodename nor servname" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
        seen += 1
    return False


def _explain(exc: Exception, what: str) -> HubError:
    from huggingface_hub import errors

    if isinstance(exc, errors.OfflineModeIsEnabled):
        return HubOffline()
    if _name_not_found(exc):
        return HubUnreachable(urlsplit(endpoint()).hostname or endpoint())
    if isinstance(exc, errors.GatedRepoError):
        return HubError(f"{what} is gated: accept its terms on the Hub, then log in with `hf auth login` "
                        "so Inkling can use your token.")
    if isinstance(exc, errors.RepositoryNotFoundError):
        status = getattr(getattr(exc, "response", None), "status_code", 404)
        if status == 401:
            return HubError(f"{what} needs a login (it is private or gated). Log in with `hf auth login` and try again.")
        return HubError(f"{what} was not found on the Hub (check the name; it may be private).")
    if isinstance(exc, (errors.EntryNotFoundError, errors.RemoteEntryNotFoundError)):
        return HubError(f"{what}: that file is not in the repository any more.")
    if isinstance(exc, errors.RevisionNotFoundError):
        return HubError(f"{what}: that revision does not exist.")
    if isinstance(exc, errors.HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status == 401 or status == 403:
            return HubError(f"{what} refused access ({status}). Log in with `hf auth login` if it is gated.")
        if status and status >= 500:
            return HubError(f"The Hub had a problem ({status}) with {what}. Try again in a few minutes.")
        return HubError(f"The Hub answered {status or 'an error'} for {what}: {exc}")
    return HubError(f"Could not reach the Hub ({endpoint()}) for {what}: {type(exc).__name__}: {exc}")


def _sort_key(sort: str) -> Any:
    """Order merged hits as the Hub orders one list (most first)."""
    if sort == "likes":
        return lambda r: r.likes
    if sort == "last_modified":
        return lambda r: r.updated.timestamp() if r.updated else 0.0
    return lambda r: r.downloads


class HubClient:
    """Thin, typed wrapper over huggingface_hub's HfApi."""

    def _api(self) -> Any:
        if offline():
            raise HubOffline()
        check_reachable()
        from huggingface_hub import HfApi

        return HfApi(endpoint=endpoint(), token=token() or False)

    def search(self, query: str, sort: str = "downloads", limit: int = 40, kind: str = "chat") -> list[RepoSummary]:
        """GGUF repos of ``kind`` (see ``KINDS``) matching ``query``, best first by ``sort``."""
        wanted = KINDS.get(kind)
        if wanted is None:
            raise HubError(f"Unknown kind of model {kind!r}; choose one of {', '.join(KINDS)}.")
        api = self._api()
        found: dict[str, RepoSummary] = {}
        try:
            for params in wanted.queries:
                models = api.list_models(**params, search=query or None, sort=sort, limit=limit,
                                         expand=["downloads", "likes", "lastModified", "gated", "pipeline_tag", "tags"])
                for m in models:
                    marks = {*(m.tags or ()), m.pipeline_tag or ""}
                    if m.id in found or marks & set(wanted.exclude):
                        continue
                    found[m.id] = RepoSummary(m.id, int(m.downloads or 0), int(m.likes or 0), m.last_modified,
                                              bool(m.gated), kind, m.pipeline_tag or "")
        except Exception as exc:
            raise _explain(exc, f"the search “{query}”") from None
        return sorted(found.values(), key=_sort_key(sort), reverse=True)[:limit]

    def files(self, repo_id: str, revision: str | None = None) -> RepoFiles:
        api = self._api()
        try:
            info = api.model_info(repo_id, revision=revision, files_metadata=True)
        except Exception as exc:
            raise _explain(exc, repo_id) from None
        files = []
        for sib in info.siblings or []:
            if not sib.rfilename.lower().endswith(".gguf"):
                continue
            lfs = sib.lfs
            size = int((lfs.size if lfs else None) or sib.size or 0)
            files.append(HubFile(sib.rfilename, size, (lfs.sha256 if lfs else "") or ""))
        return RepoFiles(repo_id, info.sha or revision or "main", files,
                         group_by_quant((f.path, f.size) for f in files), bool(getattr(info, "gated", False)))

    def download_url(self, repo_id: str, filename: str, revision: str) -> str:
        from huggingface_hub import hf_hub_url

        return hf_hub_url(repo_id, filename, revision=revision, endpoint=endpoint())

    def headers(self) -> dict[str, str]:
        from huggingface_hub.utils import build_hf_headers

        return dict(build_hf_headers(token=token() or False))
