"""The app's embedding model for sources: which model turns passages and questions into vectors.

One small JSON file in the config folder (``embedding-model.json``), written by the Models
pane ("Use for sources") and read by whoever indexes a collection
(``app/engine/source_jobs.index``). The spec a collection was embedded with is kept in
that collection's index (meta ``embedder_spec``) and questions are embedded with that
same spec (``ChatSources``), so vectors of two models are never compared: a collection
takes a newly chosen model on its next indexing, which embeds it anew.

A server's ``/v1/embeddings`` is chosen by its connection: the spec names the connection,
never its API key (the key stays in the connections' 0600 secrets file and is looked up
where the embedder is made).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.core.connections import Connection, parse_remote_ref
from app.core.errors import InvalidSetting
from app.core.paths import AppPaths, app_paths
from app.core.ports import ModelEntry

FILE_NAME = "embedding-model.json"


@dataclass(frozen=True)
class EmbeddingChoice:
    """A GGUF file run by llama.cpp (``kind='llama'``) or a connection's model (``kind='remote'``).

    ``pooling``: ``model`` for an embedding GGUF (the pooling its header names), ``prompt-last``
    for a chat model used for embeddings (see ``app/engine/embedding.py``).
    """

    kind: str
    model: str
    url: str = ""
    connection: str = ""
    pooling: str = "model"
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("llama", "remote"):
            raise InvalidSetting(f"An embedding model is a GGUF file or a server's model, not {self.kind!r}.")
        if not self.model:
            raise InvalidSetting("Choose which model makes the embeddings.")
        if self.kind == "remote" and not self.url:
            raise InvalidSetting("A server's embedding model needs the server's address.")

    @staticmethod
    def local(path: str | Path, embedding_model: bool = True, label: str = "") -> EmbeddingChoice:
        """A GGUF on this computer; ``embedding_model`` False: a chat model asked for a one-word summary."""
        path = os.path.abspath(str(path))
        return EmbeddingChoice("llama", path, pooling="model" if embedding_model else "prompt-last",
                               label=label or Path(path).stem)

    @staticmethod
    def remote(connection_id: str, base_url: str, model: str, label: str = "") -> EmbeddingChoice:
        """A connection's ``/v1/embeddings`` with ``model``."""
        return EmbeddingChoice("remote", model, url=base_url, connection=connection_id, label=label or model)

    def spec(self) -> dict[str, Any]:
        """The plain data ``app.engine.embedding.make_embedder`` builds an embedder from (no secrets)."""
        if self.kind == "remote":
            return {"kind": "remote", "url": self.url, "model": self.model, "connection": self.connection}
        return {"kind": "llama", "model": self.model, "pooling": self.pooling}

    def words(self) -> str:
        """What the Models pane says about it."""
        where = "a server's /v1/embeddings" if self.kind == "remote" else "llama.cpp on this computer"
        return f"{self.label or self.model} ({where})"


def choice_file(paths: AppPaths | None = None) -> Path:
    return (paths or app_paths()).config / FILE_NAME


def load_choice(path: Path) -> EmbeddingChoice | None:
    """The saved choice; None when there is none or the file can't be read (keywords only, as before)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return EmbeddingChoice(**{k: str(v) for k, v in data.items() if k in EmbeddingChoice.__dataclass_fields__})
    except (OSError, ValueError, TypeError, InvalidSetting):
        return None


def save_choice(path: Path, choice: EmbeddingChoice | None) -> None:
    """Remember ``choice`` (None: no embedding model, keywords only), atomically."""
    if choice is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(choice), indent=2), encoding="utf-8")
    os.replace(tmp, path)


def chosen_spec(paths: AppPaths | None = None) -> dict[str, Any] | None:
    """The spec of the app's chosen embedding model, or None: what a collection is indexed with."""
    choice = load_choice(choice_file(paths))
    return choice.spec() if choice is not None else None


def candidates(entries: list[ModelEntry], connection: Callable[[str], Connection | None]
               ) -> list[tuple[str, EmbeddingChoice]]:
    """(label, choice) for each model that can embed, best first: the embedding GGUFs, each server's
    models (their ``/v1/embeddings``), then the chat models (a weaker stand-in). Broken files are left out."""
    embedders, servers, chats = [], [], []
    for e in entries:
        if e.error or e.kind == "adapter":
            continue
        ref = parse_remote_ref(e.path)
        if ref is not None:
            conn = connection(ref[0])
            if conn is not None:
                servers.append((f"{e.name} — server /v1/embeddings",
                                EmbeddingChoice.remote(conn.id, conn.base_url, ref[1], label=e.name)))
        elif e.kind == "embedding":
            embedders.append((f"{e.name} — embedding model", EmbeddingChoice.local(e.path, True, label=e.name)))
        else:
            chats.append((f"{e.name} — chat model (weaker)", EmbeddingChoice.local(e.path, False, label=e.name)))
    return embedders + servers + chats
