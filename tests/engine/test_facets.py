"""Facet counts from the field index equal a direct count over the documents.

A store of a few hundred documents with random lists of IPC codes (in every spelling, with
junk among them), a flat ``country`` and a ``year`` is counted by facets and by a plain loop
over the documents, with and without filters, through upserts, overwrites, deletes, the
index's delta path and its rebuilds, and a reopen. Then the request validation.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ipsim.engine.classification import IPC
from ipsim.engine.errors import InvalidInput
from ipsim.engine.facets import FacetResult, FacetSpec, facet_counts, facet_spec, parse_facets
from ipsim.indexers import field_counts
from ipsim.indexers.filters import parse_filter
from ipsim.indexers.store import CollectionStore, Record, StoreOptions

FAST = StoreOptions(group_commit_ms=0.0, fsync=False)
VECTOR = np.ones((1, 4), dtype=np.float32)
CODES = [
    "A61K 31/495",
    "A61K 31/4965",
    "A61K 31/00",
    "A61K 9/20",
    "A61K 9/00",
    "A61P 35/00",
    "A61B 5/00",
    "A01B 1/02",
    "C07D 401/04",
    "C07D 213/00",
    "H01L 21/02",
    "H04W 72/04",
    "G06F",
    "G06",
    "H",
]
COUNTRIES = ["RU", "US", "DE", 1, True, "1"]
SPECS = [
    facet_spec("ipc"),
    facet_spec("ipc", "A"),
    facet_spec("ipc", "A61"),
    facet_spec("ipc", "A61K"),
    facet_spec("ipc", "A61K 31/00"),
    facet_spec("ipc", "G06"),
    facet_spec("country"),
    facet_spec("country", "R"),
]
FILTERS: list[dict[str, Any] | None] = [
    None,
    {"country": "RU"},
    {"year": {"gte": 2000, "lt": 2010}},
    {"ipc": {"prefix": "A61K"}},
]


def spelled(code: str, rng: random.Random) -> str:
    """``code`` as a document might write it: printed, without the space, or WIPO's 14."""
    path = IPC.parse(code)
    assert path is not None
    if len(path) < 4 or rng.random() < 0.4:
        return code if rng.random() < 0.5 else code.lower()
    subclass, _, group = path[-1].partition(" ")
    main, _, sub = group.partition("/")
    return rng.choice([path[-1].replace(" ", ""), f"{subclass}{int(main):04d}{sub.ljust(6, '0')}"])


def random_fields(rng: random.Random) -> dict[str, Any]:
    fields: dict[str, Any] = {"year": rng.randrange(1990, 2025)}
    kind = rng.random()
    if kind < 0.1:
        pass  # no ipc at all
    elif kind < 0.15:
        fields["ipc"] = {"not": "indexed"}  # an object value: stored, never indexed
    elif kind < 0.3:
        fields["ipc"] = spelled(rng.choice(CODES), rng)
    else:
        codes = [spelled(rng.choice(CODES), rng) for _ in range(rng.randrange(1, 6))]
        if rng.random() < 0.2:
            codes.append(rng.choice(["junk", "A61K 31/4", "Z99"]))
        if rng.random() < 0.1:
            codes.append(7)  # type: ignore[arg-type]
        fields["ipc"] = codes
    if rng.random() < 0.9:
        fields["country"] = rng.choice(COUNTRIES)
    return fields


def expected(docs: dict[str, dict[str, Any]], spec: FacetSpec, flt: Any) -> dict[str, Any]:
    """The direct count: every passing document's values, each child once per document."""
    passing = [f for f in docs.values() if passes(f, flt)]
    counts: Counter[Any] = Counter()
    for fields in passing:
        value = fields.get(spec.field)
        values = value if isinstance(value, list) else [value]
        children = set()
        for v in values:
            if spec.system is None:
                wanted = spec.prefix is None or (isinstance(v, str) and v.startswith(spec.prefix))
                if v is not None and not isinstance(v, dict) and wanted:
                    children.add((type(v) is bool, v))
                continue
            path = IPC.parse(v) if isinstance(v, str) else None
            depth = 0 if spec.prefix is None else len(IPC.parse(spec.prefix) or ())
            if path is None or len(path) <= depth:
                continue
            if depth == 0 or path[depth - 1] == spec.prefix:
                children.add((False, path[depth]))
        counts.update(children)
    missing = sum(1 for f in passing if not has_value(f.get(spec.field)))
    return {
        "counts": {key: n for key, n in counts.items()},
        "missing": missing,
        "documents": len(passing),
    }


def has_value(value: Any) -> bool:
    if isinstance(value, list):
        return any(not isinstance(v, dict | list) for v in value)
    return value is not None and not isinstance(value, dict)


def passes(fields: dict[str, Any], flt: Any) -> bool:
    if flt is None:
        return True
    ((name, condition),) = flt.items()
    value = fields.get(name)
    values = value if isinstance(value, list) else [value]
    if name == "country":
        return any(type(v) is str and v == condition for v in values)
    if name == "year":
        return any(isinstance(v, int) and 2000 <= v < 2010 for v in values)
    return any(isinstance(v, str) and v.startswith(condition["prefix"]) for v in values)


def check(store: CollectionStore, docs: dict[str, dict[str, Any]]) -> None:
    for raw in FILTERS:
        flt = None if raw is None else parse_filter(raw)
        for spec in SPECS:
            assert_counts(facet_counts(store, [spec], flt)[spec.field], docs, spec, raw)
        together = facet_counts(store, [SPECS[3], SPECS[6]], flt)
        assert_counts(together["ipc"], docs, SPECS[3], raw)
        assert_counts(together["country"], docs, SPECS[6], raw)


def assert_counts(result: FacetResult, docs: dict[str, Any], spec: FacetSpec, raw: Any) -> None:
    want = expected(docs, spec, raw)
    got = {(type(v.value) is bool, v.value): v.count for v in result.values}
    assert got == want["counts"], (spec, raw)
    assert result.other == 0
    assert (result.missing, result.documents) == (want["missing"], want["documents"])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CollectionStore]:
    opened = CollectionStore.create(
        tmp_path / "c",
        dim=4,
        metric="ip",
        index_type="flat",
        index_params={},
        shards=1,
        meta={},
        options=FAST,
    )
    yield opened
    opened.close()


def upsert(store: CollectionStore, docs: dict[str, dict[str, Any]], batch: dict[str, Any]) -> None:
    store.upsert([Record(i, VECTOR, [(0, 1)], f, {}) for i, f in batch.items()])
    docs.update(batch)


@pytest.mark.parametrize("min_delta", [3, 100_000], ids=["rebuilds", "deltas"])
def test_counts_equal_a_direct_count_through_writes(
    store: CollectionStore, min_delta: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(field_counts, "_MIN_DELTA", min_delta)
    monkeypatch.setattr(field_counts, "_DELTA_SHARE", 10**9)  # the threshold is min_delta
    rng = random.Random(min_delta)
    docs: dict[str, dict[str, Any]] = {}
    upsert(store, docs, {f"d{i}": random_fields(rng) for i in range(300)})
    check(store, docs)
    for round_ in range(4):
        ids = sorted(docs)
        overwrite = {i: random_fields(rng) for i in rng.sample(ids, 25)}
        new = {f"n{round_}-{i}": random_fields(rng) for i in range(20)}
        upsert(store, docs, overwrite | new)
        gone = rng.sample(sorted(docs), 15)
        assert store.delete(gone) == 15
        for doc_id in gone:
            del docs[doc_id]
        check(store, docs)


def test_counts_taken_while_writes_go_on_are_each_consistent(
    store: CollectionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counts race writes and each other's rebuilds: each must read one whole state."""
    monkeypatch.setattr(field_counts, "_MIN_DELTA", 8)  # rebuild often
    docs = {f"d{i}": {"country": "RU" if i % 2 else "US"} for i in range(200)}
    upsert(store, {}, docs)
    stop = threading.Event()
    seen: list[tuple[int, int]] = []

    def writer() -> None:
        for i in range(300):
            store.upsert([Record(f"n{i}", VECTOR, [(0, 1)], {"country": "DE"}, {})])
            if i % 3 == 0:
                store.delete([f"d{i % 200}"])
        stop.set()

    def reader() -> None:
        while not stop.is_set():
            result = facet_counts(store, [facet_spec("country")], None)["country"]
            seen.append((sum(v.count for v in result.values) + result.missing, result.documents))

    threads = [threading.Thread(target=writer)]
    threads += [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen and all(total == documents for total, documents in seen)
    for i in range(0, 300, 3):
        docs.pop(f"d{i % 200}", None)
    final = facet_counts(store, [facet_spec("country")], None)["country"]
    want = Counter(f["country"] for f in docs.values()) + Counter({"DE": 300})
    assert {v.value: v.count for v in final.values} == dict(want)


def test_counts_survive_a_reopen(tmp_path: Path) -> None:
    rng = random.Random(5)
    docs: dict[str, dict[str, Any]] = {}
    store = CollectionStore.create(
        tmp_path / "c",
        dim=4,
        metric="ip",
        index_type="flat",
        index_params={},
        shards=1,
        meta={},
        options=StoreOptions(group_commit_ms=0.0, fsync=False, snapshot_every=150),
    )
    upsert(store, docs, {f"d{i}": random_fields(rng) for i in range(200)})
    facet_counts(store, SPECS, None)
    upsert(store, docs, {f"d{i}": random_fields(rng) for i in range(50)})  # in the log only
    store.close()
    again = CollectionStore.open(tmp_path / "c", FAST)
    try:
        check(again, docs)
    finally:
        again.close()


def test_a_document_counts_once_per_child_however_many_codes_it_has(
    store: CollectionStore,
) -> None:
    codes = ["A61K 31/495", "A61K0031496500", "a61k31/00", "A61K 9/20", "C07D 401/04"]
    upsert(store, {}, {"one": {"ipc": codes}})
    result = facet_counts(store, [facet_spec("ipc", "A61K")], None)["ipc"]
    assert [(v.value, v.count, v.level) for v in result.values] == [
        ("A61K 31/00", 1, "main_group"),
        ("A61K 9/00", 1, "main_group"),
    ]
    top = facet_counts(store, [facet_spec("ipc")], None)["ipc"]
    assert [(v.value, v.count, v.level) for v in top.values] == [
        ("A", 1, "section"),
        ("C", 1, "section"),
    ]


def test_limit_keeps_the_largest_ties_by_value_and_counts_the_rest(
    store: CollectionStore,
) -> None:
    batch = {f"d{i}": {"country": c} for i, c in enumerate("AABBBCDDDDE")}
    upsert(store, {}, batch)
    result = facet_counts(store, [facet_spec("country", limit=3)], None)["country"]
    assert [(v.value, v.count) for v in result.values] == [("D", 4), ("B", 3), ("A", 2)]
    assert (result.other, result.missing, result.documents) == (2, 0, 11)
    assert result.values[0].level is None and result.system is None


def test_flat_values_keep_their_json_types(store: CollectionStore) -> None:
    upsert(store, {}, {"a": {"v": 1}, "b": {"v": True}, "c": {"v": "1"}, "d": {"v": 1.0}})
    result = facet_counts(store, [facet_spec("v")], None)["v"]
    assert {(type(v.value), v.value, v.count) for v in result.values} == {
        (int, 1, 2),
        (bool, True, 1),
        (str, "1", 1),
    }


def test_vienna_and_locarno_fields(store: CollectionStore) -> None:
    upsert(
        store,
        {},
        {
            "m1": {"vienna": ["A 01.01.01", "1.1.2", "26.4"], "locarno": "1-1"},
            "m2": {"vienna": "01.01.01", "locarno": ["01.02", "99-00"]},
            "m3": {"vienna": ["5.3", "18.01.00"]},
        },
    )
    vienna = facet_counts(store, [facet_spec("vienna", "01.01")], None)["vienna"]
    assert [(v.value, v.count, v.level) for v in vienna.values] == [
        ("01.01.01", 2, "section"),
        ("01.01.02", 1, "section"),
    ]
    locarno = facet_counts(store, [facet_spec("locarno")], None)["locarno"]
    assert [(v.value, v.count) for v in locarno.values] == [("01", 2), ("99", 1)]
    assert locarno.missing == 1
    top = facet_counts(store, [facet_spec("vienna")], None)["vienna"]
    assert [(v.value, v.count) for v in top.values] == [
        ("01", 2),
        ("05", 1),
        ("18", 1),
        ("26", 1),
    ]


def test_a_field_nobody_has_is_all_missing(store: CollectionStore) -> None:
    upsert(store, {}, {"a": {"x": 1}, "b": {}})
    result = facet_counts(store, [facet_spec("ipc")], parse_filter({"x": 1}))["ipc"]
    assert (result.values, result.other, result.missing, result.documents) == ([], 0, 1, 1)


# -- validation ----------------------------------------------------------------------------


def test_facets_are_names_or_objects_and_prefixes_are_normalised() -> None:
    specs = parse_facets(
        ["country", {"field": "ipc", "prefix": "A61K0031000000", "limit": 5}, {"field": "x"}]
    )
    assert specs == [
        FacetSpec("country"),
        FacetSpec("ipc", "A61K 31/00", 5),
        FacetSpec("x"),
    ]
    assert facet_spec("vienna", "A 1.1").prefix == "01.01"
    assert facet_spec("country", "R ").prefix == "R "  # flat: taken as it is
    assert facet_spec("ipc", "").prefix is None
    assert parse_facets([]) == []


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ("ipc", "facets", "must be a list"),
        ([f"f{i}" for i in range(17)], "facets", "at most 16"),
        ([3], "facets[0]", "must be a field name"),
        (["ipc", {"field": "country", "prefx": "R"}], "facets[1].prefx", "unknown key"),
        ([{"prefix": "A"}], "facets[0].field", "is required"),
        ([""], "facets[0].field", "non-empty"),
        (["x" * 257], "facets[0].field", "longer than 256"),
        ([{"field": "ipc", "limit": 0}], "facets[0].limit", "from 1 to 1000"),
        ([{"field": "ipc", "limit": 1001}], "facets[0].limit", "from 1 to 1000"),
        ([{"field": "ipc", "limit": True}], "facets[0].limit", "from 1 to 1000"),
        ([{"field": "ipc", "limit": "5"}], "facets[0].limit", "from 1 to 1000"),
        ([{"field": "ipc", "prefix": 61}], "facets[0].prefix", "must be a string"),
        (
            ["country", {"field": "ipc", "prefix": "A61KX"}],
            "facets[1].prefix",
            "not a valid IPC code",
        ),
        ([{"field": "ipc", "prefix": "A61K 31/495"}], "facets[0].prefix", "a subgroup"),
        ([{"field": "vienna", "prefix": "01.01.01"}], "facets[0].prefix", "a section"),
        ([{"field": "locarno", "prefix": "40"}], "facets[0].prefix", "not a valid Locarno code"),
        (["ipc", {"field": "ipc", "prefix": "A"}], "facets[1].field", "asked for twice"),
    ],
)
def test_bad_facets_name_the_field(raw: object, field: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_facets(raw)
    assert caught.value.field == field
    assert message in caught.value.detail


def test_errors_of_a_single_facet_name_the_bare_parameter() -> None:
    with pytest.raises(InvalidInput) as caught:
        facet_spec("ipc", "nonsense")
    assert caught.value.field == "prefix"
