"""The embedding model sources use, as data: what can embed, in which order, and how the choice is kept."""

from __future__ import annotations

from pathlib import Path

from app.core.connections import Connection, remote_ref
from app.core.ports import ModelEntry
from app.core.sources.embedding_choice import EmbeddingChoice, candidates, load_choice, save_choice

SERVER = Connection("c1", "Box", "http://127.0.0.1:9/v1", api_key="sk-secret-1234")


def test_embedding_models_come_first_then_servers_then_chat_models_and_adapters_never(tmp_path: Path) -> None:
    entries = [
        ModelEntry(str(tmp_path / "chat.gguf"), "Chatty", 1),
        ModelEntry(str(tmp_path / "lora.gguf"), "A LoRA", 1, kind="adapter"),
        ModelEntry(str(tmp_path / "broken.gguf"), "Broken", 1, kind="embedding", error="truncated"),
        ModelEntry(str(tmp_path / "minilm.gguf"), "all-MiniLM", 1, kind="embedding"),
        ModelEntry(remote_ref("c1", "nomic-embed"), "nomic-embed · Box", 0),
        ModelEntry(remote_ref("gone", "x"), "x · a removed server", 0),
    ]
    found = candidates(entries, {"c1": SERVER}.get)
    assert [label for label, _ in found] == ["all-MiniLM — embedding model", "nomic-embed · Box — server /v1/embeddings",
                                             "Chatty — chat model (weaker)"]
    assert [c.spec() for _, c in found] == [
        {"kind": "llama", "model": str(tmp_path / "minilm.gguf"), "pooling": "model"},
        {"kind": "remote", "url": SERVER.base_url, "model": "nomic-embed", "connection": "c1"},  # never the key
        {"kind": "llama", "model": str(tmp_path / "chat.gguf"), "pooling": "prompt-last"},
    ]


def test_a_choice_is_saved_read_back_and_cleared(tmp_path: Path) -> None:
    path = tmp_path / "config" / "embedding-model.json"
    assert load_choice(path) is None
    choice = EmbeddingChoice.remote("c1", SERVER.base_url, "nomic-embed", "nomic-embed · Box")
    save_choice(path, choice)
    assert load_choice(path) == choice and "sk-secret" not in path.read_text()
    save_choice(path, None)
    assert load_choice(path) is None and not path.exists()


def test_a_damaged_choice_file_means_no_choice_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "embedding-model.json"
    path.write_text('{"kind": "telepathy", "model": "x"}')
    assert load_choice(path) is None
    path.write_text("{not json")
    assert load_choice(path) is None
