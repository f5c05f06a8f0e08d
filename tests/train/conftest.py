"""Training tests need the optional extra (``pip install -e .[train]``; .ci/run installs it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

MISSING = [m for m in ("jax", "optax", "gguf") if importlib.util.find_spec(m) is None]
needs_extra = pytest.mark.skipif(
    bool(MISSING), reason=f"the training extra is not installed (missing {', '.join(MISSING)}): pip install -e .[train]")


@pytest.fixture(scope="session")
def base(starter_path: Path) -> tuple[Any, dict[str, np.ndarray]]:
    """The starter model's config and dequantized weights (read once per session)."""
    from app.train.model import load_base

    return load_base(starter_path)


def random_adapter(cfg: Any, path: Path, base_path: Path, seed: int, strength: float = 0.05, rank: int = 8,
                   alpha: float = 16.0) -> dict[str, np.ndarray]:
    """A LoRA with random A and B (a fresh one has B = 0 and changes nothing), written as GGUF to ``path``."""
    from app.train.export import write_lora
    from app.train.model import TARGETS, init_lora

    lora = init_lora(cfg, rank, TARGETS, seed=seed)
    rng = np.random.default_rng(seed + 100)
    for k in lora:
        if k.endswith(".b"):
            lora[k] = (rng.standard_normal(lora[k].shape) * strength).astype(np.float32)
    write_lora(path, cfg, lora, alpha, base_path)
    return lora


@pytest.fixture(scope="session", autouse=True)
def jax_compile_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One jax compile cache for the session's training processes (they inherit the environment).

    Every test trains with the same shapes (``FAST``), so the step is compiled once per session
    and each later job, the resumed ones included, reads it from the cache, as a resumed run does
    in the app (``trainer._use_compile_cache``).
    """
    import os

    folder = tmp_path_factory.mktemp("jax-cache")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(folder)
    return folder


# the settings every training test uses (the shapes of the compiled step: rank, window, batch); the
# learning rate is state of the optimizer, not of the compiled step, so tests may choose their own
FAST: dict[str, Any] = {"rank": 8, "alpha": 16.0, "seq_len": 128, "batch": 4}


def write_document(database: Path, title: str, text: str) -> int:
    """A document in a real Write database (``app/core/storage.py``); its id."""
    from app.core.storage import Storage

    storage = Storage(database)
    try:
        return storage.create_document(title, text).id
    finally:
        storage.close()


def indexed_collection(sources: Path, name: str, files: dict[str, str], folder: Path) -> None:
    """A real source collection: ``files`` written under ``folder`` and indexed by the real indexer."""
    from source_files import index_folder

    folder.mkdir(parents=True, exist_ok=True)
    for file_name, text in files.items():
        (folder / file_name).write_text(text, encoding="utf-8")
    index_folder(sources, name, folder)
