"""Field filters: the CONTRACT filter syntax, parsed once, answered from an inverted index.

A filter is a JSON object over a document's ``fields``; its keys are ANDed::

    {"country": "DE"}                          equality (membership when the field is a list)
    {"ipc": {"prefix": "A61K"}}                string prefix (hierarchical codes)
    {"filed": {"gte": "2020-01-01", "lt": "2021-01-01"}}   range over numbers or ISO dates
    {"kind": {"in": ["invention", "utility_model"]}}       any of several values

Equality is exact and typed: ``1``, ``"1"`` and ``true`` are different values, while ``1``
and ``1.0`` are the same number. A list-valued field matches when any element does.
Fields whose values are objects (or lists holding objects or lists) are stored but not
indexed, so no filter matches them.

Dates are ``YYYY-MM-DD`` or ISO datetimes (``2020-01-01T12:30:00Z``; no zone means UTC).
A range bound given as a date compares calendar days (``{"lte": "2020-12-31"}`` includes
every instant of that day); a bound given as a datetime compares instants.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt

from ipsim.indexers.field_counts import Bucketing, PostingArrays

MAX_CLAUSES = 64
MAX_IN_VALUES = 10_000
MAX_FIELD_NAME = 256

RANGE_OPERATORS = ("gt", "gte", "lt", "lte")
OPERATORS = ("prefix", "in", *RANGE_OPERATORS)

Scalar = str | int | float | bool | None
ValueKey = tuple[str, Scalar]
"""A field value as a typed key: ``("s", text)``, ``("n", number)``, ``("b", flag)`` or
``("z", None)``. The tag keeps ``True`` apart from ``1`` (equal in Python); ``1`` and
``1.0`` share a key because Python hashes and compares them as equal.
"""

_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_K = TypeVar("_K", bound=Hashable)
_ONE_DAY_US = 86_400_000_000


class FilterError(ValueError):
    """A filter that cannot be parsed; ``field`` is the JSON path (``filter.date.gte``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class AnyOf:
    """The field equals one of ``keys`` (or, for a list, one of its elements does)."""

    field: str
    keys: frozenset[ValueKey]


@dataclass(frozen=True)
class Prefix:
    """The field is a string starting with ``prefix`` (for a list: any element is)."""

    field: str
    prefix: str


@dataclass(frozen=True)
class Bound:
    """One end of a range."""

    value: int | float
    inclusive: bool


@dataclass(frozen=True)
class Range:
    """The field lies between ``low`` and ``high`` (for a list: any element does).

    ``space`` says what is compared: ``number`` values, or ``instant`` values, the
    microseconds since the epoch (UTC) of ISO date strings.
    """

    field: str
    space: Literal["number", "instant"]
    low: Bound | None
    high: Bound | None


Clause = AnyOf | Prefix | Range


@dataclass(frozen=True)
class Filter:
    """A parsed filter: every clause must hold. No clauses means "every document"."""

    clauses: tuple[Clause, ...]


def both(first: Filter | None, second: Filter) -> Filter:
    """``second`` narrowed by ``first`` (a client's filter, when there is one)."""
    return second if first is None else Filter(first.clauses + second.clauses)


def value_key(value: object) -> ValueKey | None:
    """The typed equality key of a JSON scalar, or None for anything else (and for NaN)."""
    if value is None:
        return ("z", None)
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int):
        return ("n", value)
    if isinstance(value, float):
        return ("n", value) if math.isfinite(value) else None
    if isinstance(value, str):
        return ("s", value)
    return None


def parse_instant(text: str) -> tuple[int, bool] | None:
    """An ISO date or datetime as (microseconds since the epoch, UTC; whether it is a bare date).

    None when ``text`` is neither. A datetime without a zone is taken as UTC.
    """
    if not _ISO.fullmatch(text):
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return (day - _EPOCH.date()).days * _ONE_DAY_US, True
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1), False


def parse_filter(obj: object) -> Filter:
    """Validate a filter as sent by a client; raise :class:`FilterError` naming the bad part."""
    if not isinstance(obj, Mapping):
        raise FilterError("filter", f"must be a JSON object, got {_kind(obj)}")
    if len(obj) > MAX_CLAUSES:
        raise FilterError("filter", f"has {len(obj)} keys; at most {MAX_CLAUSES} are allowed")
    clauses: list[Clause] = []
    for name, condition in obj.items():
        if not isinstance(name, str) or not name:
            raise FilterError("filter", "field names must be non-empty strings")
        if len(name) > MAX_FIELD_NAME:
            raise FilterError("filter", f"field name longer than {MAX_FIELD_NAME} characters")
        clauses.extend(_parse_condition(name, condition, f"filter.{name}"))
    return Filter(tuple(clauses))


def _parse_condition(name: str, condition: object, where: str) -> list[Clause]:
    if isinstance(condition, Mapping):
        return _parse_operators(name, condition, where)
    if isinstance(condition, list):
        raise FilterError(where, 'a list is not a value; use {"in": [...]} to match any of several')
    key = value_key(condition)
    if key is None:
        raise FilterError(where, f"cannot compare with {_kind(condition)}")
    return [AnyOf(name, frozenset([key]))]


def _parse_operators(name: str, ops: Mapping[object, object], where: str) -> list[Clause]:
    if not ops:
        raise FilterError(where, f"empty operator object; use one of {', '.join(OPERATORS)}")
    unknown = [str(op) for op in ops if op not in OPERATORS]
    if unknown and len(unknown) < len(ops):
        raise FilterError(
            where,
            f"mixes operators with other keys ({', '.join(unknown)}); an object here holds "
            "operators only (equality with an object is not supported)",
        )
    if unknown:
        raise FilterError(
            f"{where}.{unknown[0]}",
            f"unknown operator {unknown[0]!r}; use one of {', '.join(OPERATORS)}",
        )
    clauses: list[Clause] = []
    if "prefix" in ops:
        prefix = ops["prefix"]
        if not isinstance(prefix, str):
            raise FilterError(f"{where}.prefix", f"must be a string, got {_kind(prefix)}")
        clauses.append(Prefix(name, prefix))
    if "in" in ops:
        clauses.append(AnyOf(name, _parse_in(ops["in"], f"{where}.in")))
    bounds = {op: ops[op] for op in RANGE_OPERATORS if op in ops}
    if bounds:
        clauses.append(_parse_range(name, bounds, where))
    return clauses


def _parse_in(values: object, where: str) -> frozenset[ValueKey]:
    if not isinstance(values, list):
        raise FilterError(where, f"must be a list of values, got {_kind(values)}")
    if not values:
        raise FilterError(where, "must not be empty (it would match nothing)")
    if len(values) > MAX_IN_VALUES:
        raise FilterError(where, f"has {len(values)} values; at most {MAX_IN_VALUES} are allowed")
    keys = set()
    for i, value in enumerate(values):
        if isinstance(value, list | Mapping):
            raise FilterError(f"{where}[{i}]", "nesting too deep: values must be scalars")
        key = value_key(value)
        if key is None:
            raise FilterError(f"{where}[{i}]", f"cannot compare with {_kind(value)}")
        keys.add(key)
    return frozenset(keys)


def _parse_range(name: str, bounds: Mapping[str, object], where: str) -> Range:
    for a, b in (("gt", "gte"), ("lt", "lte")):
        if a in bounds and b in bounds:
            raise FilterError(f"{where}.{a}", f"give either {a} or {b}, not both")
    spaces: set[str] = set()
    low: Bound | None = None
    high: Bound | None = None
    for op, raw in bounds.items():
        space, value, is_date = _parse_bound(raw, f"{where}.{op}")
        spaces.add(space)
        if len(spaces) > 1:
            raise FilterError(f"{where}.{op}", "mixes a number bound with a date bound")
        if is_date:
            # A bare date bound compares whole days: "lte D" means "before D + 1 day".
            bound = {
                "gte": Bound(value, True),
                "gt": Bound(value + _ONE_DAY_US, True),
                "lte": Bound(value + _ONE_DAY_US, False),
                "lt": Bound(value, False),
            }[op]
        else:
            bound = Bound(value, op in ("gte", "lte"))
        if op in ("gt", "gte"):
            low = bound
        else:
            high = bound
    return Range(name, "number" if spaces == {"number"} else "instant", low, high)


def _parse_bound(raw: object, where: str) -> tuple[str, int | float, bool]:
    if isinstance(raw, bool):
        raise FilterError(where, "expected a number or an ISO date, got a boolean")
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            raise FilterError(where, "must be a finite number")
        return "number", raw, False
    if isinstance(raw, str):
        parsed = parse_instant(raw)
        if parsed is None:
            raise FilterError(
                where, f"expected a number or an ISO date (YYYY-MM-DD[THH:MM:SS]), got {raw!r}"
            )
        return "instant", parsed[0], parsed[1]
    raise FilterError(where, f"expected a number or an ISO date, got {_kind(raw)}")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


class _Sorted:
    """Distinct sortable values, kept sorted for bisect range and prefix scans."""

    def __init__(self) -> None:
        self.values: list[int | float | str] = []

    def insert(self, value: int | float | str) -> None:
        bisect.insort(self.values, value)

    def discard(self, value: int | float | str) -> None:
        i = bisect.bisect_left(self.values, value)
        if i < len(self.values) and self.values[i] == value:
            del self.values[i]

    def between(self, low: Bound | None, high: Bound | None) -> list[int | float | str]:
        lo = 0
        if low is not None:
            find = bisect.bisect_left if low.inclusive else bisect.bisect_right
            lo = find(self.values, low.value)
        hi = len(self.values)
        if high is not None:
            find = bisect.bisect_right if high.inclusive else bisect.bisect_left
            hi = find(self.values, high.value)
        return self.values[lo:hi]

    def starting_with(self, prefix: str) -> Iterator[str]:
        i = bisect.bisect_left(self.values, prefix)
        while i < len(self.values):
            value = self.values[i]
            if not isinstance(value, str) or not value.startswith(prefix):
                return
            yield value
            i += 1


class _FieldPostings:
    """One field's inverted index: rows per distinct value, plus sorted value lists."""

    def __init__(self) -> None:
        self.by_value: dict[ValueKey, set[int]] = {}
        self.by_instant: dict[int, set[int]] = {}
        self.strings = _Sorted()
        self.numbers = _Sorted()
        self.instants = _Sorted()
        self.arrays = PostingArrays()
        """The same postings flattened, for counting (facets)."""

    def add(self, row: int, keys: Iterable[ValueKey]) -> None:
        keys = tuple(keys)
        self.arrays.added(row, keys)
        for key in keys:
            rows = self.by_value.get(key)
            if rows is None:
                rows = self.by_value[key] = set()
                self._index_value(key, insert=True)
            rows.add(row)
            instant = _instant_of(key)
            if instant is not None:
                at = self.by_instant.get(instant)
                if at is None:
                    at = self.by_instant[instant] = set()
                    self.instants.insert(instant)
                at.add(row)

    def remove(self, row: int, keys: Iterable[ValueKey]) -> None:
        self.arrays.removed(row)
        for key in keys:
            rows = self.by_value.get(key)
            if rows is not None:
                rows.discard(row)
                if not rows:
                    del self.by_value[key]
                    self._index_value(key, insert=False)
            instant = _instant_of(key)
            at = self.by_instant.get(instant) if instant is not None else None
            if at is not None and instant is not None:
                at.discard(row)
                if not at:
                    del self.by_instant[instant]
                    self.instants.discard(instant)

    def _index_value(self, key: ValueKey, *, insert: bool) -> None:
        tag, value = key
        target = {"s": self.strings, "n": self.numbers}.get(tag)
        if target is None or value is None or isinstance(value, bool):
            return
        if insert:
            target.insert(value)
        else:
            target.discard(value)

    def postings(self, clause: Clause) -> Iterator[set[int]]:
        """The row sets whose union answers ``clause`` on this field."""
        if isinstance(clause, AnyOf):
            for key in clause.keys:
                rows = self.by_value.get(key)
                if rows:
                    yield rows
        elif isinstance(clause, Prefix):
            for value in self.strings.starting_with(clause.prefix):
                yield self.by_value[("s", value)]
        elif clause.space == "number":
            for number in self.numbers.between(clause.low, clause.high):
                yield self.by_value[("n", number)]
        else:
            for instant in self.instants.between(clause.low, clause.high):
                yield self.by_instant[int(instant)]


def _instant_of(key: ValueKey) -> int | None:
    tag, value = key
    if tag != "s" or not isinstance(value, str):
        return None
    parsed = parse_instant(value)
    return None if parsed is None else parsed[0]


def field_keys(value: object) -> set[ValueKey]:
    """The keys a field value is indexed under: itself if scalar, its scalar elements if a list."""
    if isinstance(value, list):
        return {k for k in (value_key(v) for v in value) if k is not None}
    key = value_key(value)
    return set() if key is None else {key}


class FieldIndex:
    """Inverted postings over every document's ``fields``, maintained on upsert and delete.

    A query touches only the postings of the distinct values it selects (found by dict
    lookup, or by bisect over sorted distinct values for ranges and prefixes), never
    every document. Not thread-safe for writes; the store serialises them.
    """

    def __init__(self) -> None:
        self._fields: dict[str, _FieldPostings] = {}

    def add(self, row: int, fields: Mapping[str, object]) -> None:
        """Index document ``row`` with these fields (the row must not be indexed already)."""
        for name, value in fields.items():
            keys = field_keys(value)
            if keys:
                postings = self._fields.get(name)
                if postings is None:
                    postings = self._fields[name] = _FieldPostings()
                postings.add(row, keys)

    def remove(self, row: int, fields: Mapping[str, object]) -> None:
        """Forget document ``row``, which was added with these same fields."""
        for name, value in fields.items():
            postings = self._fields.get(name)
            if postings is not None:
                postings.remove(row, field_keys(value))
                if not postings.by_value:
                    del self._fields[name]

    def values(self, field: str) -> list[ValueKey]:
        """Every distinct value ``field`` holds in some document."""
        postings = self._fields.get(field)
        return [] if postings is None else list(postings.by_value)

    def count_by(
        self,
        field: str,
        bucketing: Bucketing[_K],
        size: int,
        among: npt.NDArray[np.bool_] | None = None,
    ) -> tuple[dict[_K, int], int]:
        """Rows per bucket of ``field``'s values, and rows with any value in it (facets).

        A row counts once in a bucket however many of its values fall there, and only
        where ``among`` (a mask over ``[0, size)``) is True; see :mod:`.field_counts`.
        """
        postings = self._fields.get(field)
        if postings is None:
            return {}, 0
        return postings.arrays.count(postings.by_value, bucketing, size, among)

    def match(self, flt: Filter, size: int) -> npt.NDArray[np.bool_]:
        """A boolean mask over rows ``[0, size)``: True where every clause of ``flt`` holds.

        ``flt`` must have at least one clause (an empty filter selects every live row,
        which only the caller knows).
        """
        if not flt.clauses:
            raise ValueError("an empty filter selects every document; do not match it")
        result: npt.NDArray[np.bool_] | None = None
        for clause in flt.clauses:
            mask = np.zeros(size, dtype=bool)
            postings = self._fields.get(clause.field)
            if postings is not None:
                for rows in postings.postings(clause):
                    mask[np.fromiter(rows, dtype=np.int64, count=len(rows))] = True
            result = mask if result is None else np.logical_and(result, mask, out=result)
            if not result.any():
                break
        assert result is not None
        return result
