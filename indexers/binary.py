"""Binary quantisation: one sign bit per dimension, Hamming search, exact re-scoring.

Each float vector is stored twice: as ``ceil(dim/8)`` bytes of sign bits in a FAISS
``IndexBinaryIDMap(IndexBinaryFlat)`` and as floats in a
:class:`~ipsim.indexers.flat.FlatIndex`. A search takes the ``k · rescore`` nearest codes
by Hamming distance, then re-scores those candidates exactly with the float vectors, so
the returned scores are true inner products / minus squared L2 distances.

Sign bits approximate the angle between vectors, so this suits inner product on
normalised, zero-centred embeddings (sentence and image encoders); recall depends on the
data and on ``rescore``. The Hamming scan is exhaustive, and in FAISS 1.15 it honours
``IDSelector`` search parameters, so a filtered search ranks only allowed codes and
returns k hits whenever k allowed vectors exist; small allowed sets skip the codes and
are searched exactly on the float vectors.
"""

from __future__ import annotations

from typing import Any, Self

import faiss
import numpy as np
import numpy.typing as npt

from ipsim.indexers import hits
from ipsim.indexers.base import Labels, Metric, SearchHits, Selection, Vectors, parse_device
from ipsim.indexers.flat import FlatIndex
from ipsim.indexers.index_file import IndexFile, PersistedIndex
from ipsim.indexers.live_labels import (
    EXACT_FILTER_FRACTION,
    as_batch,
    as_queries,
    check_dim,
    check_k,
    check_metric,
    label_selector,
    search_params,
)

DEFAULT_RESCORE = 10


def sign_codes(vectors: Vectors) -> npt.NDArray[np.uint8]:
    """One bit per dimension (1 where the component is positive), packed to bytes."""
    return np.packbits(vectors > 0, axis=1)


class BinaryIndex(PersistedIndex):
    """Hamming candidates from sign codes, re-scored exactly with the float vectors."""

    family = "binary"

    def __init__(self, dim: int, metric: Metric = "ip", *, rescore: int = DEFAULT_RESCORE):
        self.dim = check_dim(dim)
        self.metric = check_metric(metric)
        self.rescore = rescore
        self._flat = FlatIndex(self.dim, self.metric)
        self._codes: Any = self._new_codes()

    def _new_codes(self) -> Any:
        # Bits are whole bytes: the padding bits are 0 in every code, so they never differ.
        return faiss.IndexBinaryIDMap(faiss.IndexBinaryFlat(8 * ((self.dim + 7) // 8)))

    @property
    def ntotal(self) -> int:
        """Number of live vectors."""
        return self._flat.ntotal

    def add(self, labels: Labels, vectors: Vectors) -> None:
        """Add vectors under new labels (ValueError for a label already present)."""
        labels, vectors = as_batch(labels, vectors, self.dim)
        self._flat.add(labels, vectors)  # validates the labels before anything changes
        self._codes.add_with_ids(sign_codes(vectors), labels)

    def remove(self, labels: Labels) -> None:
        """Forget these labels; unknown ones are ignored."""
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        self._flat.remove(labels)
        self._codes.remove_ids(labels)

    def search(self, queries: Vectors, k: int, allowed: Selection | None = None) -> SearchHits:
        """Top-k by exact score among the ``k · rescore`` Hamming-nearest allowed codes."""
        q = as_queries(queries, self.dim)
        k = check_k(k)
        if allowed is not None and allowed.count <= EXACT_FILTER_FRACTION * self.ntotal:
            return self._flat.search(q, k, allowed)
        if self.ntotal == 0:
            return hits.empty_hits(q.shape[0], k)
        params = search_params("", label_selector(allowed))
        _, candidates = self._codes.search(sign_codes(q), k * self.rescore, params=params)
        return hits.rescore(q, candidates, self._flat.vectors_of, self.metric, k)

    def to(self, device: str) -> Self:
        """Itself: the Hamming scan and re-scoring run on CPU."""
        parse_device(device)  # still refuse a malformed device name
        return self

    def describe(self) -> dict[str, object]:
        """Family, ``rescore``, and ``device: cpu``."""
        return {"type": self.family, "rescore": self.rescore, "device": "cpu"}

    def dump(self) -> IndexFile:
        """State for :class:`IndexFile`: the float vectors (codes are re-derived on load)."""
        return IndexFile(
            family=self.family,
            meta={"dim": self.dim, "metric": self.metric, "rescore": self.rescore},
            arrays={"flat": self._flat.dump().to_array()},
        )

    @classmethod
    def restore(cls, file: IndexFile) -> Self:
        """Rebuild from :meth:`dump`'s output."""
        index = cls(
            int(file.meta["dim"]),
            check_metric(str(file.meta["metric"])),
            rescore=int(file.meta["rescore"]),
        )
        index._flat = FlatIndex.restore(IndexFile.from_array(file.arrays["flat"]))
        labels, vectors = index._flat.items()
        index._codes.add_with_ids(sign_codes(vectors), labels)
        return index
