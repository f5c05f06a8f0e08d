"""A collection's passages and vectors survive what goes wrong around them: a root not there, an embedding
model that fails to load, a question embedded by another model. Real files, real SQLite, the app's job runner
in its child process and the starter model run by llama.cpp as the embedding model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.core.connections import ConnectionStore
from app.core.errors import SourceError
from app.core.paths import app_paths
from app.core.sources.chat_sources import ChatSources
from app.core.sources.collections import Collections
from app.core.sources.embedding_choice import EmbeddingChoice, choice_file, save_choice
from app.core.sources.indexer import INDEX_JOB, index_args
from app.core.sources.store import SourceStore
from app.engine.embedding import make_embedder
from app.engine.jobs import start_job


def _docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tower.txt").write_text("At nightfall the guardian climbs up and ignites the beacon.\n")
    (docs / "bread.txt").write_text("Flour, water, salt and yeast make a dough that needs hours to rise.\n")
    return docs


def _state(db: Path) -> tuple[dict[str, int], str, str, bytes]:
    store = SourceStore(db)
    try:
        vectors = b"".join(r[0] for r in store.db.execute("SELECT vec FROM vectors ORDER BY chunk_id"))
        return store.counts(), store.get_meta("embedder"), store.get_meta("embedder_spec"), vectors
    finally:
        store.close()


def test_a_folder_renamed_away_keeps_its_passages_through_an_automatic_indexing_job(tmp_path: Path) -> None:
    docs = _docs(tmp_path)
    db = tmp_path / "c.sqlite3"
    store = SourceStore(db)
    store.add_roots([str(docs)])
    store.close()
    first = start_job(INDEX_JOB, index_args(str(db))).result(60)
    assert first["read"] == 2
    before = _state(db)
    docs.rename(tmp_path / "away")
    report = start_job(INDEX_JOB, index_args(str(db), automatic=True)).result(60)
    assert (report["deleted"], report["unavailable"]) == (0, [str(docs)])
    assert _state(db) == before
    (tmp_path / "away").rename(docs)
    report = start_job(INDEX_JOB, index_args(str(db), automatic=True)).result(60)
    assert (report["read"], report["unchanged"], report["deleted"], report["unavailable"]) == (0, 2, 0, [])
    assert _state(db) == before


@pytest.mark.model
def test_an_embedding_model_that_fails_to_load_leaves_the_vectors_and_the_spec_as_they_were(
        tmp_path: Path, starter_path: Path) -> None:
    docs = _docs(tmp_path)
    db = tmp_path / "c.sqlite3"
    store = SourceStore(db)
    store.add_roots([str(docs)])
    store.close()
    starter = {"kind": "llama", "model": str(starter_path), "pooling": "prompt-last", "n_ctx": 256}
    assert start_job(INDEX_JOB, index_args(str(db), embedder=starter)).result(120)["phase"] == "done"
    before = _state(db)
    counts, name, spec, _ = before
    assert counts["vectors"] == counts["chunks"] >= 2 and starter_path.name in name
    assert json.loads(spec) == starter

    missing = {"kind": "llama", "model": str(tmp_path / "gone.gguf"), "pooling": "model"}
    with pytest.raises(SourceError, match=r"could not be loaded.*Models"):
        start_job(INDEX_JOB, index_args(str(db), embedder=missing)).result(60)
    assert _state(db) == before  # same rows, same vectors, same model named
    (docs / "tower.txt").write_text("At nightfall the guardian climbs up and ignites the beacon. Twice.\n")
    with pytest.raises(SourceError, match="could not be loaded"):  # a file changed meanwhile: still nothing lost
        start_job(INDEX_JOB, index_args(str(db), embedder=missing)).result(60)
    counts_now, name_now, spec_now, _ = _state(db)
    assert (name_now, spec_now) == (name, spec)
    assert counts_now["chunks"] - counts_now["vectors"] <= 1  # only the re-read passage waits for a vector

    chosen = choice_file()
    save_choice(chosen, EmbeddingChoice.local(missing["model"]))  # the Models pane now names a missing file
    try:
        report = start_job(INDEX_JOB, index_args(str(db), automatic=True)).result(120)  # the watcher's run
        assert report["phase"] == "done"
        counts_now, name_now, spec_now, _ = _state(db)
        assert (name_now, spec_now) == (name, spec) and counts_now["vectors"] == counts_now["chunks"]
        with pytest.raises(SourceError, match="could not be loaded"):  # Update asks for the chosen one
            start_job(INDEX_JOB, index_args(str(db))).result(60)
        assert _state(db)[:3] == (counts_now, name, spec)
    finally:
        save_choice(chosen, None)


class _Words:
    """Four numbers a text (counts of letters a-d): vectors of a model other than the question's."""

    name = "words"

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.asarray([[t.count(c) + 1.0 for c in "abcd"] for t in texts], dtype=np.float32)


@pytest.mark.model
def test_a_question_embedded_by_another_model_falls_back_to_keywords(tmp_path: Path, starter_path: Path) -> None:
    collections = Collections(tmp_path / "sources")
    store = collections.open("notes", create=True)
    store.add_roots([str(_docs(tmp_path))])
    store.close()
    db = collections.path_of("notes")
    from app.core.sources.indexer import index_collection

    class Quiet:
        def progress(self, info: object) -> None: ...

        def should_stop(self) -> bool:
            return False

    store = SourceStore(db)
    index_collection(store, Quiet(), embedder=_Words())  # 4 numbers a passage
    # the spec names the starter model (an older app wrote it before the vectors matched it)
    store.set_meta("embedder_spec", json.dumps({"kind": "llama", "model": str(starter_path), "pooling": "prompt-last"}))
    question = make_embedder(json.loads(store.get_meta("embedder_spec")))
    try:
        with pytest.raises(SourceError, match=r"embedded with another model.*Update it"):
            store.vector_search(question.embed(["When is the beacon lit?"])[0])
        store.close()
        sources = ChatSources(collections, tmp_path / "chat-sources.json")
        sources.query_embedder = lambda spec: question
        hits = sources.search(["notes"], "When does the guardian ignite the beacon?")
    finally:
        question.close()
    assert hits and hits[0].path.endswith("tower.txt")
    assert sources.last_found_by.startswith("keywords only (") and "embedded with another model" in sources.last_found_by


def test_a_servers_embeddings_go_to_its_connections_address_as_edited_since(tmp_path: Path) -> None:
    paths = app_paths()
    conns = ConnectionStore(paths.connections, paths.connection_secrets)
    conn = conns.add("embedder", "http://127.0.0.1:9/v1", "sk-test")
    try:
        spec = EmbeddingChoice.remote(conn.id, conn.base_url, "nomic").spec()
        conns.save([replace(c, base_url="http://127.0.0.1:8/v1") if c.id == conn.id else c for c in conns.load()])
        embedder = make_embedder(spec)
        assert (embedder.base_url, embedder.api_key) == ("http://127.0.0.1:8/v1", "sk-test")
        assert make_embedder({k: v for k, v in spec.items() if k != "connection"}).base_url == "http://127.0.0.1:9/v1"
    finally:
        conns.save([c for c in conns.load() if c.id != conn.id])
