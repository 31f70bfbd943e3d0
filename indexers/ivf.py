"""Inverted-file search (FAISS ``IndexIVFFlat``) that trains itself once it has enough data.

Until ``train_size`` live vectors have arrived the index is a :class:`FlatIndex` (exact).
On the add that reaches it, k-means trains the coarse quantizer on every live vector,
``nlist`` is chosen from that count when not given (≈ 4·√n, at most n/39 so each list
gets its 39 training points), and the vectors move into the IVF. The list count then
stays fixed; rebuild with a new index (``ipsim reindex``) when a collection grows far
beyond the size it was trained at.

Search probes ``nprobe`` lists. A filtered search whose allowed set is small probes every
list (exact over the allowed vectors), and any query that found fewer hits than exist is
searched again over every list, so a selective filter still returns k hits.
"""

from __future__ import annotations

import math
from typing import Any, Self

import faiss
import numpy as np

from ipsim.indexers import hits
from ipsim.indexers.base import Labels, Metric, SearchHits, Selection, Vectors
from ipsim.indexers.flat import FlatIndex, flat_faiss_index
from ipsim.indexers.gpu import GPU_MAX_K, Mirror, device_name, mirror_for
from ipsim.indexers.index_file import IndexFile, PersistedIndex
from ipsim.indexers.live_labels import (
    EXACT_FILTER_FRACTION,
    LiveLabels,
    as_batch,
    as_queries,
    check_dim,
    check_k,
    check_metric,
    label_selector,
    search_params,
)

# Training size when neither nlist nor train_size is given: enough for ~256 lists.
DEFAULT_TRAIN_SIZE = 10_000
_MIN_TRAIN_SIZE = 1_000
_MAX_AUTO_NLIST = 65_536
# FAISS k-means wants at least this many training points per centroid.
_POINTS_PER_LIST = 39


def auto_nlist(n: int) -> int:
    """Lists for ``n`` training vectors: ≈ 4·√n, with at least 39 points per list."""
    return max(1, min(int(4 * math.sqrt(n)), n // _POINTS_PER_LIST, _MAX_AUTO_NLIST))


def default_train_size(nlist: int | None) -> int:
    """Live vectors needed before training: 39 per list (at least 1,000)."""
    if nlist is None:
        return DEFAULT_TRAIN_SIZE
    return max(_POINTS_PER_LIST * nlist, _MIN_TRAIN_SIZE)


def default_nprobe(nlist: int) -> int:
    """Lists probed per query: an eighth of them, at least 16 (or all, when fewer)."""
    return min(nlist, max(16, nlist // 8))


def metric_type(metric: Metric) -> int:
    """The FAISS metric constant."""
    return int(faiss.METRIC_INNER_PRODUCT if metric == "ip" else faiss.METRIC_L2)


class IVFIndex(PersistedIndex):
    """``IndexIVFFlat`` with ids; exact (a :class:`FlatIndex`) until trained."""

    family = "ivf"

    def __init__(
        self,
        dim: int,
        metric: Metric = "ip",
        *,
        nlist: int | None = None,
        nprobe: int | None = None,
        train_size: int | None = None,
    ) -> None:
        self.dim = check_dim(dim)
        self.metric = check_metric(metric)
        self.nlist = nlist
        self.nprobe = nprobe
        self.train_size = train_size if train_size is not None else default_train_size(nlist)
        if nlist is not None and self.train_size < nlist:
            raise ValueError(f"train_size ({self.train_size}) must be at least nlist ({nlist})")
        self._live = LiveLabels()
        self._flat: FlatIndex | None = FlatIndex(self.dim, self.metric)
        self._ivf: Any = None
        self._gpu: Mirror | None = None
        self._device = "cpu"

    # -- what a subclass changes ---------------------------------------------------------

    def _new_ivf(self, quantizer: Any, nlist: int) -> Any:
        """The untrained FAISS IVF index this family uses."""
        return faiss.IndexIVFFlat(quantizer, self.dim, nlist, metric_type(self.metric))

    def _keeps_flat(self) -> bool:
        """Whether the float vectors stay in a FlatIndex after training (for re-ranking)."""
        return False

    def _probe(self, queries: Vectors, k: int, nprobe: int, selector: Any) -> SearchHits:
        """Top-k from the trained IVF probing ``nprobe`` lists."""
        if selector is None and self._gpu is not None and k <= GPU_MAX_K:
            distances, labels = self._gpu.search(queries, k)
        else:
            params = search_params("IVF", selector, nprobe=nprobe)
            distances, labels = self._ivf.search(queries, k, params=params)
        return hits.from_faiss(distances, labels, self.metric)

    def _exhaustive(
        self, queries: Vectors, k: int, allowed: Selection | None, selector: Any
    ) -> SearchHits:
        """Top-k over every list: exact for IVF-Flat."""
        return self._probe(queries, k, int(self._ivf.nlist), selector)

    # -- the seam -------------------------------------------------------------------------

    @property
    def ntotal(self) -> int:
        """Number of live vectors."""
        return self._live.count

    @property
    def trained(self) -> bool:
        """Whether the IVF is in use (False: still exact)."""
        return self._ivf is not None

    @property
    def exact(self) -> bool:
        """Exact until trained."""
        return not self.trained

    def _nprobe(self) -> int:
        nlist = int(self._ivf.nlist)
        return min(self.nprobe, nlist) if self.nprobe is not None else default_nprobe(nlist)

    def add(self, labels: Labels, vectors: Vectors) -> None:
        """Add vectors under new labels; trains the IVF when ``train_size`` is reached."""
        labels, vectors = as_batch(labels, vectors, self.dim)
        self._live.insert(labels)
        if self._flat is not None:
            self._flat.add(labels, vectors)
        if self._ivf is not None:
            self._ivf.add_with_ids(vectors, labels)
            if self._gpu is not None:
                self._gpu.add(labels, vectors)
        elif self.ntotal >= self.train_size:
            self._train()

    def _train(self) -> None:
        """Train on every live vector and move them into the IVF."""
        assert self._flat is not None
        labels, vectors = self._flat.items()
        nlist = self.nlist if self.nlist is not None else auto_nlist(labels.size)
        ivf = self._new_ivf(flat_faiss_index(self.dim, self.metric), nlist)
        ivf.train(vectors)
        ivf.add_with_ids(vectors, labels)
        self._ivf = ivf
        # CPU searches pass nprobe per call; a GPU clone copies it from the index instead.
        ivf.nprobe = self._nprobe()
        if self._keeps_flat():
            self._flat.to("cpu")  # it only re-ranks now; the IVF is what runs on a GPU
        else:
            self._flat = None
        self.to(self._device)

    def remove(self, labels: Labels) -> None:
        """Forget these labels; unknown ones are ignored."""
        present = self._live.discard(labels)
        if not present.size:
            return
        if self._flat is not None:
            self._flat.remove(present)
        if self._ivf is not None:
            self._ivf.remove_ids(present)
        if self._gpu is not None:
            self._gpu.invalidate()

    def search(self, queries: Vectors, k: int, allowed: Selection | None = None) -> SearchHits:
        """Top-k: exact before training, then IVF (see the module docstring for filters)."""
        q = as_queries(queries, self.dim)
        k = check_k(k)
        if self._ivf is None:
            assert self._flat is not None
            return self._flat.search(q, k, allowed)
        available = self.ntotal if allowed is None else self._live.count_in(allowed)
        if available == 0:
            return hits.empty_hits(q.shape[0], k)
        selector = label_selector(allowed)
        if allowed is not None and available <= EXACT_FILTER_FRACTION * self.ntotal:
            return self._exhaustive(q, k, allowed, selector)
        out = self._probe(q, k, self._nprobe(), selector)
        short = (out.labels >= 0).sum(axis=1) < min(k, available)
        if short.any():
            again = self._exhaustive(q[short], k, allowed, selector)
            out.scores[short] = again.scores
            out.labels[short] = again.labels
        return out

    def to(self, device: str) -> Self:
        """Search unfiltered queries on ``cuda:N`` (a GPU clone) or back on ``cpu``."""
        self._device = device
        if self._ivf is None:
            assert self._flat is not None
            self._flat.to(device)
        else:
            self._gpu = mirror_for(device, self._gpu, lambda: self._ivf, float16_lookup=True)
        return self

    @property
    def device(self) -> str:
        """Where unfiltered searches run: ``cpu`` or ``cuda:N``."""
        if self._ivf is None and self._flat is not None:
            return self._flat.device
        return device_name(self._gpu)

    def params(self) -> dict[str, object]:
        """The parameters in effect (``nlist``/``nprobe`` as chosen once trained)."""
        out: dict[str, object] = {"train_size": self.train_size}
        if self._ivf is not None:
            out.update(nlist=int(self._ivf.nlist), nprobe=self._nprobe())
        else:
            out.update(
                {name: v for name, v in (("nlist", self.nlist), ("nprobe", self.nprobe)) if v}
            )
        return out

    def describe(self) -> dict[str, object]:
        """Family, parameters, whether it is trained yet, and the device."""
        return {
            "type": self.family,
            **self.params(),
            "trained": self.trained,
            "device": self.device,
        }

    def dump(self) -> IndexFile:
        """State for :class:`IndexFile`: the FAISS IVF (or, untrained, the flat) and labels."""
        arrays: dict[str, np.ndarray[Any, Any]] = {"labels": self._live.labels()}
        if self._ivf is not None:
            arrays["ivf"] = faiss.serialize_index(self._ivf)
        if self._flat is not None:
            arrays["flat"] = self._flat.dump().to_array()
        return IndexFile(family=self.family, meta=self._constructor_args(), arrays=arrays)

    def _constructor_args(self) -> dict[str, object]:
        """What :meth:`restore` passes to the constructor (``nlist``/``nprobe`` as given)."""
        return {
            "dim": self.dim,
            "metric": self.metric,
            "nlist": self.nlist,
            "nprobe": self.nprobe,
            "train_size": self.train_size,
        }

    @classmethod
    def restore(cls, file: IndexFile) -> Self:
        """Rebuild from :meth:`dump`'s output."""
        meta = dict(file.meta)
        index = cls(int(meta.pop("dim")), check_metric(str(meta.pop("metric"))), **meta)
        index._live = LiveLabels.of(file.arrays["labels"])
        index._ivf = faiss.deserialize_index(file.arrays["ivf"]) if "ivf" in file.arrays else None
        index._flat = (
            FlatIndex.restore(IndexFile.from_array(file.arrays["flat"]))
            if "flat" in file.arrays
            else None
        )
        return index
