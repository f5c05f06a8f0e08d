"""Fit badges, the recommended quantization, and quantization names in file names (pure)."""

from __future__ import annotations

from app.models.fit import estimate_fit, kv_bytes_per_token_estimate
from app.models.quant import QuantGroup, group_by_quant, quant_of, recommend, shard_of

GIB = 1024**3


def test_quantization_is_read_from_file_names() -> None:
    assert quant_of("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf") == "Q4_K_M"
    assert quant_of("qwen2.5-3b-instruct-q8_0.gguf") == "Q8_0"
    assert quant_of("model.IQ4_XS.gguf") == "IQ4_XS"
    assert quant_of("gemma-2-2b-it-f16.gguf") == "F16"
    assert quant_of("readme.gguf") == "unknown"
    assert shard_of("big-Q4_K_M-00002-of-00003.gguf") == (2, 3)


def test_split_files_are_one_quantization() -> None:
    groups = group_by_quant([("m-Q8_0-00001-of-00002.gguf", 5 * GIB), ("m-Q8_0-00002-of-00002.gguf", 3 * GIB),
                             ("m-Q4_K_M.gguf", 4 * GIB), ("README.md", 10)])
    assert [(g.quant, g.size, len(g.files)) for g in groups] == [("Q4_K_M", 4 * GIB, 1), ("Q8_0", 8 * GIB, 2)]


def test_the_kv_estimate_matches_known_models() -> None:
    assert 100_000 < kv_bytes_per_token_estimate(int(4.9 * GIB), "Q4_K_M") < 170_000  # Llama-3-8B: 128 KiB
    assert 15_000 < kv_bytes_per_token_estimate(98_000_000, "Q4_1") < 35_000  # SmolLM2-135M: 22.5 KiB


def test_fit_verdicts_against_ram_and_vram() -> None:
    model = int(4.9 * GIB)
    assert estimate_fit(model, "Q4_K_M", 4096, free_ram=16 * GIB).verdict == "fits"
    assert estimate_fit(model, "Q4_K_M", 4096, free_ram=6 * GIB).verdict == "tight"
    assert estimate_fit(model, "Q4_K_M", 4096, free_ram=4 * GIB).verdict == "won't fit"
    on_gpu = estimate_fit(model, "Q4_K_M", 4096, free_ram=4 * GIB, free_vram=24 * GIB)
    assert on_gpu.verdict == "fits" and on_gpu.where == "GPU"
    split = estimate_fit(model, "Q4_K_M", 4096, free_ram=8 * GIB, free_vram=2 * GIB)
    assert split.verdict == "tight" and split.where == "GPU + CPU"
    longer = estimate_fit(model, "Q4_K_M", 32768, free_ram=16 * GIB)
    assert longer.needed > estimate_fit(model, "Q4_K_M", 4096, free_ram=16 * GIB).needed


def test_the_recommended_quantization_is_the_best_that_fits() -> None:
    groups = [QuantGroup("Q2_K", ("a",), 3), QuantGroup("Q4_K_M", ("b",), 5), QuantGroup("Q8_0", ("c",), 8)]
    assert recommend(groups, {"Q2_K": "fits", "Q4_K_M": "fits", "Q8_0": "fits"}) == "Q4_K_M"
    assert recommend(groups, {"Q2_K": "fits", "Q4_K_M": "won't fit", "Q8_0": "won't fit"}) == "Q2_K"
    assert recommend(groups, {"Q2_K": "tight", "Q4_K_M": "won't fit", "Q8_0": "won't fit"}) == "Q2_K"
    assert recommend(groups, {"Q2_K": "won't fit", "Q4_K_M": "won't fit", "Q8_0": "won't fit"}) is None
