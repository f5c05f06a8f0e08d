"""A connection's ``/v1/embeddings`` as the embedding model for sources, against a real ``llama_cpp.server``.

The server runs an embedding GGUF made from the starter model's weights (mean pooling named
in its header; tests/models/kind_files.py) with ``--embedding true``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from models.kind_files import embedding_model
from remote_server import API_KEY, LlamaServer, free_port, start_server, stop_server

from app.core.connections import ConnectionStore, remote_ref
from app.core.errors import SourceError
from app.core.gguf import read_header
from app.core.paths import app_paths
from app.core.ports import ModelEntry
from app.core.sources.embedding_choice import chosen_spec
from app.engine.embedding import RemoteEmbedder, make_embedder

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def embedding_server(tmp_path_factory: pytest.TempPathFactory, starter_path: Path) -> Iterator[LlamaServer]:
    folder = tmp_path_factory.mktemp("embedding-server")
    model = embedding_model(starter_path, folder / "tiny-embed.gguf")
    server = start_server(model, folder / "server.log", n_ctx=512, extra=("--embedding", "true"))
    server.width = read_header(model).embedding_length  # type: ignore[attr-defined]
    yield server
    stop_server(server)


def test_a_servers_embeddings_have_one_row_per_text_and_the_same_text_gives_the_same_vector(
        embedding_server: LlamaServer) -> None:
    embedder = RemoteEmbedder(embedding_server.url, embedding_server.model, API_KEY)
    rows = embedder.embed(["the lighthouse keeper", "bread rises slowly overnight", "the lighthouse keeper"])
    assert rows.shape == (3, embedding_server.width) and rows.dtype == np.float32  # type: ignore[attr-defined]
    assert np.isfinite(rows).all() and np.linalg.norm(rows, axis=1).min() > 0
    np.testing.assert_allclose(rows[0], rows[2], atol=1e-5)
    assert not np.allclose(rows[0], rows[1], atol=1e-3)
    again = embedder.embed(["the lighthouse keeper"])  # another request: the same vector
    np.testing.assert_allclose(again[0], rows[0], atol=1e-5)


def test_a_dead_server_is_a_clear_typed_error() -> None:
    embedder = RemoteEmbedder(f"http://127.0.0.1:{free_port()}/v1", "any", timeout=5)
    with pytest.raises(SourceError, match="Could not reach the server") as failed:
        embedder.embed(["hello"])
    assert "choose another embedding model" in str(failed.value)


def test_a_wrong_key_is_a_clear_typed_error(embedding_server: LlamaServer) -> None:
    with pytest.raises(SourceError, match=r"did not give embeddings.*401"):
        RemoteEmbedder(embedding_server.url, embedding_server.model, "sk-wrong").embed(["hello"])


def test_a_connection_chosen_in_the_models_pane_embeds_with_the_key_kept_out_of_the_spec(
        qtbot, embedding_server: LlamaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.models.library import ModelLibrary
    from app.models.manager import ModelManager
    from app.ui.models.embedding_view import EmbeddingPicker

    monkeypatch.setenv("INKLING_HOME", str(tmp_path / "home"))
    paths = app_paths().ensure()
    store = ConnectionStore(paths.connections, paths.connection_secrets)
    conn = store.add("Embeddings box", embedding_server.url, API_KEY)
    ref = remote_ref(conn.id, embedding_server.model)
    manager = ModelManager(ModelLibrary(paths.models))
    picker = EmbeddingPicker(manager, lambda: [ModelEntry(ref, "tiny-embed · Embeddings box", 0)], store.get)
    qtbot.addWidget(picker)
    index = next(i for i in range(picker.combo.count()) if "/v1/embeddings" in picker.combo.itemText(i))
    picker.choose_index(index)

    spec = chosen_spec()  # what indexing reads
    assert spec == {"kind": "remote", "url": embedding_server.url, "model": embedding_server.model,
                    "connection": conn.id}
    assert API_KEY not in json.dumps(spec) and API_KEY not in (paths.config / "embedding-model.json").read_text()
    rows = make_embedder(spec).embed(["a passage", "another passage"])  # the key comes from the secrets file
    assert rows.shape == (2, embedding_server.width)  # type: ignore[attr-defined]
    picker.refill()
    assert picker.combo.currentIndex() == index  # the saved choice is shown again
