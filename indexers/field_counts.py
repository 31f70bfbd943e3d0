"""Counting documents per bucket of a field's values (facets) from its postings alone.

The field index keeps, per field, a set of rows for each distinct value: right for
filters, slow to count over in Python (one set per value). For counting, a field's
postings are flattened once into two arrays, ``rows`` and ``owner`` (the value each posting
belongs to), and every count is then NumPy work over them: map each distinct value to its
bucket, keep the postings of the rows that pass the filter, drop repeated (bucket, row)
pairs, ``bincount``.

Two things keep that cheap while the collection changes:

* **Deltas.** A write does not throw the arrays away: the rows added since flattening are
  kept aside with their values, and removed rows are marked void. A count reads arrays +
  deltas; the arrays are rebuilt only when the deltas grow past a sixteenth of them. So a
  facet during ingestion costs about what it costs on a quiet collection.
* **Remembered bucketings.** Mapping the distinct values to buckets is the one Python loop
  (a classification code parsed per value); a :class:`Bucketing` with a ``key`` is done
  once per flattening and reused.

Concurrency: writes (``added``/``removed``) must exclude counts, as the store's
read-write lock does; concurrent counts may each rebuild, and each then reads a
consistent view of its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from ipsim.indexers.filters import ValueKey

K = TypeVar("K", bound=Hashable)
Int64s = npt.NDArray[np.int64]

_MIN_DELTA = 1024
_DELTA_SHARE = 16
_MEMO_SIZE = 64
_BITMAP_CELLS_PER_PAIR = 32
_BITMAP_MIN_CELLS = 1 << 22


@dataclass(frozen=True)
class Bucketing(Generic[K]):
    """How to count a field's documents: a bucket for each distinct value.

    ``bucket`` gets distinct values and yields, in order, each one's bucket (None: count it
    in none). ``key``, when given, names the bucketing so that it is remembered until the
    field's arrays are rebuilt: equal keys must bucket alike.
    """

    bucket: Callable[[Sequence[ValueKey]], Iterable[K | None]]
    key: Hashable | None = None


@dataclass(frozen=True)
class _Buckets:
    """A bucketing of the flattened values: each value's bucket number (-1: none)."""

    of_value: Int64s
    numbers: dict[Any, int]
    """Bucket → number, in order of numbering."""
    shared: bool
    """Whether some bucket holds several values (a row may then count twice)."""


@dataclass
class _View:
    """Flattened postings (posting ``i``: row ``rows[i]`` has ``values[owner[i]]``) + deltas."""

    values: list[ValueKey]
    owner: Int64s
    rows: Int64s
    added: dict[int, list[ValueKey]] = field(default_factory=dict)
    """Rows indexed since flattening, with their values."""
    dropped: set[int] = field(default_factory=set)
    """Rows whose flattened postings no longer hold (removed; maybe added again since)."""
    memo: dict[Hashable, _Buckets] = field(default_factory=dict)
    _index: dict[ValueKey, int] | None = None

    @classmethod
    def of(cls, by_value: Mapping[ValueKey, set[int]]) -> _View:
        values = list(by_value)
        sets = list(by_value.values())
        sizes = np.fromiter(map(len, sets), dtype=np.int64, count=len(sets))
        rows = np.fromiter(
            itertools.chain.from_iterable(sets), dtype=np.int64, count=int(sizes.sum())
        )
        owner = np.repeat(np.arange(len(values), dtype=np.int64), sizes)
        return cls(values, owner, rows)

    @property
    def stale(self) -> bool:
        """Deltas big enough that rebuilding is cheaper than reading them."""
        return len(self.added) + len(self.dropped) > max(_MIN_DELTA, self.rows.size // _DELTA_SHARE)

    def index(self) -> dict[ValueKey, int]:
        """Value → its number among the flattened values (built when deltas need it)."""
        if self._index is None:
            self._index = {value: i for i, value in enumerate(self.values)}
        return self._index

    def buckets(self, bucketing: Bucketing[K]) -> _Buckets:
        remembered = None if bucketing.key is None else self.memo.get(bucketing.key)
        if remembered is not None:
            return remembered
        numbers: dict[K, int] = {}
        of_value = np.fromiter(
            (
                -1 if b is None else numbers.setdefault(b, len(numbers))
                for b in bucketing.bucket(self.values)
            ),
            dtype=np.int64,
            count=len(self.values),
        )
        answer = _Buckets(of_value, numbers, len(numbers) < int(np.count_nonzero(of_value >= 0)))
        if bucketing.key is not None:
            if len(self.memo) >= _MEMO_SIZE:
                self.memo.clear()  # readers racing here at worst compute a bucketing again
            self.memo[bucketing.key] = answer
        return answer


class PostingArrays:
    """One field's postings flattened for counting, kept current by deltas between rebuilds."""

    def __init__(self) -> None:
        self._view: _View | None = None

    def added(self, row: int, values: Iterable[ValueKey]) -> None:
        """Row ``row`` now has these values (it had none in this field)."""
        view = self._view
        if view is not None:
            view.added[row] = list(values)

    def removed(self, row: int) -> None:
        """Row ``row`` no longer has any value in this field."""
        view = self._view
        if view is not None:
            view.added.pop(row, None)
            view.dropped.add(row)

    def count(
        self,
        by_value: Mapping[ValueKey, set[int]],
        bucketing: Bucketing[K],
        size: int,
        among: npt.NDArray[np.bool_] | None,
    ) -> tuple[dict[K, int], int]:
        """Rows per bucket (once per bucket however many of its values they hold), and rows
        with any value; only rows where ``among`` is True (every row when it is None).

        ``by_value`` is the field's postings, the truth the arrays are rebuilt from.
        """
        view = self._view
        if view is None or view.stale:
            view = self._view = _View.of(by_value)
        buckets = view.buckets(bucketing)
        rows, slots = view.rows, buckets.of_value[view.owner]
        if view.dropped:
            void = np.zeros(size, dtype=bool)
            void[np.fromiter(view.dropped, dtype=np.int64, count=len(view.dropped))] = True
            live = ~void[rows]
            rows, slots = rows[live], slots[live]
        extra: dict[K, int] = {}
        if view.added:
            more_rows, more_slots = _delta(view, bucketing, buckets, extra)
            rows, slots = np.concatenate([rows, more_rows]), np.concatenate([slots, more_slots])
        present = np.zeros(size, dtype=bool)
        present[rows] = True
        keep = slots >= 0
        if among is not None:
            keep &= among[rows]
            present &= among
        rows, slots = rows[keep], slots[keep]
        names = [*buckets.numbers, *extra]
        if buckets.shared or view.added:
            counts = _distinct_counts(slots, rows, size, len(names))
        else:
            counts = np.bincount(slots, minlength=len(names))
        found = {name: int(counts[i]) for i, name in enumerate(names) if counts[i]}
        return found, int(np.count_nonzero(present))


def _delta(
    view: _View, bucketing: Bucketing[K], buckets: _Buckets, extra: dict[K, int]
) -> tuple[Int64s, Int64s]:
    """The postings of the rows added since flattening: (rows, bucket numbers).

    Values unknown to the flattening are bucketed here; new buckets go to ``extra``,
    numbered after the remembered ones (which are shared with other readers, so never
    extended in place).
    """
    index = view.index()
    unknown = list({v for values in view.added.values() for v in values if v not in index})
    numbers: dict[ValueKey, int] = {}
    for value, bucket in zip(unknown, bucketing.bucket(unknown), strict=True):
        if bucket is None:
            numbers[value] = -1
        elif bucket in buckets.numbers:
            numbers[value] = buckets.numbers[bucket]
        else:
            numbers[value] = extra.setdefault(bucket, len(buckets.numbers) + len(extra))
    of_value = buckets.of_value
    pairs = [
        (row, int(of_value[index[v]]) if v in index else numbers[v])
        for row, values in view.added.items()
        for v in values
    ]
    array = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return array[:, 0], array[:, 1]


def _distinct_counts(slots: Int64s, rows: Int64s, size: int, buckets: int) -> Int64s:
    """Distinct rows per bucket, where a row may hold several values of one bucket.

    Few buckets: a (bucket x row) bitmap, linear. Many: sort the (bucket, row) pairs and
    keep the first of each run (NumPy's hashed ``unique`` is several times slower here).
    """
    width = max(size, 1)
    pairs = slots * width + rows
    if buckets * width <= _BITMAP_CELLS_PER_PAIR * pairs.size + _BITMAP_MIN_CELLS:
        seen = np.zeros(buckets * width, dtype=bool)
        seen[pairs] = True
        counts: Int64s = seen.reshape(buckets, width).sum(axis=1, dtype=np.int64)
        return counts
    pairs.sort()
    first = np.ones(pairs.size, dtype=bool)
    np.not_equal(pairs[1:], pairs[:-1], out=first[1:])
    return np.bincount(pairs[first] // width, minlength=buckets)


__all__ = ["Bucketing", "PostingArrays"]
