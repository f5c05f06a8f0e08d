"""Will a model fit? The fit badge for a local file and for a Hub file (pure but for reading a header).

The memory a model needs is ``app.core.memory.memory_needed`` — the same number
the engine's load refusal uses. A local file's KV size comes from its GGUF header;
a Hub file is not here yet, so its KV size is estimated from its file size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.core.gguf import read_header
from app.core.memory import OVERHEAD, memory_needed, memory_needed_for, memory_needed_local
from app.core.ports import ModelEntry
from app.models.quant import BITS

__all__ = ["OVERHEAD", "Fit", "estimate_fit", "fit_for_entry", "fit_for_file", "kv_bytes_per_token_estimate",
           "verdict_for"]


def kv_bytes_per_token_estimate(file_size: int, quant: str) -> int:
    """f16 KV-cache bytes per context token for a model of this size (GQA-era models).

    Anchors: Llama-3-8B is 128 KiB/token, SmolLM2-135M 22.5 KiB/token; it grows
    roughly with parameters^0.43 between them (the exponent that fits both anchors).
    """
    params = file_size * 8 / BITS.get(quant.split(" ")[0], 5.0)
    return int(131072 * (max(params, 1e7) / 8e9) ** 0.43)


@dataclass(frozen=True)
class Fit:
    """'fits', 'tight' or "won't fit", with the memory it needs and where it would run."""

    verdict: str
    needed: int
    where: str

    @property
    def badge(self) -> str:
        return {"fits": "✓ fits", "tight": "~ tight", "won't fit": "✗ won't fit"}[self.verdict]


def estimate_fit(file_size: int, quant: str, n_ctx: int, free_ram: int | None, free_vram: int | None = None,
                 kv_per_token: int | None = None) -> Fit:
    """A Hub file's fit: weights + (estimated) KV cache for ``n_ctx`` + overhead against free memory."""
    kv = kv_per_token or kv_bytes_per_token_estimate(file_size, quant)
    return verdict_for(memory_needed(file_size, kv, n_ctx), free_ram, free_vram)


def fit_for_file(path: str | Path, n_ctx: int, free_ram: int | None, free_vram: int | None = None) -> Fit:
    """A local file's fit, from its header: exactly what the engine's load refusal computes."""
    return verdict_for(memory_needed_for(read_header(path), n_ctx), free_ram, free_vram)


def fit_for_entry(entry: ModelEntry, n_ctx: int, free_ram: int | None, free_vram: int | None = None) -> Fit:
    """A library entry's fit (its header was read when it was listed): the same number again."""
    needed = memory_needed_local(entry.size, entry.kv_bytes_per_token, entry.context_length, n_ctx)
    return verdict_for(needed, free_ram, free_vram)


def verdict_for(needed: int, free_ram: int | None, free_vram: int | None = None) -> Fit:
    """'won't fit' on CPU exactly when the engine would refuse the load (needed > free RAM)."""
    if free_vram:
        if needed <= free_vram * 0.9:
            return Fit("fits", needed, "GPU")
        if free_ram is not None and needed <= free_vram + free_ram * 0.8:
            return Fit("tight", needed, "GPU + CPU")
    if free_ram is None:
        return Fit("tight", needed, "CPU")
    if needed <= free_ram * 0.7:
        return Fit("fits", needed, "CPU")
    if needed <= free_ram:
        return Fit("tight", needed, "CPU")
    return Fit("won't fit", needed, "CPU")
