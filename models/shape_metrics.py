"""The Princeton Shape Benchmark's retrieval measures, for class-labelled shape databases.

Shilane, Min, Kazhdan and Funkhouser, "The Princeton Shape Benchmark" (SMI 2004), rank the
whole database for each query shape and score the ranked list by the query's class ``C``
(``|C|`` members, the query among them). The query itself is left out of its list, so
``R = |C| - 1`` other shapes are relevant:

* **NN** (nearest neighbour): 1 when the first result is in ``C``.
* **FT** (first tier): relevant results in the top ``R``, over ``R``; **ST** (second tier):
  relevant results in the top ``2R``, over ``R``. A perfect ranking scores 1 on both.
* **E** (E-measure): ``2 / (1/P + 1/R)`` of precision and recall over the top 32 results
  (over the whole list when the database holds fewer than 33 shapes); 0 when none of them
  is relevant.
* **DCG**: gain 1 at each relevant rank ``i``, discounted as ``G_1 + Σ_{i≥2} G_i / log2(i)``
  (PSB's discount, not the ``log2(i + 1)`` of :func:`ipsim.benchmarks.metrics.ndcg_at_k`),
  over the full list, divided by the ideal DCG of ``R`` relevant results first, so a
  perfect ranking scores 1.
* **mAP**: the mean over queries of average precision (precision at each relevant rank,
  averaged over the ``R`` relevant results).
* **Precision–recall**: per query, precision interpolated (the best precision at this or a
  higher recall) at the eleven recall levels 0.0, 0.1, …, 1.0; averaged over queries.
  Eleven fixed levels, not ``1/R`` steps, so that classes of different sizes average on
  one axis.

Every measure is a mean over queries (PSB's "micro-averaged" table), not over classes.
A query whose class has no other member in the database is skipped (nothing is relevant,
so every measure is undefined), and the count of those is reported. Only the rows chosen
by ``queries`` are queries; the database is always every row, as PSB evaluates its test
shapes against the test database.

Ties in similarity are broken by database order (the lower row first), so a run is
reproducible; a tie-heavy similarity is scored as its row order happens to fall.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

E_MEASURE_DEPTH = 32
RECALL_LEVELS: npt.NDArray[np.float64] = np.linspace(0.0, 1.0, 11)
"""Where :func:`precision_recall` interpolates precision."""

Similarity = npt.NDArray[Any]
Rows = npt.NDArray[np.int64]
Hits = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ShapeScores:
    """PSB measures, each a mean over the evaluated queries."""

    nn: float
    first_tier: float
    second_tier: float
    e_measure: float
    dcg: float
    map: float
    queries: int
    """Queries evaluated."""
    skipped: int = 0
    """Queries left out: no other member of their class is in the database."""


def _check_matrix(similarity: Similarity) -> Similarity:
    matrix = np.asarray(similarity)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"similarity must be a square (n, n) matrix, got shape {matrix.shape}")
    if matrix.shape[0] < 2:
        raise ValueError("similarity must cover at least two shapes")
    if not np.issubdtype(matrix.dtype, np.number) or np.isnan(matrix).any():
        raise ValueError("similarity must be numbers without NaN")
    return matrix


def _query_rows(queries: npt.ArrayLike | None, n: int) -> Rows:
    if queries is None:
        return np.arange(n, dtype=np.int64)
    mask = np.asarray(queries)
    if mask.dtype != np.bool_ or mask.shape != (n,):
        raise ValueError(
            f"queries must be a boolean mask of shape ({n},), got {mask.dtype} {mask.shape}"
        )
    return np.flatnonzero(mask).astype(np.int64)


def _label_codes(labels: Sequence[str], n: int) -> Rows:
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} shapes")
    _, codes = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    return np.asarray(codes, dtype=np.int64).reshape(n)


def rankings(similarity: Similarity, queries: npt.ArrayLike | None = None) -> tuple[Rows, Rows]:
    """Query rows and, per query, every other row best first: ``(q,)`` and ``(q, n - 1)``.

    Higher similarity ranks first; ties go to the lower row (a stable sort).
    """
    matrix = _check_matrix(similarity)
    n = matrix.shape[0]
    rows = _query_rows(queries, n)
    order = np.argsort(-matrix[rows].astype(np.float64), axis=1, kind="stable")
    others = order[order != rows[:, None]].reshape(len(rows), n - 1)
    return rows, others.astype(np.int64)


def relevance(ranked: npt.ArrayLike, query_rows: npt.ArrayLike, labels: Sequence[str]) -> Hits:
    """``(q, n - 1)``: is each ranked shape in its query's class?

    ``ranked[i]`` must list every database row except ``query_rows[i]`` exactly once.
    """
    order = np.asarray(ranked, dtype=np.int64)
    rows = np.asarray(query_rows, dtype=np.int64)
    n = len(labels)
    if order.ndim != 2 or order.shape != (len(rows), n - 1):
        raise ValueError(f"rankings must have shape ({len(rows)}, {n - 1}), got {order.shape}")
    # Row i sorted must be 0..n-1 without rows[i]: k below the query, k + 1 from it on.
    position = np.arange(n - 1)[None, :]
    expected = position + (position >= rows[:, None])
    complete = (np.sort(order, axis=1) == expected).all(axis=1)
    if not complete.all():
        bad = int(np.flatnonzero(~complete)[0])
        raise ValueError(
            f"ranking {bad} (query row {int(rows[bad])}) must hold every other row once"
        )
    codes = _label_codes(labels, n)
    hits: Hits = codes[order] == codes[rows][:, None]
    return hits


def _evaluated(hits: Hits) -> tuple[Hits, Rows]:
    """The rows of ``hits`` with something relevant, and their relevant counts ``R``."""
    relevant = hits.sum(axis=1).astype(np.int64)
    keep = relevant > 0
    return hits[keep], relevant[keep]


def _within(hits: Hits, depth: Rows) -> Floats:
    """Per query, how many hits lie in its first ``depth`` ranks."""
    cumulative = np.cumsum(hits, axis=1)
    last = np.minimum(depth, hits.shape[1]) - 1
    return np.asarray(cumulative[np.arange(len(hits)), last], dtype=np.float64)


def _psb_discount(length: int) -> Floats:
    """``1, 1/log2(2), 1/log2(3), …``: PSB's DCG weight of ranks 1, 2, 3, …"""
    ranks = np.arange(1, length + 1, dtype=np.float64)
    return np.asarray(1.0 / np.log2(np.maximum(ranks, 2.0)), dtype=np.float64)


def _e_measure(hits: Hits, relevant: Rows) -> Floats:
    depth = min(E_MEASURE_DEPTH, hits.shape[1])
    found = hits[:, :depth].sum(axis=1)
    # 2 / (1/P + 1/R) with P = found/depth and R = found/relevant, written without 1/0.
    return np.asarray(2.0 * found / (depth + relevant), dtype=np.float64)


def _dcg(hits: Hits, relevant: Rows) -> Floats:
    weight = _psb_discount(hits.shape[1])
    ideal = np.cumsum(weight)[relevant - 1]
    return np.asarray((hits * weight).sum(axis=1) / ideal, dtype=np.float64)


def _precision_at_ranks(hits: Hits) -> Floats:
    ranks = np.arange(1, hits.shape[1] + 1, dtype=np.float64)
    return np.asarray(np.cumsum(hits, axis=1) / ranks, dtype=np.float64)


def _average_precision(hits: Hits, relevant: Rows) -> Floats:
    return np.asarray((_precision_at_ranks(hits) * hits).sum(axis=1) / relevant, dtype=np.float64)


def scores_of(hits: npt.ArrayLike) -> ShapeScores:
    """PSB measures from a relevance matrix (rows are queries' ranked lists, best first)."""
    matrix = np.asarray(hits, dtype=np.bool_)
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise ValueError(f"hits must be a (queries, ranks) matrix, got shape {matrix.shape}")
    kept, relevant = _evaluated(matrix)
    if len(kept) == 0:
        raise ValueError("no query has another member of its class in the database")
    return ShapeScores(
        nn=float(kept[:, 0].mean()),
        first_tier=float((_within(kept, relevant) / relevant).mean()),
        second_tier=float((_within(kept, 2 * relevant) / relevant).mean()),
        e_measure=float(_e_measure(kept, relevant).mean()),
        dcg=float(_dcg(kept, relevant).mean()),
        map=float(_average_precision(kept, relevant).mean()),
        queries=len(kept),
        skipped=len(matrix) - len(kept),
    )


def _hits(similarity: Similarity, labels: Sequence[str], queries: npt.ArrayLike | None) -> Hits:
    _label_codes(labels, len(np.asarray(similarity)))
    rows, ranked = rankings(similarity, queries)
    return relevance(ranked, rows, labels)


def shape_scores(
    similarity: Similarity, labels: Sequence[str], queries: npt.ArrayLike | None = None
) -> ShapeScores:
    """PSB measures of ranking every row by ``similarity`` (higher = more alike).

    ``queries`` (a boolean mask over the rows) picks the query rows; the database is every
    row, each query left out of its own list.
    """
    return scores_of(_hits(similarity, labels, queries))


def curve_of(hits: npt.ArrayLike) -> tuple[Floats, Floats]:
    """``(RECALL_LEVELS, mean interpolated precision)`` from a relevance matrix."""
    kept, relevant = _evaluated(np.asarray(hits, dtype=np.bool_))
    if len(kept) == 0:
        raise ValueError("no query has another member of its class in the database")
    precision = _precision_at_ranks(kept)
    recall = np.cumsum(kept, axis=1) / relevant[:, None]
    # Interpolated: the best precision at any rank whose recall reaches the level.
    reaches = recall[:, :, None] >= RECALL_LEVELS[None, None, :] - 1e-12
    interpolated = np.where(reaches, precision[:, :, None], 0.0).max(axis=1)
    return RECALL_LEVELS.copy(), np.asarray(interpolated.mean(axis=0), dtype=np.float64)


def precision_recall(
    similarity: Similarity, labels: Sequence[str], queries: npt.ArrayLike | None = None
) -> tuple[Floats, Floats]:
    """The averaged precision–recall curve: ``(recall levels, precision)``, 11 points each."""
    return curve_of(_hits(similarity, labels, queries))


def pooled(parts: Sequence[ShapeScores]) -> ShapeScores:
    """Scores of several disjoint query sets (cross-validation folds) as one set: every
    measure weighted by its part's query count, as if all queries had been one table."""
    total = sum(p.queries for p in parts)
    if total == 0:
        raise ValueError("no queries to pool")

    def mean(measure: str) -> float:
        return float(sum(getattr(p, measure) * p.queries for p in parts)) / total

    measures = ("nn", "first_tier", "second_tier", "e_measure", "dcg", "map")
    return ShapeScores(
        **{m: mean(m) for m in measures},
        queries=total,
        skipped=sum(p.skipped for p in parts),
    )
