"""Fusing several ranked lists into one: reciprocal-rank fusion and normalised scores.

Three methods, picked per request (``fusion``):

- ``rrf`` (the default): reciprocal-rank fusion, ``Σ w / (k + rank)`` with ranks from 1
  (Cormack, Clarke & Büttcher 2009; ``k = 60`` as there). It needs no comparable scores, so
  it fuses lists of different modalities and models, and it does not change when a list
  is ranked deeper.
- ``score``: each list's scores min-max normalised to [0, 1] over the ranked window, then
  weighted and summed (Weaviate's "relative score fusion", Elasticsearch's min-max linear
  retriever). It keeps how far apart the hits of one list are, which RRF throws away; but
  a list's best hit always scores 1, however weak it is.
- ``raw``: the sources' own scores, weighted. Right when every list comes from the same
  model and metric (patents of two countries under one text encoder), wrong otherwise.

An item appearing in several lists gets the sum of its contributions. Ties keep the order
of first appearance (list order, then rank), so a fusion is deterministic.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Literal, TypeVar

FusionMethod = Literal["rrf", "score", "raw"]
FUSION_METHODS: tuple[str, ...] = ("rrf", "score", "raw")
RRF_K = 60

K = TypeVar("K", bound=Hashable)


def fuse(
    rankings: Sequence[Sequence[tuple[K, float]]],
    *,
    method: FusionMethod = "rrf",
    weights: Sequence[float] | None = None,
    rrf_k: int = RRF_K,
) -> list[tuple[K, float]]:
    """Fuse lists of ``(key, score)`` (each best first) into one list, best first."""
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    fused: dict[K, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for key, contribution in _contributions(ranking, method, rrf_k):
            fused[key] = fused.get(key, 0.0) + weight * contribution
    # sorted() is stable and dicts keep insertion order: ties stay in order of first appearance.
    return sorted(fused.items(), key=lambda item: -item[1])


def _contributions(
    ranking: Sequence[tuple[K, float]], method: FusionMethod, rrf_k: int
) -> list[tuple[K, float]]:
    if method == "rrf":
        return [(key, 1.0 / (rrf_k + rank)) for rank, (key, _) in enumerate(ranking, start=1)]
    if method == "raw":
        return list(ranking)
    return min_max(ranking)


def min_max(ranking: Sequence[tuple[K, float]]) -> list[tuple[K, float]]:
    """Scores mapped onto [0, 1]: the list's lowest to 0, its highest to 1."""
    if not ranking:
        return []
    scores = [score for _, score in ranking]
    low, high = min(scores), max(scores)
    span = high - low
    # One hit, or all equal: nothing to spread, each counts fully.
    return [(key, (score - low) / span if span > 0 else 1.0) for key, score in ranking]
