"""One collection's index: its files, their passages, a keyword index and vectors, in one SQLite file.

``files`` records each file's path, size, modification time, SHA-256, state
(``done`` or ``bad`` with its reason) and passage count: the indexer compares a
file's size and time with it to skip what is unchanged, which is what makes an
interrupted indexing resume without reading finished files again. ``chunks``
holds the passages; an FTS5 table over them (Porter stemming, BM25 ranking) makes
a collection searchable as soon as a file's text is read. ``vectors`` holds one
float32 vector per passage, filled later by an embedding model; meaning search
loads them into one numpy matrix (kept while the count is unchanged) and takes
dot products, which measured fast enough at 100k passages (tests/bench/sources.py)
that no vector extension is needed.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from app.core.errors import SourceError
from app.core.sources.chunking import Chunk
from app.core.sources.fusion import reciprocal_rank_fusion

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roots (path TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL DEFAULT '', state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '', chunks INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    ord INTEGER NOT NULL, line INTEGER NOT NULL, page INTEGER NOT NULL, start INTEGER NOT NULL,
    "end" INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_file ON chunks(file_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, content='chunks', content_rowid='id',
    tokenize='porter unicode61');
CREATE TABLE IF NOT EXISTS vectors (chunk_id INTEGER PRIMARY KEY, vec BLOB NOT NULL);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text); END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
    DELETE FROM vectors WHERE chunk_id = old.id; END;
"""

# Words a person puts in a question that say nothing about the subject; BM25 would weigh them little,
# but they still let passages in that match nothing else.
STOPWORDS = frozenset(["a", "an", "and", "are", "as", "at", "be", "by", "can", "could", "do", "does", "did", "for", "from", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "should", "so", "than", "that", "the", "their", "them", "then", "there", "these", "this", "to", "was", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you", "your", "want", "wanted", "need", "get", "got", "make", "use", "using", "way", "there", "here", "about", "any", "some"])


class Embedder(Protocol):
    """Something that turns texts into vectors: a llama.cpp embedding model or a server's /v1/embeddings."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text (float32); need not be normalised."""
        ...


@dataclass(frozen=True)
class Hit:
    """One passage found: its id, where it is, its text and the score that ranked it (higher is better)."""

    chunk_id: int
    path: str
    line: int
    page: int
    start: int
    end: int
    text: str
    score: float

    @property
    def location(self) -> str:
        """``path:line`` (and the page for a PDF): where a person finds the passage."""
        return f"{self.path}:{self.line}" + (f" (page {self.page})" if self.page > 1 else "")


@dataclass(frozen=True)
class FileRecord:
    path: str
    size: int
    mtime_ns: int
    sha256: str
    state: str
    reason: str
    chunks: int


def keyword_query(text: str) -> str:
    """An FTS5 query from a person's question: its words, quoted, any of them (BM25 ranks by how many and how rare)."""
    words = [w for w in re.findall(r"\w+", text.lower()) if w not in STOPWORDS and len(w) > 1]
    if not words:
        words = re.findall(r"\w+", text.lower())
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words))


class SourceStore:
    """A collection's index in one SQLite file; one writer at a time (the indexer), any number of readers."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise SourceError(f"The collection index {self.path} can't be opened: {exc}. "
                              "Remove the collection and add its folders again.") from exc
        self._lock = threading.Lock()
        self._matrix: tuple[tuple[int, int], np.ndarray, np.ndarray, np.ndarray] | None = None

    def close(self) -> None:
        self.db.close()

    # --- what the collection covers -------------------------------------------------------------
    def add_roots(self, paths: Iterable[str]) -> None:
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO roots(path) VALUES (?)", [(p,) for p in paths])

    def remove_root(self, path: str) -> None:
        with self.db:
            self.db.execute("DELETE FROM roots WHERE path = ?", (path,))

    def roots(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT path FROM roots ORDER BY path")]

    def get_meta(self, key: str, default: str = "") -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # --- files -----------------------------------------------------------------------------------
    def files(self) -> dict[str, FileRecord]:
        rows = self.db.execute("SELECT path, size, mtime_ns, sha256, state, reason, chunks FROM files")
        return {r[0]: FileRecord(*r) for r in rows}

    def bad_files(self) -> list[tuple[str, str]]:
        return list(self.db.execute("SELECT path, reason FROM files WHERE state = 'bad' ORDER BY path"))

    def put_file(self, path: str, size: int, mtime_ns: int, sha256: str, kind: str,
                 chunks: Sequence[Chunk], text: str = "") -> None:
        """Replace a file's passages with ``chunks`` in one transaction (a kill leaves the old or the new)."""
        with self._lock, self.db:
            self.db.execute("DELETE FROM files WHERE path = ?", (path,))
            cur = self.db.execute(
                "INSERT INTO files(path, size, mtime_ns, sha256, kind, state, chunks) VALUES (?,?,?,?,?,'done',?)",
                (path, size, mtime_ns, sha256, kind, len(chunks)))
            fid = cur.lastrowid
            self.db.executemany(
                'INSERT INTO chunks(file_id, ord, line, page, start, "end", text) VALUES (?,?,?,?,?,?,?)',
                [(fid, i, c.line, 1 + text.count("\f", 0, c.start) if "\f" in text else 1, c.start, c.end, c.text)
                 for i, c in enumerate(chunks)])

    def touch_file(self, path: str, size: int, mtime_ns: int) -> None:
        """A file whose time changed but whose bytes did not: remember the new time, keep its passages."""
        with self.db:
            self.db.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?", (size, mtime_ns, path))

    def put_bad(self, path: str, size: int, mtime_ns: int, reason: str) -> None:
        with self._lock, self.db:
            self.db.execute("DELETE FROM files WHERE path = ?", (path,))
            self.db.execute("INSERT INTO files(path, size, mtime_ns, state, reason) VALUES (?,?,?,'bad',?)",
                            (path, size, mtime_ns, reason))

    def forget(self, paths: Iterable[str]) -> int:
        """Drop files (deleted from disk, or out of the collection) with their passages; how many were dropped."""
        with self._lock, self.db:
            cur = self.db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in paths])
        return cur.rowcount

    def counts(self) -> dict[str, int]:
        one = self.db.execute
        return {
            "files": one("SELECT COUNT(*) FROM files WHERE state = 'done'").fetchone()[0],
            "bad": one("SELECT COUNT(*) FROM files WHERE state = 'bad'").fetchone()[0],
            "chunks": one("SELECT COUNT(*) FROM chunks").fetchone()[0],
            "vectors": one("SELECT COUNT(*) FROM vectors").fetchone()[0],
            "bytes": one("SELECT COALESCE(SUM(size), 0) FROM files WHERE state = 'done'").fetchone()[0],
        }

    # --- vectors ---------------------------------------------------------------------------------
    def chunks_without_vectors(self, limit: int) -> list[tuple[int, str]]:
        return list(self.db.execute(
            "SELECT c.id, c.text FROM chunks c LEFT JOIN vectors v ON v.chunk_id = c.id "
            "WHERE v.chunk_id IS NULL ORDER BY c.id LIMIT ?", (limit,)))

    def put_vectors(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        vecs = np.asarray(vectors, dtype=np.float32)
        with self._lock, self.db:
            self.db.executemany("INSERT OR REPLACE INTO vectors(chunk_id, vec) VALUES (?, ?)",
                                [(int(i), v.tobytes()) for i, v in zip(ids, vecs, strict=True)])

    def switch_embedder(self, name: str, spec: str = "") -> None:
        """Make ``name`` (its spec, as JSON, if given) the collection's embedding model, in one transaction.

        Vectors of another model are dropped in the same transaction (they can't be compared with
        this one's), so the meta never names a model the vectors were not made with.
        """
        with self._lock, self.db:
            old = self.db.execute("SELECT value FROM meta WHERE key = 'embedder'").fetchone()
            if old is not None and old[0] not in ("", name):
                self.db.execute("DELETE FROM vectors")
            self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('embedder', ?)", (name,))
            if spec:
                self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('embedder_spec', ?)", (spec,))

    def has_vectors(self) -> bool:
        return self.db.execute("SELECT 1 FROM vectors LIMIT 1").fetchone() is not None

    def _vector_matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, unit vectors centred on their mean, the mean), rebuilt only when the count changed."""
        # what changed since the matrix was built: another connection's commits (data_version) or this one's;
        # COUNT(*) over the vectors table read every blob (200 ms at 100k)
        key = (self.db.execute("PRAGMA data_version").fetchone()[0], self.db.total_changes)
        if self._matrix is None or self._matrix[0] != key:
            rows = self.db.execute("SELECT chunk_id, vec FROM vectors ORDER BY chunk_id").fetchall()
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            if rows:
                mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1).copy()
            else:
                mat = np.zeros((0, 1), dtype=np.float32)
            # Mean-pooled vectors of a language model all point roughly one way; taking out the
            # collection's mean leaves the directions that tell passages apart.
            mean = mat.mean(axis=0) if len(mat) else np.zeros(mat.shape[1], dtype=np.float32)
            mat -= mean
            mat /= np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12)
            self._matrix = (key, ids, mat, mean)
        return self._matrix[1], self._matrix[2], self._matrix[3]

    # --- search ----------------------------------------------------------------------------------
    def keyword_search(self, query: str, top: int = 10) -> list[tuple[int, float]]:
        """(chunk id, BM25 score, higher better) for the best ``top`` passages by keywords."""
        fts = keyword_query(query)
        if not fts:
            return []
        rows = self.db.execute("SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ? "
                               "ORDER BY bm25(chunks_fts) LIMIT ?", (fts, top)).fetchall()
        return [(r[0], -r[1]) for r in rows]

    def vector_search(self, query_vector: np.ndarray, top: int = 10) -> list[tuple[int, float]]:
        """(chunk id, cosine similarity) for the ``top`` passages nearest in meaning."""
        ids, mat, mean = self._vector_matrix()
        if len(ids) == 0:
            return []
        q = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        if q.size != mat.shape[1]:
            raise SourceError(f"The collection {self.path.stem!r} was embedded with another model ({mat.shape[1]} "
                              f"numbers a passage, the question has {q.size}); Update it to embed it again.")
        q = q - mean
        q /= max(float(np.linalg.norm(q)), 1e-12)
        sims = mat @ q
        n = min(top, len(sims))
        best = np.argpartition(-sims, n - 1)[:n]
        best = best[np.argsort(-sims[best])]
        return [(int(ids[i]), float(sims[i])) for i in best]

    def search(self, query: str, embedder: Embedder | None = None, top: int = 5, mode: str = "hybrid",
               depth: int = 20) -> list[Hit]:
        """The best passages for ``query``: ``keyword``, ``meaning`` or ``hybrid`` (both, fused by rank).

        ``depth`` is how far down each ranking the fusion looks. Deeper lists let a
        passage ranked middling by both beat one ranked first by one: on the manual-page
        questions (tests/engine/test_sources_quality.py) fused recall@5 was 0.57 at depth
        50 and 0.77 at 20 (keywords alone 0.73, meaning alone 0.60), with k = 60 both times.
        """
        rankings: list[list[tuple[int, float]]] = []
        if mode in ("keyword", "hybrid"):
            rankings.append(self.keyword_search(query, depth))
        if mode in ("meaning", "hybrid") and embedder is not None and self.has_vectors():
            rankings.append(self.vector_search(embedder.embed([query])[0], depth))
        if mode not in ("keyword", "meaning", "hybrid"):
            raise ValueError(f"unknown search mode {mode!r}")
        if len(rankings) == 1:
            scored = rankings[0][:top]
        else:
            scored = reciprocal_rank_fusion([[i for i, _ in r] for r in rankings])[:top]
        return self.hits(scored)

    def hits(self, scored: Sequence[tuple[int, float]]) -> list[Hit]:
        if not scored:
            return []
        marks = ",".join("?" * len(scored))
        rows = {r[0]: r for r in self.db.execute(
            f'SELECT c.id, f.path, c.line, c.page, c.start, c."end", c.text FROM chunks c '
            f"JOIN files f ON f.id = c.file_id WHERE c.id IN ({marks})", [i for i, _ in scored])}
        return [Hit(*rows[i], score=s) for i, s in scored if i in rows]

    def describe(self) -> str:
        return json.dumps({"roots": self.roots(), **self.counts()})
