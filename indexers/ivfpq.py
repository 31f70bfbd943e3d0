"""Compressed inverted-file search (FAISS ``IndexIVFPQ``) with exact re-ranking.

Like :class:`~ipsim.indexers.ivf.IVFIndex` it is exact until ``train_size`` vectors
arrive, then trains (coarse quantizer and product quantizer) on them. PQ distances are
approximate, so each search takes ``k · rerank`` candidates from the IVF-PQ and re-scores
them exactly against the float vectors, which this index keeps in a
:class:`~ipsim.indexers.flat.FlatIndex` beside the codes: the returned scores are true
inner products / minus squared L2 distances, and the ranking among candidates is exact.
The codes make candidate generation cheap; the float copy costs the memory PQ would
otherwise save (keep it because scores must be exact, and because small filtered
searches are answered by it exactly).
"""

from __future__ import annotations

from typing import Any

import faiss

from ipsim.indexers import hits
from ipsim.indexers.base import Metric, SearchHits, Selection, Vectors
from ipsim.indexers.gpu import GPU_MAX_K
from ipsim.indexers.ivf import IVFIndex, default_train_size, metric_type
from ipsim.indexers.live_labels import search_params

DEFAULT_NBITS = 8
DEFAULT_RERANK = 4
_DEFAULT_SUBVECTOR_DIM = 8


def pq_min_train_size(nbits: int) -> int:
    """Training vectors the product quantizer wants: 39 per centroid."""
    return 39 * (1 << nbits)


def default_m(dim: int) -> int:
    """Sub-quantizers for ``dim``: the largest divisor of dim giving sub-vectors ≥ 8 wide."""
    target = max(1, dim // _DEFAULT_SUBVECTOR_DIM)
    return max(m for m in range(1, target + 1) if dim % m == 0)


class IVFPQIndex(IVFIndex):
    """``IndexIVFPQ`` candidates re-ranked exactly with the stored float vectors."""

    family = "ivfpq"

    def __init__(
        self,
        dim: int,
        metric: Metric = "ip",
        *,
        nlist: int | None = None,
        nprobe: int | None = None,
        train_size: int | None = None,
        m: int | None = None,
        nbits: int = DEFAULT_NBITS,
        rerank: int = DEFAULT_RERANK,
    ) -> None:
        if train_size is None:
            # Each sub-quantizer's k-means wants 39 points per centroid, like the lists.
            train_size = max(default_train_size(nlist), pq_min_train_size(nbits))
        elif train_size < (1 << nbits):
            raise ValueError(f"train_size ({train_size}) must be at least 2**nbits")
        super().__init__(dim, metric, nlist=nlist, nprobe=nprobe, train_size=train_size)
        self.m = m if m is not None else default_m(self.dim)
        if self.dim % self.m:
            raise ValueError(f"m ({self.m}) must divide dim ({self.dim})")
        self.nbits = nbits
        self.rerank = rerank

    def _new_ivf(self, quantizer: Any, nlist: int) -> Any:
        return faiss.IndexIVFPQ(
            quantizer, self.dim, nlist, self.m, self.nbits, metric_type(self.metric)
        )

    def _keeps_flat(self) -> bool:
        return True

    def _probe(self, queries: Vectors, k: int, nprobe: int, selector: Any) -> SearchHits:
        """PQ candidates (``k · rerank``), re-scored exactly, best k kept."""
        assert self._flat is not None
        width = k * self.rerank
        if selector is None and self._gpu is not None and width <= GPU_MAX_K:
            _, candidates = self._gpu.search(queries, width)
        else:
            params = search_params("IVF", selector, nprobe=nprobe)
            _, candidates = self._ivf.search(queries, width, params=params)
        return hits.rescore(queries, candidates, self._flat.vectors_of, self.metric, k)

    def _exhaustive(
        self, queries: Vectors, k: int, allowed: Selection | None, selector: Any
    ) -> SearchHits:
        """Exact top-k from the float vectors (small filtered sets, short rows)."""
        assert self._flat is not None
        return self._flat.search(queries, k, allowed)

    def params(self) -> dict[str, object]:
        """The parameters in effect."""
        return {**super().params(), "m": self.m, "nbits": self.nbits, "rerank": self.rerank}

    def _constructor_args(self) -> dict[str, object]:
        extra = {"m": self.m, "nbits": self.nbits, "rerank": self.rerank}
        return {**super()._constructor_args(), **extra}
