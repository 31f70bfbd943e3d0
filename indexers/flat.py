"""Exact search: FAISS ``IndexIDMap2`` over ``IndexFlatIP`` / ``IndexFlatL2``.

Besides being a family of its own, a :class:`FlatIndex` is the float-vector store the
approximate families build on: IVF and IVF-PQ search it until they are trained, IVF-PQ
and binary re-score their candidates with its vectors, auto starts as one.
"""

from __future__ import annotations

from typing import Any, Self

import faiss
import numpy as np
import numpy.typing as npt

from ipsim.indexers import hits
from ipsim.indexers.base import Labels, Metric, SearchHits, Selection, Vectors
from ipsim.indexers.gpu import GPU_MAX_K, Mirror, device_name, mirror_for
from ipsim.indexers.index_file import IndexFile, PersistedIndex
from ipsim.indexers.live_labels import (
    LiveLabels,
    as_batch,
    as_queries,
    check_dim,
    check_k,
    check_metric,
    label_selector,
    search_params,
)


def flat_faiss_index(dim: int, metric: Metric) -> Any:
    """An empty FAISS ``IndexFlatIP``/``IndexFlatL2`` of this shape."""
    return faiss.IndexFlatIP(dim) if metric == "ip" else faiss.IndexFlatL2(dim)


class FlatIndex(PersistedIndex):
    """Exact top-k; ``allowed`` filters inside FAISS through an ``IDSelectorBitmap``."""

    family = "flat"

    def __init__(self, dim: int, metric: Metric = "ip") -> None:
        self.dim = check_dim(dim)
        self.metric = check_metric(metric)
        self._index: Any = faiss.IndexIDMap2(flat_faiss_index(self.dim, self.metric))
        self._live = LiveLabels()
        self._gpu: Mirror | None = None

    @property
    def ntotal(self) -> int:
        """Number of live vectors."""
        return self._live.count

    @property
    def exact(self) -> bool:
        """Flat search is exhaustive."""
        return True

    def add(self, labels: Labels, vectors: Vectors) -> None:
        """Add vectors under new labels (ValueError for a label already present)."""
        labels, vectors = as_batch(labels, vectors, self.dim)
        self._live.insert(labels)
        self._index.add_with_ids(vectors, labels)
        if self._gpu is not None:
            self._gpu.add(labels, vectors)

    def remove(self, labels: Labels) -> None:
        """Forget these labels; unknown ones are ignored."""
        present = self._live.discard(labels)
        if present.size:
            self._index.remove_ids(present)
            if self._gpu is not None:
                self._gpu.invalidate()

    def search(self, queries: Vectors, k: int, allowed: Selection | None = None) -> SearchHits:
        """Exact top-k among live labels (restricted to ``allowed`` when given)."""
        q = as_queries(queries, self.dim)
        k = check_k(k)
        if self.ntotal == 0 or (allowed is not None and allowed.count == 0):
            return hits.empty_hits(q.shape[0], k)
        if allowed is None and self._gpu is not None and k <= GPU_MAX_K:
            distances, found = self._gpu.search(q, k)
        else:
            params = search_params("", label_selector(allowed))
            distances, found = self._index.search(q, k, params=params)
        return hits.from_faiss(distances, found, self.metric)

    def vectors_of(self, labels: Labels) -> Vectors:
        """The stored vectors of these labels, which must be live (FAISS raises otherwise)."""
        labels = np.ascontiguousarray(labels, dtype=np.int64)
        out: Vectors = self._index.reconstruct_batch(labels)
        return out

    def items(self) -> tuple[Labels, Vectors]:
        """Every live label and its vector, in storage order (copies)."""
        labels = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        flat: Any = faiss.downcast_index(self._index.index)
        data: npt.NDArray[np.float32] = faiss.rev_swig_ptr(flat.get_xb(), labels.size * self.dim)
        return labels, data.reshape(labels.size, self.dim).copy()

    def to(self, device: str) -> Self:
        """Search unfiltered queries on ``cuda:N`` (a FAISS GPU clone, or torch's exact
        search when FAISS has no GPU) or back on ``cpu``."""
        self._gpu = mirror_for(
            device, self._gpu, lambda: self._index, flat=(self.metric, self.items)
        )
        return self

    @property
    def device(self) -> str:
        """Where unfiltered searches run: ``cpu`` or ``cuda:N``."""
        return device_name(self._gpu)

    def describe(self) -> dict[str, object]:
        """``{"type": "flat", "device": ...}``."""
        return {"type": self.family, "device": self.device}

    def dump(self) -> IndexFile:
        """State for :class:`IndexFile` (the FAISS index serialised)."""
        return IndexFile(
            family=self.family,
            meta={"dim": self.dim, "metric": self.metric},
            arrays={"faiss": faiss.serialize_index(self._index)},
        )

    @classmethod
    def restore(cls, file: IndexFile) -> Self:
        """Rebuild from :meth:`dump`'s output."""
        index = cls(int(file.meta["dim"]), check_metric(str(file.meta["metric"])))
        index._index = faiss.deserialize_index(file.arrays["faiss"])
        index._live = LiveLabels.of(faiss.vector_to_array(index._index.id_map))
        return index

    @classmethod
    def of(cls, dim: int, metric: Metric, labels: Labels, vectors: Vectors) -> Self:
        """A flat index holding these vectors."""
        index = cls(dim, metric)
        index.add(labels, vectors)
        return index
