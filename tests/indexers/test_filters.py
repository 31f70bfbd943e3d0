"""Filter parsing (every operator, every bad input) and FieldIndex answers."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest

from ipsim.indexers.filters import (
    AnyOf,
    FieldIndex,
    Filter,
    FilterError,
    Prefix,
    Range,
    parse_filter,
    parse_instant,
)

DOCS: list[dict[str, Any]] = [
    {"country": "DE", "ipc": ["A61K 31/00", "C07D"], "year": 2019, "filed": "2019-05-01"},
    {"country": "FR", "ipc": ["A61P"], "year": 2020, "filed": "2020-01-01T10:00:00Z"},
    {"country": "DE", "ipc": "B65D", "year": 2021.0, "filed": "2020-12-31T23:59:59+00:00"},
    {"country": "US", "year": "2020", "filed": "2021-01-01", "active": True},
    {"country": ["US", "DE"], "year": 1, "active": 1, "vienna": "03.01.02"},
    {"country": None, "year": 1.0, "active": "1", "vienna": ["03.01.05", "26.04"]},
    {"nested": {"a": 1}, "year": True},
]


def matching(raw: object, docs: list[dict[str, Any]] = DOCS) -> list[int]:
    index = FieldIndex()
    for row, fields in enumerate(docs):
        index.add(row, fields)
    mask = index.match(parse_filter(raw), len(docs))
    return [int(i) for i in np.flatnonzero(mask)]


def test_equality_on_scalars_and_membership_on_lists() -> None:
    assert matching({"country": "DE"}) == [0, 2, 4]
    assert matching({"country": "US"}) == [3, 4]
    assert matching({"ipc": "C07D"}) == [0]
    assert matching({"country": None}) == [5]


def test_equality_is_typed_but_one_equals_one_point_zero() -> None:
    assert matching({"year": 1}) == [4, 5]
    assert matching({"year": 1.0}) == [4, 5]
    assert matching({"year": "2020"}) == [3]
    assert matching({"year": 2020}) == [1]
    assert matching({"year": 2021}) == [2]
    assert matching({"year": True}) == [6]
    assert matching({"active": True}) == [3]
    assert matching({"active": 1}) == [4]
    assert matching({"active": "1"}) == [5]


def test_in_matches_any_value_typed() -> None:
    assert matching({"country": {"in": ["FR", "US"]}}) == [1, 3, 4]
    assert matching({"active": {"in": [True, "1"]}}) == [3, 5]
    assert matching({"country": {"in": ["XX"]}}) == []


def test_prefix_on_strings_and_list_elements() -> None:
    assert matching({"ipc": {"prefix": "A61"}}) == [0, 1]
    assert matching({"ipc": {"prefix": "A61K"}}) == [0]
    assert matching({"vienna": {"prefix": "03.01"}}) == [4, 5]
    assert matching({"vienna": {"prefix": "26"}}) == [5]
    assert matching({"year": {"prefix": "20"}}) == [3]  # only the string value is a string
    assert matching({"ipc": {"prefix": "Z"}}) == []


def test_number_ranges_exclude_strings_and_booleans() -> None:
    assert matching({"year": {"gte": 2020}}) == [1, 2]
    assert matching({"year": {"gt": 2020}}) == [2]
    assert matching({"year": {"lt": 2020}}) == [0, 4, 5]
    assert matching({"year": {"gte": 1, "lte": 1}}) == [4, 5]
    assert matching({"year": {"gte": 2020.5, "lt": 2021}}) == []
    assert matching({"year": {"gte": 3000, "lte": 1}}) == []


def test_date_bounds_compare_whole_days() -> None:
    assert matching({"filed": {"gte": "2020-01-01"}}) == [1, 2, 3]
    assert matching({"filed": {"lte": "2020-12-31"}}) == [0, 1, 2]
    assert matching({"filed": {"lt": "2020-12-31"}}) == [0, 1]
    assert matching({"filed": {"gt": "2020-01-01"}}) == [2, 3]
    assert matching({"filed": {"gte": "2020-01-01", "lte": "2020-01-01"}}) == [1]


def test_datetime_bounds_compare_instants() -> None:
    assert matching({"filed": {"gt": "2020-01-01T10:00:00Z"}}) == [2, 3]
    assert matching({"filed": {"gte": "2020-01-01T10:00:00Z"}}) == [1, 2, 3]
    # 12:00 in UTC+02:00 is 10:00 UTC.
    assert matching({"filed": {"lte": "2020-01-01T12:00:00+02:00"}}) == [0, 1]
    assert matching({"filed": {"lt": "2021-01-01T00:00:00"}}) == [0, 1, 2]


def test_keys_are_anded() -> None:
    assert matching({"country": "DE", "year": {"gte": 2020}}) == [2]
    assert matching({"country": "DE", "ipc": {"prefix": "A"}}) == [0]
    assert matching({"country": "FR", "year": 1}) == []
    assert matching({"country": {"in": ["DE", "FR"]}, "ipc": {"prefix": "A61"}}) == [0, 1]


def test_missing_fields_and_objects_match_nothing() -> None:
    assert matching({"nope": "x"}) == []
    assert matching({"nested": {"in": [1]}}) == []


def test_field_index_follows_removes_and_re_adds() -> None:
    index = FieldIndex()
    for row, fields in enumerate(DOCS):
        index.add(row, fields)
    index.remove(0, DOCS[0])
    index.remove(2, DOCS[2])
    de = parse_filter({"country": "DE"})
    assert np.flatnonzero(index.match(de, 7)).tolist() == [4]
    assert np.flatnonzero(index.match(parse_filter({"ipc": {"prefix": "A"}}), 7)).tolist() == [1]
    index.add(0, {"country": "DE", "year": 1999})
    assert np.flatnonzero(index.match(de, 7)).tolist() == [0, 4]
    years = parse_filter({"year": {"lte": 2000}})
    assert np.flatnonzero(index.match(years, 7)).tolist() == [0, 4, 5]
    for row in (0, 1, 3, 4, 5, 6):
        index.remove(row, {"country": "DE", "year": 1999} if row == 0 else DOCS[row])
    assert not index.match(de, 7).any()
    assert not index._fields  # every posting was dropped with its last row


def _reference(fields: dict[str, Any], flt: dict[str, Any]) -> bool:
    """The filter semantics written plainly, one document at a time."""

    def same(a: object, b: object) -> bool:
        return type(a) is type(b) or (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and not isinstance(a, bool)
            and not isinstance(b, bool)
        )

    def as_day(text: str) -> date | None:
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).date()

    for name, cond in flt.items():
        value = fields.get(name, object())
        values = value if isinstance(value, list) else [value]
        if not isinstance(cond, dict):
            ok = any(same(v, cond) and v == cond for v in values)
        elif "in" in cond:
            ok = any(same(v, c) and v == c for v in values for c in cond["in"])
        elif "prefix" in cond:
            ok = any(isinstance(v, str) and v.startswith(cond["prefix"]) for v in values)
        else:
            ok = False
            for v in values:
                if isinstance(next(iter(cond.values())), str):
                    if not isinstance(v, str) or (v := as_day(v)) is None:  # type: ignore[assignment]
                        continue
                    bounds = {op: date.fromisoformat(b) for op, b in cond.items()}
                elif isinstance(v, bool) or not isinstance(v, int | float):
                    continue
                else:
                    bounds = cond
                ok = ok or all(
                    {"gte": v >= b, "gt": v > b, "lte": v <= b, "lt": v < b}[op]
                    for op, b in bounds.items()
                )
        if not ok:
            return False
    return True


def test_random_filters_agree_with_a_plain_reference() -> None:
    rng = random.Random(7)
    codes = ["A61K", "A61P", "B65D", "C07D", "A01"]
    docs = []
    for _ in range(300):
        doc: dict[str, Any] = {
            "n": rng.choice([rng.randint(0, 20), float(rng.randint(0, 20)), True, "5"]),
            "codes": [
                rng.choice(codes) + f" {rng.randint(1, 9)}" for _ in range(rng.randint(0, 3))
            ],
            "day": f"20{rng.randint(10, 25)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        }
        docs.append({k: v for k, v in doc.items() if rng.random() < 0.9})
    filters: list[dict[str, Any]] = []
    for _ in range(200):
        lo, hi = sorted(rng.sample(range(21), 2))
        d1, d2 = sorted(f"20{rng.randint(10, 25)}-0{rng.randint(1, 9)}-15" for _ in range(2))
        candidates = [
            ("n", rng.choice([lo, float(lo), True, "5"])),
            ("n", {"gte": lo, "lte": hi}),
            ("n", {"gt": lo}),
            ("n", {"in": [lo, hi, "5"]}),
            ("codes", {"prefix": rng.choice(codes)[: rng.randint(1, 4)]}),
            ("codes", rng.choice(codes) + " 3"),
            ("day", {"gte": d1, "lt": d2}),
            ("day", {"lte": d1}),
        ]
        filters.append(dict(rng.sample(candidates, rng.randint(1, 2))))
    index = FieldIndex()
    for row, fields in enumerate(docs):
        index.add(row, fields)
    for flt in filters:
        got = np.flatnonzero(index.match(parse_filter(flt), len(docs))).tolist()
        want = [row for row, fields in enumerate(docs) if _reference(fields, flt)]
        assert got == want, flt


def test_parse_builds_typed_clauses() -> None:
    flt = parse_filter({"a": 1, "b": {"prefix": "x"}, "c": {"gte": 1, "lt": 2.5}})
    assert flt.clauses[0] == AnyOf("a", frozenset([("n", 1)]))
    assert flt.clauses[1] == Prefix("b", "x")
    clause = flt.clauses[2]
    assert isinstance(clause, Range) and clause.space == "number"
    assert (clause.low, clause.high) is not None
    assert clause.low is not None and clause.low.value == 1 and clause.low.inclusive
    assert clause.high is not None and clause.high.value == 2.5 and not clause.high.inclusive
    assert parse_filter({}) == Filter(())


def test_parse_instant() -> None:
    assert parse_instant("1970-01-02") == (86_400_000_000, True)
    assert parse_instant("1970-01-01T00:00:01Z") == (1_000_000, False)
    assert parse_instant("1970-01-01T01:00:00+01:00") == (0, False)
    assert parse_instant("2020-02-30") is None
    assert parse_instant("20200101") is None
    assert parse_instant("A61K") is None


@pytest.mark.parametrize(
    ("raw", "field", "why"),
    [
        ([1], "filter", "JSON object"),
        ("x", "filter", "JSON object"),
        ({"a": {"like": "x"}}, "filter.a.like", "unknown operator"),
        ({"a": {"gte": 1, "x": 2}}, "filter.a", "mixes operators"),
        ({"a": {}}, "filter.a", "empty operator"),
        ({"a": {"in": []}}, "filter.a.in", "must not be empty"),
        ({"a": {"in": "x"}}, "filter.a.in", "list"),
        ({"a": {"in": [1, [2]]}}, "filter.a.in[1]", "nesting too deep"),
        ({"a": {"in": [{"b": 1}]}}, "filter.a.in[0]", "nesting too deep"),
        ({"a": {"prefix": 3}}, "filter.a.prefix", "must be a string"),
        ({"a": {"gte": True}}, "filter.a.gte", "boolean"),
        ({"a": {"gte": "soon"}}, "filter.a.gte", "ISO date"),
        ({"a": {"lt": [1]}}, "filter.a.lt", "a list"),
        ({"a": {"gte": 1, "lte": "2020-01-01"}}, "filter.a.lte", "mixes a number"),
        ({"a": {"gt": 1, "gte": 2}}, "filter.a.gt", "not both"),
        ({"a": {"lte": float("inf")}}, "filter.a.lte", "finite"),
        ({"a": [1, 2]}, "filter.a", '"in"'),
        ({"a": float("nan")}, "filter.a", "cannot compare"),
        ({"": 1}, "filter", "non-empty"),
        ({"a" * 300: 1}, "filter", "longer than"),
        ({f"f{i}": 1 for i in range(65)}, "filter", "at most 64"),
        ({"a": {"in": list(range(10_001))}}, "filter.a.in", "at most"),
    ],
)
def test_bad_filters_name_the_field(raw: object, field: str, why: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(raw)
    assert caught.value.field == field
    assert why in caught.value.message
    assert isinstance(caught.value, ValueError)


def test_match_refuses_the_empty_filter() -> None:
    with pytest.raises(ValueError, match="empty filter"):
        FieldIndex().match(Filter(()), 3)
