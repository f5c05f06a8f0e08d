"""Reciprocal-rank fusion: one ranking from several, without comparing their scores.

BM25 scores and cosine similarities live on different scales; RRF uses only each
result's rank in each list, ``sum(weight / (k + rank))``, which is robust and
needs no tuning beyond ``k`` (60 in the original paper, Cormack et al. 2009).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[K]], k: int = 60,
                           weights: Sequence[float] | None = None) -> list[tuple[K, float]]:
    """Items of all ``rankings`` (best first each) by their fused score, best first; ties keep first-seen order."""
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("One weight per ranking.")
    scores: dict[K, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))
