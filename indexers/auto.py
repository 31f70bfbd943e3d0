"""The default family: exact while small, HNSW once it is not.

An :class:`AutoIndex` starts as a :class:`~ipsim.indexers.flat.FlatIndex`. On the add
that brings it to ``threshold`` live vectors it builds an
:class:`~ipsim.indexers.hnsw.HNSWIndex` from the flat's vectors and uses that from then
on, even if removals later take it below the threshold (switching back and forth would
rebuild the graph each time). ``describe()["current"]`` says which it is.
"""

from __future__ import annotations

from typing import Self

import numpy as np

from ipsim.indexers.base import Labels, Metric, SearchHits, Selection, Vectors
from ipsim.indexers.flat import FlatIndex
from ipsim.indexers.hnsw import (
    DEFAULT_EF_CONSTRUCTION,
    DEFAULT_EF_SEARCH,
    DEFAULT_M,
    HNSWIndex,
)
from ipsim.indexers.index_file import IndexFile, PersistedIndex
from ipsim.indexers.live_labels import check_dim, check_metric

DEFAULT_THRESHOLD = 50_000


class AutoIndex(PersistedIndex):
    """Flat below ``threshold`` live vectors, HNSW (with these parameters) from then on."""

    family = "auto"

    def __init__(
        self,
        dim: int,
        metric: Metric = "ip",
        *,
        threshold: int = DEFAULT_THRESHOLD,
        M: int = DEFAULT_M,
        ef_construction: int = DEFAULT_EF_CONSTRUCTION,
        ef_search: int = DEFAULT_EF_SEARCH,
    ) -> None:
        self.dim = check_dim(dim)
        self.metric = check_metric(metric)
        self.threshold = threshold
        self.M = M
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self._inner: FlatIndex | HNSWIndex = FlatIndex(self.dim, self.metric)

    @property
    def current(self) -> PersistedIndex:
        """The index in use now (a FlatIndex, then an HNSWIndex)."""
        return self._inner

    @property
    def ntotal(self) -> int:
        """Number of live vectors."""
        return self._inner.ntotal

    @property
    def exact(self) -> bool:
        """Exact while still flat."""
        return self._inner.exact

    def add(self, labels: Labels, vectors: Vectors) -> None:
        """Add; switches to HNSW when this add reaches ``threshold``."""
        self._inner.add(labels, vectors)
        if isinstance(self._inner, FlatIndex) and self._inner.ntotal >= self.threshold:
            self._switch_to_hnsw()

    def _switch_to_hnsw(self) -> None:
        assert isinstance(self._inner, FlatIndex)
        graph = HNSWIndex(
            self.dim,
            self.metric,
            M=self.M,
            ef_construction=self.ef_construction,
            ef_search=self.ef_search,
        )
        labels, vectors = self._inner.items()
        order = np.argsort(labels)  # insertion order does not matter; label order is stable
        graph.add(labels[order], vectors[order])
        self._inner = graph

    def remove(self, labels: Labels) -> None:
        """Forget these labels; unknown ones are ignored."""
        self._inner.remove(labels)

    def search(self, queries: Vectors, k: int, allowed: Selection | None = None) -> SearchHits:
        """The current index's search."""
        return self._inner.search(queries, k, allowed)

    def to(self, device: str) -> Self:
        """Flat moves to ``device``; HNSW stays on CPU (``describe`` tells which)."""
        self._inner.to(device)
        return self

    def params(self) -> dict[str, object]:
        """The parameters in effect."""
        return {
            "threshold": self.threshold,
            "M": self.M,
            "ef_construction": self.ef_construction,
            "ef_search": self.ef_search,
        }

    def describe(self) -> dict[str, object]:
        """Family, parameters, ``current`` (``flat`` or ``hnsw``) and its device."""
        return {
            "type": self.family,
            **self.params(),
            "current": self._inner.family,
            "device": str(self._inner.describe()["device"]),
        }

    def dump(self) -> IndexFile:
        """State for :class:`IndexFile`: the parameters and the current index's file."""
        return IndexFile(
            family=self.family,
            meta={"dim": self.dim, "metric": self.metric, **self.params()},
            arrays={"inner": self._inner.dump().to_array()},
        )

    @classmethod
    def restore(cls, file: IndexFile) -> Self:
        """Rebuild from :meth:`dump`'s output."""
        meta = dict(file.meta)
        index = cls(int(meta.pop("dim")), check_metric(str(meta.pop("metric"))), **meta)
        inner = IndexFile.from_array(file.arrays["inner"])
        index._inner = (
            HNSWIndex.restore(inner) if inner.family == "hnsw" else FlatIndex.restore(inner)
        )
        return index
