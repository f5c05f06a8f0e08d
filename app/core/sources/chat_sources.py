"""Which collections a chat reads, and the step before each of its replies that gives the model passages.

:class:`ChatSources` keeps, per chat, the names of its collections (a small JSON
file beside the preferences; no schema change to the chat database). Before a
reply, :meth:`ChatSources.before_reply` takes the chat's history, searches its
collections for the last question, keeps the passages that fit the context budget,
and returns the history with a system message holding them with their numbers,
and the citation parts ("Sources used") the reply starts with — so the person sees
what was read before the model answers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.core.errors import SourceError
from app.core.parts import CitationPart
from app.core.sources.collections import Collections
from app.core.sources.fusion import reciprocal_rank_fusion
from app.core.sources.retrieval import fit_hits, sources_message, used_parts
from app.core.sources.store import Embedder, Hit, SourceStore

Message = dict[str, str]


class ChatSources:
    """Collections per chat, stored as ``{chat id: [names]}``; the retrieval step for a chat's replies."""

    def __init__(self, collections: Collections, file: Path, budget_tokens: int = 1024, top: int = 6) -> None:
        self.collections = collections
        self.file = Path(file)
        self.budget_tokens = budget_tokens
        self.top = top
        self.embedder: Embedder | None = None  # set where a query embedder runs; keywords alone otherwise
        # the window's: a collection's embedding spec -> an embedder running in a child process (app/main.py)
        self.query_embedder: Callable[[dict[str, Any]], Embedder] | None = None
        self.last_hits: dict[int, list[Hit]] = {}
        self.left_out: dict[int, set[str]] = {}  # per chat, passages (path:line) the person removed
        self.last_found_by = ""  # how the last search found its passages, said under the reply
        try:
            self._map: dict[str, list[str]] = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._map = {}

    def of(self, chat_id: int) -> list[str]:
        return [n for n in self._map.get(str(chat_id), []) if self.collections.exists(n)]

    def set(self, chat_id: int, names: list[str]) -> None:
        self._map[str(chat_id)] = sorted(set(names))
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._map, indent=1), encoding="utf-8")
        os.replace(tmp, self.file)

    def leave_out(self, chat_id: int, source: str) -> None:
        """Leave the passage at ``source`` (``path:line``) out of this chat's next replies."""
        self.left_out.setdefault(chat_id, set()).add(source)

    def search(self, names: list[str], question: str, extra: int = 0) -> list[Hit]:
        """The best passages for ``question`` over several collections, fused by rank (``extra`` more of them)."""
        rankings: list[list[Hit]] = []
        ways: list[str] = []
        for name in names:
            store = self.collections.open(name)
            try:
                ranking, way = self._search_one(store, question, self.top + extra)
                rankings.append(ranking)
                ways.append(way)
            finally:
                store.close()
        self.last_found_by = "; ".join(dict.fromkeys(ways))
        if len(rankings) == 1:
            return rankings[0]
        by_key = {(h.path, h.chunk_id): h for r in rankings for h in r}
        fused = reciprocal_rank_fusion([[(h.path, h.chunk_id) for h in r] for r in rankings])
        return [by_key[k] for k, _ in fused[: self.top + extra]]

    def _search_one(self, store: SourceStore, question: str, top: int) -> tuple[list[Hit], str]:
        """One collection's ranking, by keywords and meaning where it has vectors and they can be compared."""
        embedder = self.embedder
        spec_text = store.get_meta("embedder_spec")
        if embedder is None and self.query_embedder is not None and spec_text and store.has_vectors():
            embedder = self.query_embedder(json.loads(spec_text))
        if embedder is None or not store.has_vectors():
            return store.search(question, None, top=top, mode="keyword"), "keywords only (no vectors)"
        try:
            return store.search(question, embedder, top=top, mode="hybrid"), "keywords and meaning"
        except SourceError as exc:
            return store.search(question, None, top=top, mode="keyword"), f"keywords only ({exc})"

    def before_reply(self, chat_id: int) -> Callable[[list[Message]], tuple[list[Message], tuple[CitationPart, ...]]]:
        """The step a chat's turn runs before each reply (a no-op while the chat has no collections)."""

        def step(history: list[Message]) -> tuple[list[Message], tuple[CitationPart, ...]]:
            names = self.of(chat_id)
            question = next((m["content"] for m in reversed(history) if m.get("role") == "user"), "")
            if not names or not question.strip():
                return history, ()
            left_out = self.left_out.get(chat_id, set())
            found = [h for h in self.search(names, question, len(left_out)) if f"{h.path}:{h.line}" not in left_out]
            hits = fit_hits(found, self.budget_tokens)
            self.last_hits[chat_id] = hits
            if not hits:
                return history, ()
            parts = tuple(replace(p, found_by=self.last_found_by) for p in used_parts(hits))
            return with_sources(history, sources_message(hits)), parts

        return step


def with_sources(history: list[Message], message: str) -> list[Message]:
    """``history`` with the sources after its system prompt (or as the system prompt if it has none)."""
    if history and history[0].get("role") == "system":
        first = {**history[0], "content": history[0]["content"].rstrip() + "\n\n" + message}
        return [first, *history[1:]]
    return [{"role": "system", "content": message}, *history]
