"""Which collections a chat reads, and the step before each of its replies that gives the model passages.

:class:`ChatSources` keeps, per chat, the names of its collections (a small JSON
file beside the preferences; no schema change to the chat database). Before a
reply, :meth:`ChatSources.before_reply` takes the chat's history, searches its
collections for the last question, keeps the passages that fit the context budget,
and returns the history with a system message holding them with their numbers,
and the citation parts ("Sources used") the reply starts with — so the person sees
what was read before the model answers.

A chat may instead let the model search (``mode_of(chat) == "tool"``): then nothing is
read before a reply, the model is offered the built-in ``search_sources`` tool
(``app/core/sources/source_tool.py``), :meth:`ChatSources.tool_search` answers its calls
with numbered passages, and the reply written after a call's result starts with their
citation parts, so its ``[n]`` links open them like the always-on ones. Changes to a
chat's collections or mode are announced (``subscribe``) with the chat's id.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.core.announcer import Announcer
from app.core.errors import SourceError
from app.core.parts import CitationPart
from app.core.sources.collections import Collections
from app.core.sources.fusion import reciprocal_rank_fusion
from app.core.sources.retrieval import fit_hits, sources_message, used_parts
from app.core.sources.store import Embedder, Hit, SourceStore

Message = dict[str, str]
MODES = ("always", "tool")
"""How a chat reads its collections: before every reply, or when the model calls ``search_sources``."""
TOOL_INSTRUCTIONS = ("The person's own documents can be searched with the search_sources tool. When an answer "
                     "uses a passage it returned, cite it by its number in square brackets, like [1].")


class ChatSources(Announcer[[int]]):
    """Collections per chat, stored as ``{chat id: [names]}``; the retrieval step for a chat's replies."""

    def __init__(self, collections: Collections, file: Path, budget_tokens: int = 1024, top: int = 6) -> None:
        super().__init__()
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
        self.tool_hits: dict[int, list[Hit]] = {}  # per chat, the passages search_sources gave for this question
        self._lock = threading.Lock()  # search_sources runs on the built-in tools' thread, the reply step elsewhere
        try:
            self._map: dict[str, list[str]] = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._map = {}
        self.modes_file = self.file.with_name(self.file.stem + "-modes.json")
        try:
            self._modes: dict[str, str] = json.loads(self.modes_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._modes = {}

    def of(self, chat_id: int) -> list[str]:
        return [n for n in self._map.get(str(chat_id), []) if self.collections.exists(n)]

    def set(self, chat_id: int, names: list[str]) -> None:
        self._map[str(chat_id)] = sorted(set(names))
        _write_json(self.file, self._map)
        self._announce(chat_id)

    def mode_of(self, chat_id: int) -> str:
        """"always" (passages read before every reply, the default) or "tool" (the model searches)."""
        mode = self._modes.get(str(chat_id), "always")
        return mode if mode in MODES else "always"

    def set_mode(self, chat_id: int, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"a chat's sources mode is one of {MODES}, not {mode!r}")
        self._modes[str(chat_id)] = mode
        _write_json(self.modes_file, self._modes)
        self._announce(chat_id)

    def leave_out(self, chat_id: int, source: str) -> None:
        """Leave the passage at ``source`` (``path:line``) out of this chat's next replies."""
        self.left_out.setdefault(chat_id, set()).add(source)

    def search(self, names: list[str], question: str, extra: int = 0, top: int | None = None) -> list[Hit]:
        """The best passages for ``question`` over several collections, fused by rank (``extra`` more of them)."""
        top = self.top if top is None else top
        rankings: list[list[Hit]] = []
        ways: list[str] = []
        for name in names:
            store = self.collections.open(name)
            try:
                ranking, way = self._search_one(store, question, top + extra)
                rankings.append(ranking)
                ways.append(way)
            finally:
                store.close()
        self.last_found_by = "; ".join(dict.fromkeys(ways))
        if len(rankings) == 1:
            return rankings[0]
        by_key = {(h.path, h.chunk_id): h for r in rankings for h in r}
        fused = reciprocal_rank_fusion([[(h.path, h.chunk_id) for h in r] for r in rankings])
        return [by_key[k] for k, _ in fused[: top + extra]]

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
            if self.mode_of(chat_id) == "tool":
                return self._tool_step(chat_id, history)
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

    def _tool_step(self, chat_id: int, history: list[Message]) -> tuple[list[Message], tuple[CitationPart, ...]]:
        """Tool mode: a new question starts with no passages; a reply after a search starts with its citations."""
        if not self.of(chat_id):
            return history, ()
        last = history[-1].get("role") if history else ""
        if last != "tool":
            with self._lock:
                self.tool_hits[chat_id] = []  # a new question: numbering starts again at [1]
            return with_sources(history, TOOL_INSTRUCTIONS), ()
        with self._lock:
            hits = list(self.tool_hits.get(chat_id, []))
        parts = tuple(replace(p, found_by=self.last_found_by) for p in used_parts(hits))
        return with_sources(history, TOOL_INSTRUCTIONS), parts

    def tool_search(self, chat_id: int, query: str, top_k: int) -> str:
        """``search_sources``: the chat's best passages for ``query``, numbered on from this question's earlier calls."""
        names = self.of(chat_id)
        if not names:
            raise SourceError("This chat reads no collections: choose some under its Sources button.")
        left_out = self.left_out.get(chat_id, set())
        found = [h for h in self.search(names, query, len(left_out), top=top_k) if f"{h.path}:{h.line}" not in left_out]
        hits = fit_hits(found[:top_k], self.budget_tokens)
        if not hits:
            return f"No passage in this chat's sources matches {query!r}. Try other words."
        with self._lock:
            given = self.tool_hits.setdefault(chat_id, [])
            keys = [(h.path, h.chunk_id) for h in given]
            blocks = []
            for hit in hits:
                key = (hit.path, hit.chunk_id)
                if key not in keys:
                    given.append(hit)
                    keys.append(key)
                blocks.append(f"[{keys.index(key) + 1}] {hit.location}\n{hit.text}")
        return (f"Passages from the person's sources for {query!r} (cite them by number, like [1]):\n\n"
                + "\n\n".join(blocks))


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def with_sources(history: list[Message], message: str) -> list[Message]:
    """``history`` with the sources after its system prompt (or as the system prompt if it has none)."""
    if history and history[0].get("role") == "system":
        first = {**history[0], "content": history[0]["content"].rstrip() + "\n\n" + message}
        return [first, *history[1:]]
    return [{"role": "system", "content": message}, *history]
