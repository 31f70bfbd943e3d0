"""Where each document's units live: ids ↔ rows ↔ index labels, and the units' float vectors.

A document has one *row* (a small dense int, reused after deletes, used by the field
index and for masks) and ``n`` *units*, each with an index *label*. A document's labels
are consecutive (``first_label + unit``) and handed out monotonically, never reused, so
a label the index still returns after an overwrite can never be mistaken for a new unit.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

from ipsim.indexers.base import Labels, Vectors

Int64s = npt.NDArray[np.int64]

_NO_ROW = -1

_Array = TypeVar("_Array", bound=np.ndarray[Any, Any])


def concat_ranges(starts: Int64s, counts: Int64s) -> Int64s:
    """``concat(arange(s, s + c) for s, c in zip(starts, counts))`` without a Python loop."""
    starts = np.asarray(starts, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    # Each output position is its range's start plus its offset within the range.
    ends = np.cumsum(counts)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(ends - counts, counts)
    return np.repeat(starts, counts) + offsets


def _grown(array: _Array, need: int, fill: int) -> _Array:
    """``array`` extended (by doubling) to hold at least ``need`` entries along axis 0."""
    if need <= array.shape[0]:
        return array
    size = max(need, 2 * array.shape[0], 16)
    out = np.full((size, *array.shape[1:]), fill, dtype=array.dtype)
    out[: array.shape[0]] = array
    return cast(_Array, out)


class IdMap:
    """Document ids ↔ rows ↔ labels. Not thread-safe for writes (the store serialises them)."""

    def __init__(self, next_label: int = 0) -> None:
        self.next_label = next_label
        self._row_of: dict[str, int] = {}
        self._id_of: list[str | None] = []
        self._free: list[int] = []
        self._first_label: Int64s = np.zeros(0, dtype=np.int64)
        self._units: Int64s = np.zeros(0, dtype=np.int64)
        self._label_row: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._live_labels = 0

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._row_of

    @property
    def rows(self) -> int:
        """Rows in use or free: masks over rows have this size."""
        return len(self._id_of)

    @property
    def live_labels(self) -> int:
        """Labels of live documents."""
        return self._live_labels

    def row(self, doc_id: str) -> int | None:
        """The document's row, or None."""
        return self._row_of.get(doc_id)

    def doc_id(self, row: int) -> str:
        """The id of the document in a live row."""
        doc_id = self._id_of[row]
        if doc_id is None:
            raise KeyError(f"row {row} is free")
        return doc_id

    def ids(self) -> Iterator[str]:
        """Live ids, in no particular order (iterate a copy if writes may happen meanwhile)."""
        return iter(self._row_of)

    def live_rows(self) -> Int64s:
        """Rows of live documents, ascending."""
        return np.array(sorted(self._row_of.values()), dtype=np.int64)

    def labels(self, row: int) -> Labels:
        """The labels of a live row's units, unit 0 first."""
        first = int(self._first_label[row])
        return np.arange(first, first + int(self._units[row]), dtype=np.int64)

    def first_label(self, row: int) -> int:
        """The label of a live row's unit 0."""
        return int(self._first_label[row])

    def put(self, doc_id: str, units: int, first_label: int | None = None) -> tuple[int, Labels]:
        """Add a document with ``units`` units; return its row and labels.

        Labels are fresh ones unless ``first_label`` is given (restoring a snapshot, whose
        labels are below ``next_label``). The id must not be present: :meth:`pop` it first.
        """
        if doc_id in self._row_of:
            raise KeyError(f"document {doc_id!r} is already mapped")
        if units < 1:
            raise ValueError("a document has at least one unit")
        if first_label is None:
            first_label = self.next_label
            self.next_label += units
        elif first_label + units > self.next_label:
            raise ValueError(f"label {first_label + units - 1} is past next_label")
        row = heapq.heappop(self._free) if self._free else len(self._id_of)
        if row == len(self._id_of):
            self._id_of.append(None)
            self._first_label = _grown(self._first_label, row + 1, 0)
            self._units = _grown(self._units, row + 1, 0)
        self._id_of[row] = doc_id
        self._row_of[doc_id] = row
        self._first_label[row] = first_label
        self._units[row] = units
        self._label_row = _grown(self._label_row, self.next_label, _NO_ROW)
        self._label_row[first_label : first_label + units] = row
        self._live_labels += units
        return row, np.arange(first_label, first_label + units, dtype=np.int64)

    def pop(self, doc_id: str) -> tuple[int, Labels] | None:
        """Remove a document; return the row it had and its labels (None if absent)."""
        row = self._row_of.pop(doc_id, None)
        if row is None:
            return None
        labels = self.labels(row)
        self._label_row[labels] = _NO_ROW
        self._live_labels -= labels.size
        self._id_of[row] = None
        heapq.heappush(self._free, row)
        return row, labels

    def rows_of(self, labels: Labels) -> Int64s:
        """The row of each label; -1 for labels of deleted documents, -1 and out of range."""
        labels = np.asarray(labels, dtype=np.int64)
        out = np.full(labels.shape, _NO_ROW, dtype=np.int64)
        ok = (labels >= 0) & (labels < self._label_row.shape[0])
        out[ok] = self._label_row[labels[ok]]
        return out

    def labels_of_rows(self, rows: Int64s) -> Labels:
        """Every unit label of these live rows."""
        return concat_ranges(self._first_label[rows], self._units[rows])

    def units_of_rows(self, rows: Int64s) -> Int64s:
        """How many units each of these live rows has."""
        return self._units[rows].copy()


class VectorArena:
    """The float vectors of every live document, contiguous per document, keyed by row.

    Overwrites and deletes leave dead slots behind; when the arena would grow while at
    least half its used slots are dead, it compacts instead, so memory stays within
    about twice the live vectors.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._data: Vectors = np.zeros((0, dim), dtype=np.float32)
        self._start: Int64s = np.zeros(0, dtype=np.int64)
        self._count: Int64s = np.zeros(0, dtype=np.int64)
        self._used = 0
        self._live = 0

    @property
    def live(self) -> int:
        """Vectors of live documents."""
        return self._live

    def put(self, row: int, vectors: Vectors) -> None:
        """Store a document's vectors under ``row`` (replacing what the row had)."""
        self.drop(row)
        n = vectors.shape[0]
        if self._used + n > self._data.shape[0]:
            if 2 * self._live <= self._used:
                self._compact()
            self._data = _grown(self._data, self._used + n, 0)
        self._start = _grown(self._start, row + 1, 0)
        self._count = _grown(self._count, row + 1, 0)
        self._data[self._used : self._used + n] = vectors
        self._start[row] = self._used
        self._count[row] = n
        self._used += n
        self._live += n

    def drop(self, row: int) -> None:
        """Forget a row's vectors (nothing if it has none)."""
        if row < self._count.shape[0] and self._count[row]:
            self._live -= int(self._count[row])
            self._count[row] = 0

    def get(self, row: int) -> Vectors:
        """A row's vectors (a view; copy before keeping it past the next write)."""
        start = int(self._start[row])
        return self._data[start : start + int(self._count[row])]

    def gather(self, rows: Int64s) -> Vectors:
        """The vectors of these rows, concatenated in order (a copy)."""
        return self._data[concat_ranges(self._start[rows], self._count[rows])]

    def _compact(self) -> None:
        rows = np.flatnonzero(self._count)
        counts = self._count[rows]
        self._data = self._data[concat_ranges(self._start[rows], counts)]
        self._start[rows] = np.cumsum(counts) - counts
        self._used = self._live
