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
