"""What the sampling settings do to the next-token distribution (pure, for the live chart).

Mirrors the engine's llama.cpp chain order: top-k → typical → top-p → min-p →
temperature. Repetition penalties depend on the tokens so far and are left out of
the picture (the chart says so).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.core.sampling import SamplingSettings


@dataclass(frozen=True)
class Candidate:
    """A possible next token with its raw logit."""

    text: str
    token_id: int
    logit: float


@dataclass(frozen=True)
class Picture:
    """Probabilities of the same candidates before and after the settings (0 = ruled out)."""

    candidates: list[Candidate]
    before: list[float]
    after: list[float]


def _softmax(logits: list[float]) -> list[float]:
    if not logits:
        return []
    peak = max(logits)
    exps = [math.exp(x - peak) for x in logits]
    total = sum(exps)
    return [e / total for e in exps]


def picture(candidates: list[Candidate], log_normaliser: float, s: SamplingSettings) -> Picture:
    """``candidates`` sorted by logit, best first; ``log_normaliser`` is log Σ exp(logit) over the whole vocabulary."""
    cands = sorted(candidates, key=lambda c: -c.logit)
    before = [math.exp(c.logit - log_normaliser) for c in cands]
    n = len(cands)
    if n == 0:
        return Picture([], [], [])
    if s.temperature <= 0:
        return Picture(cands, before, [1.0] + [0.0] * (n - 1))
    keep = n
    if s.top_k > 0:
        keep = min(keep, int(s.top_k))
    alive = list(range(keep))
    if s.typical_p < 1.0:
        probs = _softmax([cands[i].logit for i in alive])
        entropy = -sum(p * math.log(p) for p in probs if p > 0)
        order = sorted(range(len(alive)), key=lambda j: abs(-math.log(probs[j]) - entropy) if probs[j] > 0 else math.inf)
        total, chosen = 0.0, []
        for j in order:
            chosen.append(j)
            total += probs[j]
            if total >= s.typical_p:
                break
        alive = [alive[j] for j in sorted(chosen)]
    if s.top_p < 1.0:
        probs = _softmax([cands[i].logit for i in alive])
        total, cut = 0.0, len(alive)
        for j, p in enumerate(probs):
            total += p
            if total >= s.top_p:
                cut = j + 1
                break
        alive = alive[:cut]
    if s.min_p > 0.0 and alive:
        top = cands[alive[0]].logit
        threshold = top + math.log(s.min_p)
        alive = [i for i in alive if cands[i].logit >= threshold] or alive[:1]
    scaled = _softmax([cands[i].logit / s.temperature for i in alive])
    after = [0.0] * n
    for i, p in zip(alive, scaled, strict=True):
        after[i] = p
    return Picture(cands, before, after)
