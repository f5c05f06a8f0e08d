"""Write a trained LoRA as a GGUF adapter that llama.cpp loads (``llama_adapter_lora_init``).

llama.cpp's layout: for a base weight of GGUF shape ``[n_in, n_out]`` the adapter holds
``blk.N.<name>.weight.lora_a`` of shape ``[n_in, rank]`` and ``.lora_b`` of ``[rank, n_out]``
(numpy: ``(rank, n_in)`` and ``(n_out, rank)``), and adds ``scale * alpha / rank * B @ A``. The
model here trains in the GGUF's own row order, so q and k need no permutation on the way out.
The base model is named in the metadata (``adapter.base.*``: name, sizes, the file's name) so
the engine can refuse an adapter made for another model before llama.cpp sees it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from app.train.model import LlamaConfig


def base_fingerprint(cfg: LlamaConfig) -> dict[str, Any]:
    """What must match between an adapter and a model it is put on."""
    return {"architecture": cfg.architecture, "name": cfg.name, "block_count": cfg.n_layer,
            "embedding_length": cfg.n_embd, "vocab_size": cfg.n_vocab}


def write_lora(path: str | Path, cfg: LlamaConfig, lora: dict[str, np.ndarray], alpha: float,
               base_path: str | Path, record: dict[str, Any] | None = None) -> Path:
    """Write the adapter atomically (a temporary file renamed over ``path``)."""
    import gguf

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    w = gguf.GGUFWriter(str(tmp), cfg.architecture)
    w.add_string("general.type", "adapter")
    w.add_name(f"{cfg.name} LoRA")
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", float(alpha))
    fp = base_fingerprint(cfg)
    w.add_base_model_count(1)
    w.add_base_model_name(0, cfg.name)
    w.add_string("adapter.base.name", fp["name"])
    w.add_string("adapter.base.architecture", fp["architecture"])
    w.add_uint32("adapter.base.block_count", fp["block_count"])
    w.add_uint32("adapter.base.embedding_length", fp["embedding_length"])
    w.add_uint32("adapter.base.vocab_size", fp["vocab_size"])
    w.add_string("adapter.base.file", Path(base_path).name)
    if record is not None:
        w.add_string("adapter.training_record", json.dumps(record))
    targets = sorted({k.split(".")[0] for k in lora})
    for i in range(cfg.n_layer):
        for t in targets:
            w.add_tensor(f"blk.{i}.{t}.weight.lora_a", np.ascontiguousarray(lora[f"{t}.a"][i], np.float32))
            w.add_tensor(f"blk.{i}.{t}.weight.lora_b", np.ascontiguousarray(lora[f"{t}.b"][i], np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, path)
    return path
