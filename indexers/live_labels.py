"""Which labels an index holds, and how label sets reach FAISS.

Every family keeps its live labels in a :class:`LiveLabels` bitmap: it rejects duplicate
labels on ``add`` (the store removes before re-adding), answers membership without
asking FAISS, and, being laid out like :class:`~ipsim.indexers.base.Selection`, can be
intersected with a caller's selection or handed to ``faiss.IDSelectorBitmap`` as is.

FAISS is imported only by the functions that build FAISS objects, so the families that
do not use FAISS (fingerprints) can run where it is not installed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ipsim.indexers.base import Labels, Metric, Selection, Vectors

METRICS: tuple[Metric, ...] = ("ip", "l2", "tanimoto")
FLOAT_METRICS: tuple[Metric, ...] = ("ip", "l2")
"""The metrics of float vectors: the only ones the FAISS families accept."""


def check_metric(metric: str, allowed: tuple[Metric, ...] = FLOAT_METRICS) -> Metric:
    """``metric`` as a :data:`Metric` when it is one of ``allowed``, else ValueError.

    The default is what the FAISS families take (they validate with this call, so
    ``tanimoto`` must be asked for: pass :data:`METRICS` to accept any metric).
    """
    for known in allowed:
        if metric == known:
            return known
    raise ValueError(f"metric must be one of {allowed}, got {metric!r}")


def check_dim(dim: int) -> int:
    """``dim`` when it is a positive int, else ValueError."""
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    return dim


def as_queries(queries: npt.ArrayLike, dim: int) -> Vectors:
    """Queries as a C-contiguous ``(nq, dim)`` float32 array (one 1-D vector is one query)."""
    q = np.ascontiguousarray(queries, dtype=np.float32)
    if q.ndim == 1:
        q = q.reshape(1, -1)
    if q.ndim != 2 or q.shape[1] != dim:
        raise ValueError(f"queries must have shape (nq, {dim}), got {q.shape}")
    return q


def as_batch(labels: npt.ArrayLike, vectors: npt.ArrayLike, dim: int) -> tuple[Labels, Vectors]:
    """Labels and vectors of one ``add`` as int64 / C-contiguous float32, shapes checked."""
    lab = np.ascontiguousarray(labels, dtype=np.int64).reshape(-1)
    vec = np.ascontiguousarray(vectors, dtype=np.float32)
    if vec.ndim == 1 and lab.size == 1:
        vec = vec.reshape(1, -1)
    if vec.ndim != 2 or vec.shape[1] != dim:
        raise ValueError(f"vectors must have shape (n, {dim}), got {vec.shape}")
    if vec.shape[0] != lab.size:
        raise ValueError(f"{lab.size} labels for {vec.shape[0]} vectors")
    if not np.isfinite(vec).all():
        raise ValueError("vectors must be finite (no NaN or inf)")
    return lab, vec


def check_k(k: int) -> int:
    """``k`` when it is a positive int, else ValueError."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


class LiveLabels:
    """The live labels of one index: a growable little-endian bitmap plus a count.

    Not thread-safe for writes; concurrent reads are fine while no write runs (the
    store's contract).
    """

    def __init__(self) -> None:
        self._bits: npt.NDArray[np.uint8] = np.zeros(0, dtype=np.uint8)
        self._count = 0

    @classmethod
    def of(cls, labels: Labels) -> LiveLabels:
        """A bitmap holding ``labels`` (which must be distinct and non-negative)."""
        live = cls()
        live.insert(labels)
        return live

    @property
    def count(self) -> int:
        """How many labels are live."""
        return self._count

    def contains(self, labels: Labels) -> npt.NDArray[np.bool_]:
        """Vectorised membership."""
        return self.selection().contains(labels)

    def insert(self, labels: Labels) -> None:
        """Mark ``labels`` live; ValueError (and no change) on a negative, repeated or live one."""
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if labels.size == 0:
            return
        if int(labels.min()) < 0:
            raise ValueError("labels must be non-negative (-1 marks a missing hit)")
        if np.unique(labels).size != labels.size:
            raise ValueError("labels repeat within one add")
        present = self.contains(labels)
        if present.any():
            raise ValueError(
                f"label {int(labels[present][0])} is already in the index; remove it first"
            )
        need = (int(labels.max()) >> 3) + 1
        if need > self._bits.size:
            # Doubling keeps a stream of small adds with rising labels linear overall.
            grown = np.zeros(max(need, 2 * self._bits.size), dtype=np.uint8)
            grown[: self._bits.size] = self._bits
            self._bits = grown
        np.bitwise_or.at(self._bits, labels >> 3, (1 << (labels & 7)).astype(np.uint8))
        self._count += int(labels.size)

    def discard(self, labels: Labels) -> Labels:
        """Unmark the live ones among ``labels``; returns those (distinct, as int64)."""
        labels = np.unique(np.asarray(labels, dtype=np.int64).reshape(-1))
        present = labels[self.contains(labels)]
        if present.size:
            np.bitwise_and.at(self._bits, present >> 3, ~(1 << (present & 7)).astype(np.uint8))
            self._count -= int(present.size)
        return present

    def labels(self) -> Labels:
        """Every live label, ascending."""
        mask = np.unpackbits(self._bits, bitorder="little").astype(bool)
        return np.flatnonzero(mask).astype(np.int64)

    def selection(self) -> Selection:
        """The live labels as a :class:`Selection` sharing this bitmap (read it, never write)."""
        return Selection(bits=self._bits, size=int(self._bits.size) * 8, count=self._count)

    def count_in(self, allowed: Selection) -> int:
        """How many live labels ``allowed`` selects (a popcount, no per-label work)."""
        n = min(int(allowed.bits.size), int(self._bits.size))
        both = np.bitwise_and(allowed.bits[:n], self._bits[:n])
        return int(np.bitwise_count(both).sum(dtype=np.int64))


def bitmap_selector(selection: Selection) -> Any:
    """A ``faiss.IDSelectorBitmap`` reading ``selection.bits`` in place (no copy).

    The selector keeps a reference to the array so it cannot be freed while FAISS reads it.
    """
    import faiss

    bits = selection.bits
    if bits.dtype != np.uint8 or not bits.flags.c_contiguous:
        bits = np.ascontiguousarray(bits, dtype=np.uint8)
    # IDSelectorBitmap's n is the bitmap's length in bytes; labels past it are not members.
    sel: Any = faiss.IDSelectorBitmap(int(bits.size), faiss.swig_ptr(bits))
    sel.referenced_objects = [bits]
    return sel


def search_params(kind: str, selector: Any, **fields: int) -> Any:
    """FAISS ``SearchParameters<kind>`` (``""``, ``"IVF"``, ``"HNSW"``) with these fields.

    Built by name because FAISS's type stubs lack some parameter classes and fields.
    """
    import faiss

    params = getattr(faiss, f"SearchParameters{kind}")()
    if selector is not None:
        params.sel = selector  # FAISS's setter keeps the selector alive with the params
    for name, value in fields.items():
        setattr(params, name, value)
    return params


def label_selector(allowed: Selection | None, live: LiveLabels | None = None) -> Any:
    """The FAISS selector for "in ``allowed`` and live", or None when nothing is excluded.

    ``live`` is given by families whose FAISS index still holds removed vectors (HNSW
    tombstones); the others pass only ``allowed``.
    """
    import faiss

    parts = [bitmap_selector(s) for s in (allowed, live.selection() if live else None) if s]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return faiss.IDSelectorAnd(parts[0], parts[1])


# Filtered searches over at most this share of an index's live vectors scan every
# allowed vector exactly: graph or probe-limited search finds too few of them, and an
# exhaustive scan costs one bitmap test per vector plus a distance per allowed one.
EXACT_FILTER_FRACTION = 0.05
