"""Quantization names in GGUF file names, their grouping, and which one to recommend (pure)."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

_QUANT = re.compile(r"(?<![A-Za-z0-9])(I?Q[1-8](?:_[0-9A-Z]+)*|F16|BF16|F32|FP16|MXFP4(?:_MOE)?|TQ[12]_0)(?![A-Za-z0-9])",
                    re.IGNORECASE)
_SHARD = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
# approximate bits per weight, for size → parameter estimates
BITS = {"Q2_K": 2.6, "Q3_K_S": 3.5, "Q3_K_M": 3.9, "Q3_K_L": 4.3, "Q4_0": 4.5, "Q4_1": 5.0, "Q4_K_S": 4.6,
        "Q4_K_M": 4.9, "Q5_0": 5.5, "Q5_1": 6.0, "Q5_K_S": 5.5, "Q5_K_M": 5.7, "Q6_K": 6.6, "Q8_0": 8.5,
        "F16": 16.0, "BF16": 16.0, "F32": 32.0, "IQ4_XS": 4.3, "IQ4_NL": 4.5, "IQ3_M": 3.7, "IQ2_M": 2.7}
# best quality-for-size first: what a careful person picks when it fits
PREFERENCE = ["Q4_K_M", "Q5_K_M", "Q4_K_S", "Q6_K", "Q5_K_S", "IQ4_XS", "Q4_0", "Q4_1", "Q8_0", "Q3_K_M",
              "IQ3_M", "Q3_K_L", "Q3_K_S", "Q2_K", "IQ2_M", "F16", "BF16", "F32"]


def quant_of(filename: str) -> str:
    """'Llama-3-8B-Instruct.Q4_K_M.gguf' → 'Q4_K_M'; 'unknown' when the name does not say."""
    name = filename.rsplit("/", 1)[-1]
    matches = _QUANT.findall(name)
    return matches[-1].upper() if matches else "unknown"


def shard_of(filename: str) -> tuple[int, int] | None:
    """(part, of) for split GGUF files like 'x-00001-of-00003.gguf'."""
    m = _SHARD.search(filename)
    return (int(m.group(1)), int(m.group(2))) if m else None


@dataclass(frozen=True)
class QuantGroup:
    """One quantization of a repo: its files (several when split) and total size."""

    quant: str
    files: tuple[str, ...]
    size: int


def group_by_quant(files: Iterable[tuple[str, int]]) -> list[QuantGroup]:
    """Group (path, size) GGUF files by quantization, smallest first."""
    groups: OrderedDict[str, list[tuple[str, int]]] = OrderedDict()
    for path, size in files:
        if not path.lower().endswith(".gguf"):
            continue
        key = quant_of(path)
        if "mmproj" in path.lower():
            key = f"{key} (vision projector)"
        groups.setdefault(key, []).append((path, size))
    out = [QuantGroup(q, tuple(sorted(p for p, _ in fs)), sum(s for _, s in fs)) for q, fs in groups.items()]
    return sorted(out, key=lambda g: g.size)


def recommend(groups: list[QuantGroup], fits: dict[str, str]) -> str | None:
    """The preferred quantization among those that fit ('fits' beats 'tight')."""
    for wanted in ("fits", "tight"):
        for quant in PREFERENCE:
            if fits.get(quant) == wanted and any(g.quant == quant for g in groups):
                return quant
    return None
