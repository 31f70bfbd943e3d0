"""Building, merging and exactly re-scoring :class:`~ipsim.indexers.base.SearchHits`.

One ordering rule everywhere: score descending, then label ascending, missing slots
(label -1, score -inf) last. Applying it to FAISS output too makes results independent
of how an index happens to break ties, so shards merge to exactly what one index returns.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ipsim.indexers.base import Labels, Metric, SearchHits, Vectors

# Rows of candidates re-scored at once: bounds the (rows, candidates, dim) float block.
_RESCORE_ROWS = 256


def empty_hits(nq: int, k: int) -> SearchHits:
    """``nq`` rows of ``k`` missing slots."""
    return SearchHits(
        scores=np.full((nq, k), -np.inf, dtype=np.float32),
        labels=np.full((nq, k), -1, dtype=np.int64),
    )


def top_k(scores: npt.NDArray[np.float32], labels: Labels, k: int) -> SearchHits:
    """Per row, the best ``k`` of ``(scores, labels)`` in the one ordering rule, padded to k."""
    nq, width = labels.shape
    missing = labels < 0
    scores = np.where(missing, -np.inf, scores).astype(np.float32, copy=False)
    order = np.lexsort((labels, -scores, missing), axis=1)[:, :k]
    out = empty_hits(nq, k)
    take = min(k, width)
    out.scores[:, :take] = np.take_along_axis(scores, order, axis=1)
    out.labels[:, :take] = np.take_along_axis(labels, order, axis=1)
    out.labels[:, :take][out.scores[:, :take] == -np.inf] = -1
    return out


def from_faiss(distances: npt.NDArray[np.float32], labels: Labels, metric: Metric) -> SearchHits:
    """FAISS ``(D, I)`` as hits: scores higher-is-better (``l2``: minus squared distance)."""
    scores = distances if metric == "ip" else -distances
    return top_k(scores, labels, labels.shape[1])


def merge(parts: list[SearchHits], k: int) -> SearchHits:
    """The best ``k`` per row over several hit lists for the same queries (shards)."""
    scores = np.concatenate([p.scores for p in parts], axis=1)
    labels = np.concatenate([p.labels for p in parts], axis=1)
    return top_k(scores, labels, k)


def rescore(
    queries: Vectors,
    candidates: Labels,
    vectors_of: Callable[[Labels], Vectors],
    metric: Metric,
    k: int,
) -> SearchHits:
    """The best ``k`` of each row's candidate labels by exact score.

    ``vectors_of`` returns the stored float vectors of existing labels; -1 candidates
    are skipped. Scores are exact inner products or minus squared L2 distances.
    """
    nq, width = candidates.shape
    scores = np.full((nq, width), -np.inf, dtype=np.float32)
    for start in range(0, nq, _RESCORE_ROWS):
        block = candidates[start : start + _RESCORE_ROWS]
        q = queries[start : start + _RESCORE_ROWS]
        flat = block.reshape(-1)
        valid = flat >= 0
        rows = np.zeros((flat.size, queries.shape[1]), dtype=np.float32)
        if valid.any():
            rows[valid] = vectors_of(flat[valid])
        vecs = rows.reshape(block.shape[0], width, -1)
        if metric == "ip":
            s = np.einsum("bd,bcd->bc", q, vecs)
        else:
            diff = vecs - q[:, None, :]
            s = -np.einsum("bcd,bcd->bc", diff, diff)
        scores[start : start + _RESCORE_ROWS] = np.where(block >= 0, s, -np.inf)
    return top_k(scores, candidates, k)
