"""Facet counts: how many documents fall under each child code (or value) of a field.

A facet names a field and, optionally, a ``prefix``. Fields named after a classification
scheme (``ipc``, ``cpc``, ``vienna``, ``locarno``; see :mod:`ipsim.engine.classification`)
are hierarchical: the answer counts the children of the prefix (the sections when there is
none), so a portal drills down ``A`` → ``A61`` → ``A61K`` → ``A61K 31/00`` → subgroups. Any
other field is flat: one count per distinct value (those starting with ``prefix``, if given).

A document counts once per child, however many of its codes fall under that child (a patent
with ``A61K 31/495`` and ``A61K 31/00`` counts once under ``A61K 31/00``). Values that are
not codes of the field's scheme count under no child; ``missing`` counts the documents
passing the filter that have no value in the field at all.

Counting runs on the store's field index (:meth:`CollectionStore.count_by`, see
:mod:`ipsim.indexers.field_counts`): one parse per distinct stored code (memoised, and the
bucketing remembered between writes) and array operations over the postings; no document
is read, so it costs the same whatever the documents hold besides the field. A prefix is
checked for its form only: ``A61X`` is a well-formed subclass even though the scheme has
none (its children would simply be empty); knowing which codes exist needs the scheme.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ipsim.engine.classification import CodeSystem, Path, system_for_field
from ipsim.engine.errors import InvalidInput
from ipsim.indexers.field_counts import Bucketing
from ipsim.indexers.filters import MAX_FIELD_NAME, Filter, Scalar, ValueKey, value_key
from ipsim.indexers.store import CollectionStore, FieldCounts

MAX_FACETS = 16
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
MAX_PREFIX = 256
_SPEC_KEYS = ("field", "prefix", "limit")


@dataclass(frozen=True)
class FacetSpec:
    """One facet asked for: a field, the code (or string) whose children to count, how many."""

    field: str
    prefix: str | None = None
    """Canonical code for a classification field (``A61K 31/00``), a plain prefix otherwise."""
    limit: int = DEFAULT_LIMIT

    @property
    def system(self) -> CodeSystem | None:
        """The field's classification scheme; None for a flat field."""
        return system_for_field(self.field)


@dataclass(frozen=True)
class FacetValue:
    """One child code (or value) and how many documents fall under it."""

    value: Scalar
    count: int
    level: str | None = None
    """The child's level in its scheme (``main_group``); None for a flat field."""

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "count": self.count, "level": self.level}


@dataclass(frozen=True)
class FacetResult:
    """A facet's answer: the ``limit`` largest children, best first (ties by value)."""

    field: str
    system: str | None
    """The scheme (``ipc``…), or None for a flat field."""
    prefix: str | None
    values: list[FacetValue]
    other: int
    """How many further children there are beyond ``limit``."""
    missing: int
    """Documents passing the filter without any value in the field."""
    documents: int
    """Documents passing the filter."""

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FacetResult:
        """Read :meth:`to_json`'s shape back (another ipsim server's answer); raise
        ``ValueError`` / ``KeyError`` / ``TypeError`` for anything else."""
        values = []
        for item in raw["values"]:
            value, count = item["value"], item["count"]
            if value_key(value) is None or not _is_count(count):
                raise ValueError(f"facet value {value!r} with count {count!r}")
            values.append(FacetValue(value, count, item.get("level")))
        numbers = [raw["other"], raw["missing"], raw["documents"]]
        if not all(_is_count(n) for n in numbers):
            raise ValueError(f"facet counts {numbers!r}")
        return cls(str(raw["field"]), raw.get("system"), raw.get("prefix"), values, *numbers)

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "system": self.system,
            "prefix": self.prefix,
            "values": [v.to_json() for v in self.values],
            "other": self.other,
            "missing": self.missing,
            "documents": self.documents,
        }


def parse_facets(raw: object, where: str = "facets") -> list[FacetSpec]:
    """Validate a client's facet list: field names, or ``{"field", "prefix"?, "limit"?}``.

    Raise ``InvalidInput`` naming the bad part (``facets[1].prefix``).
    """
    if not isinstance(raw, list):
        raise InvalidInput(where, "must be a list of field names or {field, prefix, limit}")
    if len(raw) > MAX_FACETS:
        raise InvalidInput(where, f"has {len(raw)} facets; at most {MAX_FACETS} are allowed")
    specs: list[FacetSpec] = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if isinstance(item, str):
            spec = facet_spec(item, where=at)
        elif isinstance(item, Mapping):
            unknown = [str(k) for k in item if k not in _SPEC_KEYS]
            if unknown:
                raise InvalidInput(
                    f"{at}.{unknown[0]}", f"unknown key; use {', '.join(_SPEC_KEYS)}"
                )
            if "field" not in item:
                raise InvalidInput(f"{at}.field", "is required")
            spec = facet_spec(
                item["field"], item.get("prefix"), item.get("limit", DEFAULT_LIMIT), where=at
            )
        else:
            raise InvalidInput(at, "must be a field name or an object {field, prefix, limit}")
        if any(s.field == spec.field for s in specs):
            raise InvalidInput(_name(at, "field"), f"{spec.field!r} is asked for twice")
        specs.append(spec)
    return specs


def facet_spec(
    field: object, prefix: object = None, limit: object = DEFAULT_LIMIT, where: str = ""
) -> FacetSpec:
    """One validated facet; errors name ``where.field`` (just ``field`` when ``where`` is empty).

    A classification prefix is normalised (``A61K0031000000`` → ``A61K 31/00``) and must be
    a code of the scheme that has children.
    """
    if not isinstance(field, str) or not field:
        raise InvalidInput(_name(where, "field"), "must be a non-empty string")
    if len(field) > MAX_FIELD_NAME:
        raise InvalidInput(_name(where, "field"), f"is longer than {MAX_FIELD_NAME} characters")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(_name(where, "limit"), f"must be an integer from 1 to {MAX_LIMIT}")
    spec = FacetSpec(field, None, limit)
    if prefix is None or prefix == "":
        return spec
    if not isinstance(prefix, str) or len(prefix) > MAX_PREFIX:
        raise InvalidInput(
            _name(where, "prefix"), f"must be a string of at most {MAX_PREFIX} characters"
        )
    system = spec.system
    if system is None:
        return FacetSpec(field, prefix, limit)
    path = system.parse(prefix)
    if path is None:
        raise InvalidInput(_name(where, "prefix"), f"{prefix!r} is not a valid {system.title} code")
    if len(path) == len(system.levels):
        raise InvalidInput(
            _name(where, "prefix"),
            f"{path[-1]!r} is a {system.level(path)}, which has no children in the code",
        )
    return FacetSpec(field, path[-1], limit)


def facet_counts(
    store: CollectionStore, specs: Sequence[FacetSpec], flt: Filter | None
) -> dict[str, FacetResult]:
    """Each facet's children and counts over the documents passing ``flt``, keyed by field
    (the specs' fields must differ, as :func:`parse_facets` sees to).

    Blocking (it takes the store's read lock): call it in a worker thread from async code.
    """
    counted = store.count_by({spec.field: _bucketing(spec) for spec in specs}, flt)
    return {spec.field: _result(spec, counted[spec.field]) for spec in specs}


def merge_facets(spec: FacetSpec, results: Sequence[FacetResult]) -> FacetResult:
    """One facet counted over several collections: the sum of their answers.

    Exact when every collection listed all its children (ask each with ``MAX_LIMIT``);
    ``other`` then counts the merged children beyond ``spec.limit``, plus whatever the
    collections themselves left unlisted (an upper bound: those may overlap).
    """
    counts: dict[ValueKey, int] = {}
    levels: dict[ValueKey, str | None] = {}
    for result in results:
        for item in result.values:
            key = value_key(item.value)
            if key is not None:
                counts[key] = counts.get(key, 0) + item.count
                levels.setdefault(key, item.level)
    top = heapq.nsmallest(spec.limit, counts.items(), key=lambda kv: (-kv[1], kv[0]))
    system = spec.system
    return FacetResult(
        field=spec.field,
        system=None if system is None else system.name,
        prefix=spec.prefix,
        values=[FacetValue(key[1], count, levels[key]) for key, count in top],
        other=len(counts) - len(top) + sum(r.other for r in results),
        missing=sum(r.missing for r in results),
        documents=sum(r.documents for r in results),
    )


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _bucketing(spec: FacetSpec) -> Bucketing[ValueKey]:
    """Maps stored values to the children they count under; the index remembers it by key."""
    system, prefix = spec.system, spec.prefix
    key = (None if system is None else system.name, prefix)
    if system is not None:
        parent: Path = () if prefix is None else system.parse(prefix) or ()
        return Bucketing(lambda keys: _child_codes(system, parent, keys), key)
    if prefix is None:
        return Bucketing(lambda keys: keys, key)
    return Bucketing(lambda keys: _starting_with(prefix, keys), key)


def _child_codes(
    system: CodeSystem, parent: Path, keys: Sequence[ValueKey]
) -> Iterator[ValueKey | None]:
    """The child of ``parent`` each stored value lies under (None: not a code, or not under).

    The one Python loop of a count, run once per distinct value when the field's arrays
    are (re)built and then remembered: kept to local names.
    """
    parse, depth = system.parse, len(parent)
    above = parent[-1] if parent else None
    for tag, value in keys:
        path = parse(value) if tag == "s" and isinstance(value, str) else None
        if path is None or len(path) <= depth or (depth and path[depth - 1] != above):
            yield None
        else:
            yield ("s", path[depth])


def _starting_with(prefix: str, keys: Sequence[ValueKey]) -> Iterator[ValueKey | None]:
    for key in keys:
        value = key[1]
        yield key if isinstance(value, str) and value.startswith(prefix) else None


def _result(spec: FacetSpec, counts: FieldCounts[ValueKey]) -> FacetResult:
    system = spec.system
    level = None
    if system is not None:
        depth = 0 if spec.prefix is None else len(system.parse(spec.prefix) or ())
        level = system.levels[depth]
    top = heapq.nsmallest(spec.limit, counts.buckets.items(), key=lambda kv: (-kv[1], kv[0]))
    return FacetResult(
        field=spec.field,
        system=None if system is None else system.name,
        prefix=spec.prefix,
        values=[FacetValue(key[1], count, level) for key, count in top],
        other=len(counts.buckets) - len(top),
        missing=counts.documents - counts.present,
        documents=counts.documents,
    )


def _name(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


__all__ = [
    "DEFAULT_LIMIT",
    "MAX_FACETS",
    "MAX_LIMIT",
    "FacetResult",
    "FacetSpec",
    "FacetValue",
    "facet_counts",
    "facet_spec",
    "merge_facets",
    "parse_facets",
]
