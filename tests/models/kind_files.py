"""GGUF files of each kind for the Hub-kind tests, written with tests/gguf_tools.py (not the app's reader).

- ``embedding_header``: a header-only encoder (``bert`` / ``nomic-bert``), as all-MiniLM and
  nomic-embed-text are: enough for the library to recognise it, not to run it.
- ``embedding_model``: the starter model's weights with ``llama.pooling_type`` = mean and no chat
  template: a GGUF llama.cpp really embeds with (nothing else can be downloaded here).
- ``lora_header``: a header-only GGUF LoRA naming its base model, as llama.cpp's
  ``convert_lora_to_gguf.py`` writes one; the adapter check reads only this header.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gguf_tools as g


def _header_only(path: Path, metadata: dict[str, tuple[int, Any]]) -> Path:
    """A GGUF with this metadata and no tensors."""
    empty = path.with_name(path.name + ".empty")
    empty.write_bytes(b"")
    path.parent.mkdir(parents=True, exist_ok=True)
    g.write(empty, g.GGUF(3, {"general.alignment": (g.UINT32, 32), **metadata}, 0, b"", 0), path)
    empty.unlink()
    return path


def embedding_header(path: Path, arch: str = "bert", name: str = "all-MiniLM-L6-v2") -> Path:
    return _header_only(path, {
        "general.architecture": (g.STRING, arch), "general.name": (g.STRING, name),
        f"{arch}.context_length": (g.UINT32, 512), f"{arch}.embedding_length": (g.UINT32, 384),
        f"{arch}.block_count": (g.UINT32, 6), f"{arch}.attention.head_count": (g.UINT32, 12),
        f"{arch}.pooling_type": (g.UINT32, 1),
    })


def embedding_model(starter: Path, path: Path, name: str = "Tiny Embed") -> Path:
    """The starter's weights as an embedding GGUF: mean pooling named in the header, no chat template."""

    def edit(model: g.GGUF) -> None:
        model.metadata.pop("tokenizer.chat_template", None)
        model.metadata["llama.pooling_type"] = (g.UINT32, 1)
        model.metadata["general.name"] = (g.STRING, name)

    path.parent.mkdir(parents=True, exist_ok=True)
    return g.patched_copy(starter, path, edit)


def lora_header(path: Path, base_name: str, layers: int, width: int, arch: str = "llama") -> Path:
    return _header_only(path, {
        "general.architecture": (g.STRING, arch), "general.type": (g.STRING, "adapter"),
        "general.name": (g.STRING, path.stem), "adapter.type": (g.STRING, "lora"),
        "adapter.lora.alpha": (g.FLOAT32, 16.0), "adapter.base.name": (g.STRING, base_name),
        "adapter.base.block_count": (g.UINT32, layers), "adapter.base.embedding_length": (g.UINT32, width),
    })
