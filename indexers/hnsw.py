"""Graph search: FAISS ``IndexHNSWFlat``, with tombstones because HNSW cannot remove.

FAISS stores HNSW vectors by row. This index keeps the row → label map, a bitmap of live
rows and a label → row map; ``remove`` only clears rows from the live bitmap, and every
search passes FAISS a selector "live row, and label allowed", so removed vectors are
never returned (even if a label is re-added later: the old row stays dead). When dead
rows exceed ``rebuild_ratio`` of all rows the graph is rebuilt from the live vectors,
which FAISS keeps in the graph's flat storage.

A filtered search whose allowed set is small scans that flat storage exhaustively with
the same selector (exact), as does any query that came back with fewer hits than exist.
HNSW has no FAISS GPU implementation, so this index always searches on CPU.
"""

from __future__ import annotations

from typing import Any, Self

import faiss
import numpy as np
import numpy.typing as npt

from ipsim.indexers import hits
from ipsim.indexers.base import Labels, Metric, SearchHits, Selection, Vectors, parse_device
from ipsim.indexers.index_file import IndexFile, PersistedIndex
from ipsim.indexers.ivf import metric_type
from ipsim.indexers.live_labels import (
    EXACT_FILTER_FRACTION,
    LiveLabels,
    as_batch,
    as_queries,
    bitmap_selector,
    check_dim,
    check_k,
    check_metric,
    search_params,
)

DEFAULT_M = 32
DEFAULT_EF_CONSTRUCTION = 200
DEFAULT_EF_SEARCH = 128
DEFAULT_REBUILD_RATIO = 0.3


class HNSWIndex(PersistedIndex):
    """``IndexHNSWFlat`` over rows, with labels, tombstones and rebuilds handled here."""

    family = "hnsw"

    def __init__(
        self,
        dim: int,
        metric: Metric = "ip",
        *,
        M: int = DEFAULT_M,
        ef_construction: int = DEFAULT_EF_CONSTRUCTION,
        ef_search: int = DEFAULT_EF_SEARCH,
        rebuild_ratio: float = DEFAULT_REBUILD_RATIO,
    ) -> None:
        self.dim = check_dim(dim)
        self.metric = check_metric(metric)
        self.M = M
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.rebuild_ratio = rebuild_ratio
        self._reset()

    def _reset(self) -> None:
        """An empty graph and empty maps."""
        self._hnsw: Any = faiss.IndexHNSWFlat(self.dim, self.M, metric_type(self.metric))
        self._hnsw.hnsw.efConstruction = self.ef_construction
        self._live = LiveLabels()  # labels
        self._live_rows = LiveLabels()  # rows of the graph not removed
        # row -> label, as a C++ vector so FAISS can translate a label selector in place
        self._row_labels: Any = faiss.Int64Vector()
        self._row_of: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)  # label -> row

    @property
    def ntotal(self) -> int:
        """Number of live vectors."""
        return self._live.count

    @property
    def tombstones(self) -> int:
        """Removed vectors still in the graph."""
        return int(self._hnsw.ntotal) - self.ntotal

    def _row_label_view(self) -> Labels:
        """Row → label as a numpy view of the C++ vector (valid until the next add)."""
        n = int(self._row_labels.size())
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        view: Labels = faiss.rev_swig_ptr(self._row_labels.data(), n)
        return view

    def add(self, labels: Labels, vectors: Vectors) -> None:
        """Add vectors under new labels (ValueError for a live label)."""
        labels, vectors = as_batch(labels, vectors, self.dim)
        if not labels.size:
            return
        self._live.insert(labels)
        first = int(self._hnsw.ntotal)
        rows = np.arange(first, first + labels.size, dtype=np.int64)
        self._row_labels.resize(first + labels.size)
        self._row_label_view()[first:] = labels
        if int(labels.max()) >= self._row_of.size:
            grown = np.full(max(int(labels.max()) + 1, 2 * self._row_of.size), -1, np.int64)
            grown[: self._row_of.size] = self._row_of
            self._row_of = grown
        self._row_of[labels] = rows
        self._live_rows.insert(rows)
        self._hnsw.add(vectors)

    def remove(self, labels: Labels) -> None:
        """Tombstone these labels (unknown ones are ignored); rebuild when too many are dead."""
        present = self._live.discard(labels)
        if not present.size:
            return
        self._live_rows.discard(self._row_of[present])
        self._row_of[present] = -1
        if self.tombstones > self.rebuild_ratio * int(self._hnsw.ntotal):
            self.rebuild()

    def rebuild(self) -> None:
        """A fresh graph over the live vectors only."""
        labels, vectors = self.items()
        self._reset()
        self.add(labels, vectors)

    def items(self) -> tuple[Labels, Vectors]:
        """Every live label and its vector (copies)."""
        n = int(self._hnsw.ntotal)
        rows = np.flatnonzero(self._live_rows.contains(np.arange(n, dtype=np.int64)))
        storage: Any = faiss.downcast_index(self._hnsw.storage)
        data = faiss.rev_swig_ptr(storage.get_xb(), n * self.dim).reshape(n, self.dim)
        return self._row_label_view()[rows].copy(), data[rows].copy()

    def _row_selector(self, allowed: Selection | None) -> Any:
        """Selector over graph rows: live, and (when given) label in ``allowed``."""
        live = bitmap_selector(self._live_rows.selection()) if self.tombstones else None
        if allowed is None:
            return live
        by_label = faiss.IDSelectorTranslated(self._row_labels, bitmap_selector(allowed))
        # The cheap bitmap test first: IDSelectorAnd stops at the first "no".
        return by_label if live is None else faiss.IDSelectorAnd(live, by_label)

    def _to_hits(self, distances: npt.NDArray[np.float32], rows: Labels) -> SearchHits:
        labels = np.where(rows >= 0, self._row_label_view()[np.maximum(rows, 0)], -1)
        return hits.from_faiss(distances, labels, self.metric)

    def search(self, queries: Vectors, k: int, allowed: Selection | None = None) -> SearchHits:
        """Top-k by graph search; small allowed sets and short rows are searched exactly."""
        q = as_queries(queries, self.dim)
        k = check_k(k)
        available = self.ntotal if allowed is None else self._live.count_in(allowed)
        if available == 0:
            return hits.empty_hits(q.shape[0], k)
        selector = self._row_selector(allowed)
        if allowed is not None and available <= EXACT_FILTER_FRACTION * self.ntotal:
            return self._search_storage(q, k, selector)
        params = search_params("HNSW", selector, efSearch=max(self.ef_search, k))
        out = self._to_hits(*self._hnsw.search(q, k, params=params))
        short = (out.labels >= 0).sum(axis=1) < min(k, available)
        if short.any():
            again = self._search_storage(q[short], k, selector)
            out.scores[short] = again.scores
            out.labels[short] = again.labels
        return out

    def _search_storage(self, queries: Vectors, k: int, selector: Any) -> SearchHits:
        """Exact top-k over the graph's flat storage, same selector."""
        storage: Any = faiss.downcast_index(self._hnsw.storage)
        params = search_params("", selector)
        return self._to_hits(*storage.search(queries, k, params=params))

    def to(self, device: str) -> Self:
        """Itself: FAISS has no GPU HNSW, so this index stays on CPU."""
        parse_device(device)  # still refuse a malformed device name
        return self

    def params(self) -> dict[str, object]:
        """The parameters in effect."""
        return {
            "M": self.M,
            "ef_construction": self.ef_construction,
            "ef_search": self.ef_search,
            "rebuild_ratio": self.rebuild_ratio,
        }

    def describe(self) -> dict[str, object]:
        """Family, parameters, and ``device: cpu`` (HNSW never runs on a GPU)."""
        return {"type": self.family, **self.params(), "device": "cpu"}

    def dump(self) -> IndexFile:
        """State for :class:`IndexFile`: the graph, its row labels and live rows."""
        n = int(self._hnsw.ntotal)
        return IndexFile(
            family=self.family,
            meta={"dim": self.dim, "metric": self.metric, **self.params()},
            arrays={
                "hnsw": faiss.serialize_index(self._hnsw),
                "row_labels": self._row_label_view().copy(),
                "live_rows": np.flatnonzero(self._live_rows.contains(np.arange(n, dtype=np.int64))),
            },
        )

    @classmethod
    def restore(cls, file: IndexFile) -> Self:
        """Rebuild from :meth:`dump`'s output (the graph as saved, tombstones included)."""
        meta = dict(file.meta)
        index = cls(int(meta.pop("dim")), check_metric(str(meta.pop("metric"))), **meta)
        index._hnsw = faiss.deserialize_index(file.arrays["hnsw"])
        row_labels = file.arrays["row_labels"].astype(np.int64)
        live_rows = file.arrays["live_rows"].astype(np.int64)
        index._row_labels.resize(row_labels.size)
        index._row_label_view()[:] = row_labels
        index._live_rows = LiveLabels.of(live_rows)
        live_labels = row_labels[live_rows]
        index._live = LiveLabels.of(live_labels)
        index._row_of = np.full(int(live_labels.max(initial=-1)) + 1, -1, dtype=np.int64)
        index._row_of[live_labels] = live_rows
        return index
