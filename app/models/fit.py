"""Will a model fit? An estimate from the file size, the context length and free memory (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from app.models.quant import BITS

OVERHEAD = 300 * 1024**2  # runtime, compute buffers


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
    """Weights + KV cache for ``n_ctx`` + overhead against free VRAM (if offload) and RAM."""
    kv = (kv_per_token or kv_bytes_per_token_estimate(file_size, quant)) * n_ctx
    needed = file_size + kv + OVERHEAD
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
