"""Retrieval-quality and latency measures the benchmarks report.

Ranked lists are lists of ids, best first; relevance is binary (an id is relevant or
not). ``recall_at_k`` is the ANN measure ("10-recall@10"): the share of the true
top-k that an approximate top-k found.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def precision_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Relevant ids among the first ``k`` ranked, over ``k`` (a short list counts as misses)."""
    _check_k(k)
    return sum(1 for doc in ranked[:k] if doc in relevant) / k


def ndcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Normalised discounted cumulative gain with binary gains: DCG@k / ideal DCG@k.

    Gain 1 at rank ``i`` (1-based) counts ``1 / log2(i + 1)``. The ideal ranking puts
    ``min(len(relevant), k)`` relevant ids first. ValueError when nothing is relevant
    (the measure is undefined; leave such queries out of the mean).
    """
    _check_k(k)
    if not relevant:
        raise ValueError("nDCG is undefined for a query with no relevant documents")
    dcg = sum(1.0 / math.log2(i + 2) for i, doc in enumerate(ranked[:k]) if doc in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal


def recall_at_k(found: npt.ArrayLike, truth: npt.ArrayLike, k: int) -> float:
    """Mean over queries of ``|found[:k] ∩ truth[:k]| / k`` (rows are queries, -1 = none)."""
    _check_k(k)
    got = np.asarray(found)
    want = np.asarray(truth)
    if got.ndim != 2 or want.ndim != 2 or got.shape[0] != want.shape[0]:
        raise ValueError(f"found {got.shape} and truth {want.shape} must be (queries, k) arrays")
    if got.shape[1] < k or want.shape[1] < k:
        raise ValueError(f"need at least k={k} columns, got {got.shape[1]} and {want.shape[1]}")
    if got.shape[0] == 0:
        raise ValueError("no queries")
    hits: int = 0
    for row_found, row_true in zip(got[:, :k], want[:, :k], strict=True):
        hits += len(set(row_found[row_found >= 0].tolist()) & set(row_true.tolist()))
    return hits / (k * int(got.shape[0]))


def _paired(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], ...]:
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.size < 2:
        raise ValueError(f"need two 1-d sequences of equal length >= 2, got {a.shape}, {b.shape}")
    return a, b


def spearman(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Spearman rank correlation (ties get their average rank)."""
    a, b = _paired(x, y)
    return float(stats.spearmanr(a, b).statistic)


def pearson(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Pearson linear correlation."""
    a, b = _paired(x, y)
    return float(stats.pearsonr(a, b).statistic)


@dataclass(frozen=True)
class Latency:
    """Summary of request latencies, in milliseconds."""

    count: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        """Summarise latencies given in seconds (linear-interpolated percentiles)."""
        if not seconds:
            raise ValueError("no latencies to summarise")
        ms = np.asarray(seconds, dtype=np.float64) * 1000.0
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        return cls(len(ms), float(ms.mean()), float(p50), float(p95), float(p99))
