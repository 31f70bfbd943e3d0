"""The collection store: writes, reads, document-level filtered search, durability."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ipsim.indexers.base import Metric
from ipsim.indexers.factory import IndexParamError
from ipsim.indexers.filters import parse_filter
from ipsim.indexers.store import (
    CollectionStore,
    DocHit,
    Record,
    StoreError,
    StoreLockedError,
    StoreOptions,
)

DIM = 8
FAST = StoreOptions(group_commit_ms=0.0, fsync=False)


@pytest.fixture
def stores() -> Iterator[list[CollectionStore]]:
    """Stores a test opened; closed at teardown (closing twice is harmless)."""
    opened: list[CollectionStore] = []
    yield opened
    for store in opened:
        store.close()


def create(
    stores: list[CollectionStore],
    path: Path,
    *,
    metric: Metric = "ip",
    index_type: str = "flat",
    params: dict[str, object] | None = None,
    options: StoreOptions = FAST,
) -> CollectionStore:
    store = CollectionStore.create(
        path,
        dim=DIM,
        metric=metric,
        index_type=index_type,
        index_params=params or {},
        shards=1,
        meta={"modality": "text", "model": "test"},
        options=options,
    )
    stores.append(store)
    return store


def reopen(
    stores: list[CollectionStore], path: Path, options: StoreOptions = FAST
) -> CollectionStore:
    store = CollectionStore.open(path, options)
    stores.append(store)
    return store


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def record(doc_id: str, vectors: np.ndarray, **fields: Any) -> Record:
    spans = [(10 * i, 10 * i + 9) for i in range(len(vectors))]
    return Record(doc_id, vectors, spans, dict(fields), {"text": f"content of {doc_id}"})


def corpus(seed: int, n: int, max_units: int = 3) -> list[Record]:
    rng = np.random.default_rng(seed)
    return [
        record(
            f"doc{i:04d}",
            unit_vectors(rng, int(rng.integers(1, max_units + 1))),
            group=i % 100,
            tag=["even" if i % 2 == 0 else "odd", f"t{i % 7}"],
        )
        for i in range(n)
    ]


def brute_force(
    records: list[Record], query: np.ndarray, k: int, metric: Metric = "ip"
) -> list[tuple[str, float, int]]:
    """(id, best unit score, unit) of the top-k documents, computed plainly."""
    scored = []
    for r in records:
        v = r.vectors.astype(np.float64)
        q = query.astype(np.float64)
        s = v @ q if metric == "ip" else -((v - q) ** 2).sum(axis=1)
        scored.append((r.id, float(s.max()), int(s.argmax())))
    scored.sort(key=lambda t: (-t[1], t[0]))
    return scored[:k]


def as_tuples(hits: list[DocHit]) -> list[tuple[str, float, int]]:
    return [(h.id, h.score, h.unit) for h in hits]


def assert_same_ranking(got: list[DocHit], want: list[tuple[str, float, int]]) -> None:
    assert [h.id for h in got] == [w[0] for w in want]
    assert [h.unit for h in got] == [w[2] for w in want]
    np.testing.assert_allclose([h.score for h in got], [w[1] for w in want], rtol=1e-6)


def test_upsert_get_overwrite_delete(tmp_path: Path, stores: list) -> None:
    store = create(stores, tmp_path / "c")
    rng = np.random.default_rng(0)
    a = record("a", unit_vectors(rng, 2), country="DE")
    b = record("b", unit_vectors(rng, 1), country="FR")
    store.upsert([a, b])
    assert len(store) == 2 and sorted(store.ids()) == ["a", "b"]
    got = store.get("a")
    assert got is not None
    np.testing.assert_array_equal(got.vectors, a.vectors)
    assert got.spans == [(0, 9), (10, 19)]
    assert got.fields == {"country": "DE"} and got.payload == {"text": "content of a"}
    version = store.version

    a2 = record("a", unit_vectors(rng, 3), country="US")
    store.upsert([a2])
    assert store.version > version
    got = store.get("a")
    assert got is not None and got.vectors.shape == (3, DIM) and got.fields == {"country": "US"}
    assert store.count(parse_filter({"country": "DE"})) == 0
    assert store.count(parse_filter({"country": "US"})) == 1
    # The old units are gone from the index: a's old vector finds a only by its new units.
    hits = store.search(a.vectors[:1], k=2)[0]
    assert {h.id for h in hits} == {"a", "b"}
    assert next(h for h in hits if h.id == "a").score == pytest.approx(
        float((a2.vectors @ a.vectors[0]).max()), rel=1e-6
    )

    assert store.delete(["a", "zzz", "a"]) == 1
    assert store.delete(["a"]) == 0
    assert store.get("a") is None and len(store) == 1
    assert [h.id for h in store.search(a.vectors, k=5)[0]] == ["b"]
    assert store.index_description()["type"] == "flat"


def test_returned_documents_are_copies(tmp_path: Path, stores: list) -> None:
    store = create(stores, tmp_path / "c")
    fields = {"tags": ["x"]}
    r = Record("a", np.ones((1, DIM), np.float32), [(0, 1)], fields, {"p": 1})
    store.upsert([r])
    fields["tags"].append("mutated by the caller")
    got = store.get("a")
    assert got is not None and got.fields == {"tags": ["x"]}
    got.fields["tags"].append("mutated by a reader")
    hit = store.search(np.ones(DIM, np.float32), 1)[0][0]
    assert hit.fields == {"tags": ["x"]}
    assert store.count(parse_filter({"tags": "x"})) == 1


def test_a_repeated_id_in_one_batch_keeps_the_last(tmp_path: Path, stores: list) -> None:
    store = create(stores, tmp_path / "c")
    first = record("a", np.ones((2, DIM), np.float32), v=1)
    last = record("a", np.full((1, DIM), 2, np.float32), v=2)
    store.upsert([first, last])
    got = store.get("a")
    assert got is not None and got.fields == {"v": 2} and got.vectors.shape == (1, DIM)
    assert len(store) == 1


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (Record("", np.ones((1, DIM), np.float32), [(0, 1)], {}, {}), "non-empty"),
        (Record("a", np.ones((1, DIM + 1), np.float32), [(0, 1)], {}, {}), "shape"),
        (Record("a", np.ones((0, DIM), np.float32), [], {}, {}), "shape"),
        (Record("a", np.full((1, DIM), np.nan, np.float32), [(0, 1)], {}, {}), "NaN"),
        (Record("a", np.ones((2, DIM), np.float32), [(0, 1)], {}, {}), "spans"),
        (Record("a", np.ones((1, DIM), np.float32), [(0, 1.5)], {}, {}), "span"),  # type: ignore[list-item]
        (Record("a", np.ones((1, DIM), np.float32), [(0, 1)], {"x": {1, 2}}, {}), "JSON"),
        (Record("a", np.ones((1, DIM), np.float32), [(0, 1)], {}, {"x": float("inf")}), "JSON"),
        (Record("a", np.ones((1, DIM), np.float32), [(0, 1)], {1: 2}, {}), "string keys"),  # type: ignore[dict-item]
        (Record("a", np.ones((1, DIM), np.float32), [(0, 1)], {}, []), "payload"),  # type: ignore[arg-type]
        (Record("\ud800", np.ones((1, DIM), np.float32), [(0, 1)], {}, {}), "JSON"),
    ],
)
def test_bad_records_are_refused_and_nothing_is_written(
    tmp_path: Path, stores: list, bad: Record, why: str
) -> None:
    store = create(stores, tmp_path / "c")
    good = record("good", np.ones((1, DIM), np.float32))
    with pytest.raises(ValueError, match=why):
        store.upsert([good, bad])
    assert len(store) == 0 and store.version == 0
    store.close()
    assert len(reopen(stores, tmp_path / "c")) == 0


def test_bad_searches_are_refused(tmp_path: Path, stores: list) -> None:
    store = create(stores, tmp_path / "c")
    store.upsert(corpus(0, 5))
    q = np.ones(DIM, np.float32)
    with pytest.raises(ValueError, match="shape"):
        store.search(np.ones((1, DIM + 1), np.float32), 3)
    with pytest.raises(ValueError, match="NaN"):
        store.search(np.full(DIM, np.nan, np.float32), 3)
    for k in (0, -1, True, 2.5):
        with pytest.raises(ValueError, match="k must"):
            store.search(q, k)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="strings"):
        store.delete([3])  # type: ignore[list-item]


def test_create_refuses_an_existing_path_and_a_bad_spec(tmp_path: Path, stores: list) -> None:
    create(stores, tmp_path / "c")
    with pytest.raises(FileExistsError):
        create(stores, tmp_path / "c")
    with pytest.raises(IndexParamError):
        create(stores, tmp_path / "bad", index_type="hnsw", params={"M": "many"})
    with pytest.raises(IndexParamError):
        create(stores, tmp_path / "bad", index_type="nope")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]
    with pytest.raises(FileNotFoundError):
        CollectionStore.open(tmp_path / "absent")


def test_multi_unit_documents_come_back_once_with_their_best_unit(
    tmp_path: Path, stores: list
) -> None:
    store = create(stores, tmp_path / "c")
    e = np.eye(DIM, dtype=np.float32)
    store.upsert(
        [
            Record(
                "long", np.stack([e[1], e[0] * 0.9, e[0] * 0.5]), [(0, 5), (5, 9), (9, 20)], {}, {}
            ),
            Record("short", e[[0]] * 0.8, [(0, 3)], {}, {}),
            Record("other", e[[2]], [(0, 4)], {}, {}),
        ]
    )
    hits = store.search(e[[0]], k=2)[0]
    assert [(h.id, h.unit, h.span) for h in hits] == [("long", 1, (5, 9)), ("short", 0, (0, 3))]
    assert hits[0].score == pytest.approx(0.9)
    everything = store.search(e[[0]], k=10)[0]
    assert [h.id for h in everything] == ["long", "short", "other"]


def test_equal_scores_are_ordered_by_id(tmp_path: Path, stores: list) -> None:
    store = create(stores, tmp_path / "c")
    v = np.ones((1, DIM), np.float32)
    store.upsert([record(i, v) for i in ("c", "a", "d", "b")])
    assert [h.id for h in store.search(v, k=3)[0]] == ["a", "b", "c"]


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_search_equals_brute_force_over_the_filtered_documents(
    tmp_path: Path, stores: list, metric: Metric
) -> None:
    docs = corpus(1, 600)
    store = create(stores, tmp_path / "c", metric=metric)
    for start in range(0, len(docs), 100):
        store.upsert(docs[start : start + 100])
    queries = unit_vectors(np.random.default_rng(2), 6)
    cases: list[tuple[dict[str, Any] | None, list[Record]]] = [
        (None, docs),
        ({"tag": "even"}, [d for d in docs if "even" in d.fields["tag"]]),
        (
            {"group": {"gte": 10, "lt": 13}, "tag": "t3"},
            [d for d in docs if 10 <= d.fields["group"] < 13 and "t3" in d.fields["tag"]],
        ),
    ]
    for raw, subset in cases:
        flt = None if raw is None else parse_filter(raw)
        assert store.count(flt) == len(subset)
        for k in (1, 10, 50):
            results = store.search(queries, k, flt)
            assert len(results) == len(queries)
            for q, got in zip(queries, results, strict=True):
                assert_same_ranking(got, brute_force(subset, q, k, metric))


def test_a_one_percent_filter_still_returns_k_documents(tmp_path: Path, stores: list) -> None:
    docs = corpus(3, 2000)
    store = create(stores, tmp_path / "c")
    store.upsert(docs)
    flt = parse_filter({"group": 42})  # 20 of 2000 documents
    chosen = [d for d in docs if d.fields["group"] == 42]
    assert len(chosen) == 20 and store.count(flt) == 20
    q = unit_vectors(np.random.default_rng(4), 1)[0]
    hits = store.search(q, 10, flt)[0]
    assert len(hits) == 10 and all(h.fields["group"] == 42 for h in hits)
    assert_same_ranking(hits, brute_force(chosen, q, 10))
    assert len(store.search(q, 50, flt)[0]) == 20
    assert store.search(q, 5, parse_filter({"group": 1000}))[0] == []
    assert store.count(parse_filter({"group": 1000})) == 0


def test_widening_finds_k_documents_when_one_has_many_units(tmp_path: Path, stores: list) -> None:
    store = create(stores, tmp_path / "c")
    rng = np.random.default_rng(5)
    q = unit_vectors(rng, 1)[0]
    # One document owns the 60 units nearest to q, so the first ask is all one document.
    near = (q + 0.01 * rng.standard_normal((60, DIM))).astype(np.float32)
    docs = [record("crowd", near)] + [record(f"d{i}", unit_vectors(rng, 1)) for i in range(30)]
    store.upsert(docs)
    hits = store.search(q, 5)[0]
    assert len(hits) == 5 and hits[0].id == "crowd"
    assert_same_ranking(hits, brute_force(docs, q, 5))


@pytest.mark.parametrize(
    ("index_type", "params", "shards"),
    [
        ("hnsw", {"M": 8, "ef_construction": 40}, 1),
        ("ivf", {"nlist": 8, "nprobe": 2, "train_size": 200}, 1),
        ("ivfpq", {"nlist": 4, "m": 4, "nbits": 4, "train_size": 200}, 1),
        ("binary", {}, 1),
        ("auto", {"threshold": 100, "M": 8, "ef_construction": 40}, 1),
        ("flat", {}, 3),
    ],
)
def test_every_family_gives_exact_scores_filtered_k_and_survives_reopen(
    tmp_path: Path, stores: list, index_type: str, params: dict[str, object], shards: int
) -> None:
    docs = corpus(6, 400)
    path = tmp_path / "c"
    store = CollectionStore.create(
        path,
        dim=DIM,
        metric="ip",
        index_type=index_type,
        index_params=params,
        shards=shards,
        meta={},
        options=FAST,
    )
    stores.append(store)
    store.upsert(docs[:200])
    store.upsert(docs[200:])
    store.delete([d.id for d in docs[::10]])
    live = {d.id: d for i, d in enumerate(docs) if i % 10}
    q = unit_vectors(np.random.default_rng(7), 3)
    flt = parse_filter({"group": {"lt": 5}})  # 5% of the documents
    results = store.search(q, 10)
    filtered = store.search(q, 10, flt)
    for query, hits, some in zip(q, results, filtered, strict=True):
        assert len(hits) == 10 and len(some) == 10
        assert all(h.fields["group"] < 5 for h in some)
        for h in hits + some:
            best = live[h.id].vectors.astype(np.float64) @ query.astype(np.float64)
            assert h.score == pytest.approx(float(best.max()), rel=1e-6)
            assert h.unit == int(best.argmax())
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    store.close()
    again = reopen(stores, path)
    assert again.index_type == index_type and again.shards == shards
    assert again.search(q, 10) == results
    assert again.search(q, 10, flt) == filtered


def test_empty_store_searches_and_counts(tmp_path: Path, stores: list) -> None:
    store = create(stores, tmp_path / "c")
    q = np.ones((2, DIM), np.float32)
    assert store.search(q, 5) == [[], []]
    assert store.search(q, 5, parse_filter({"a": 1})) == [[], []]
    assert store.count() == 0 and len(store) == 0


def test_reopen_after_close_restores_everything(tmp_path: Path, stores: list) -> None:
    path = tmp_path / "c"
    docs = corpus(8, 300)
    store = create(stores, path, options=StoreOptions(snapshot_every=100, group_commit_ms=0))
    for start in range(0, 300, 50):
        store.upsert(docs[start : start + 50])
    store.delete([d.id for d in docs[:30]])
    q = unit_vectors(np.random.default_rng(9), 4)
    flt = parse_filter({"tag": "odd"})
    before = store.search(q, 20, flt)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.upsert(docs[:1])
    with pytest.raises(StoreError, match="closed"):
        store.search(q, 1)

    again = reopen(stores, path)
    assert len(again) == 270
    assert again.meta == {"modality": "text", "model": "test"}
    assert (again.dim, again.metric, again.index_type, again.shards) == (DIM, "ip", "flat", 1)
    assert again.search(q, 20, flt) == before
    assert again.count(flt) == sum(1 for d in docs[30:] if "odd" in d.fields["tag"])
    # Labels continue past the restored ones: new documents never collide with old units.
    extra = record("extra", docs[100].vectors)
    again.upsert([extra])
    hits = again.search(docs[100].vectors[:1], 2)[0]
    assert {h.id for h in hits} == {"extra", docs[100].id}
    assert hits[0].score == pytest.approx(hits[1].score)


def copy_without_closing(store: CollectionStore, target: Path) -> Path:
    """What a crash leaves: the store's files as they are now (the store stays open)."""
    shutil.copytree(store.path, target)
    return target


@pytest.mark.parametrize("snapshot_every", [7, 1000])
def test_a_crash_keeps_every_acknowledged_write_once(
    tmp_path: Path, stores: list, snapshot_every: int
) -> None:
    options = StoreOptions(snapshot_every=snapshot_every, group_commit_ms=0.5)
    store = create(stores, tmp_path / "c", options=options)
    rng = np.random.default_rng(10)
    expected: dict[str, Record] = {}
    for i in range(60):
        r = record(f"d{i % 25}", unit_vectors(rng, int(rng.integers(1, 4))), i=i)
        store.upsert([r])
        expected[r.id] = r
        if i % 9 == 4:
            victim = f"d{(i * 7) % 25}"
            store.delete([victim])
            expected.pop(victim, None)
    crashed = reopen(stores, copy_without_closing(store, tmp_path / "crashed"))
    assert sorted(crashed.ids()) == sorted(expected)
    for doc_id, want in expected.items():
        got = crashed.get(doc_id)
        assert got is not None and got.fields == want.fields
        np.testing.assert_array_equal(got.vectors, want.vectors)
    # Nothing duplicated: every document comes back once, with every live unit indexed once.
    q = unit_vectors(rng, 1)
    hits = crashed.search(q, 100)[0]
    assert sorted(h.id for h in hits) == sorted(expected)
    assert_same_ranking(hits, brute_force(list(expected.values()), q[0], 100))


def test_concurrent_writers_and_readers(tmp_path: Path, stores: list) -> None:
    store = create(stores, tmp_path / "c", options=StoreOptions(snapshot_every=40))
    docs = corpus(11, 240)
    errors: list[BaseException] = []
    stop = threading.Event()

    def write(part: list[Record]) -> None:
        try:
            for start in range(0, len(part), 5):
                store.upsert(part[start : start + 5])
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        q = unit_vectors(np.random.default_rng(12), 2)
        try:
            while not stop.is_set():
                for hits in store.search(q, 10, parse_filter({"tag": "even"})):
                    ids = [h.id for h in hits]
                    assert len(ids) == len(set(ids))
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(docs[t::6],)) for t in range(6)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for th in writers + readers:
        th.start()
    for th in writers:
        th.join()
    stop.set()
    for th in readers:
        th.join()
    assert errors == []
    assert len(store) == 240
    q = unit_vectors(np.random.default_rng(13), 1)[0]
    assert_same_ranking(store.search(q, 15)[0], brute_force(docs, q, 15))
    crashed = reopen(stores, copy_without_closing(store, tmp_path / "crashed"))
    assert sorted(crashed.ids()) == sorted(d.id for d in docs)
    assert_same_ranking(crashed.search(q, 15)[0], brute_force(docs, q, 15))


def test_snapshots_truncate_the_wal(tmp_path: Path, stores: list) -> None:
    path = tmp_path / "c"
    store = create(stores, path, options=StoreOptions(snapshot_every=20, group_commit_ms=0))
    docs = corpus(14, 100)
    for d in docs:
        store.upsert([d])
    current = (path / "CURRENT").read_text().strip()
    manifest = json.loads((path / "snapshots" / current / "manifest.json").read_text())
    assert manifest["covered_seq"] >= 80 and manifest["documents"] >= 80
    assert [p.name for p in (path / "snapshots").iterdir()] == [current]
    wal_records = sum(1 for _ in store._wal.records())  # type: ignore[union-attr]
    assert wal_records <= 100 - manifest["covered_seq"]
    store.snapshot()
    assert sum(1 for _ in store._wal.records()) == 0  # type: ignore[union-attr]
    store.close()
    assert len(reopen(stores, path)) == 100


def test_a_leftover_temporary_snapshot_is_ignored(tmp_path: Path, stores: list) -> None:
    path = tmp_path / "c"
    store = create(stores, path)
    docs = corpus(15, 30)
    store.upsert(docs[:20])
    store.snapshot()
    store.upsert(docs[20:])
    # A crash in the middle of writing the next snapshot:
    shutil.copytree(
        path / "snapshots" / (path / "CURRENT").read_text().strip(),
        path / "snapshots" / ".tmp-snap-junk",
    )
    (path / "snapshots" / ".tmp-snap-junk" / "docs.jsonl").write_text("garbage\n")
    crashed = reopen(stores, copy_without_closing(store, tmp_path / "crashed"))
    assert sorted(crashed.ids()) == sorted(d.id for d in docs)
    assert not (tmp_path / "crashed" / "snapshots" / ".tmp-snap-junk").exists()


def test_one_open_store_per_path_and_destroy(tmp_path: Path, stores: list) -> None:
    path = tmp_path / "c"
    store = create(stores, path)
    with pytest.raises(StoreLockedError):
        CollectionStore.open(path, FAST)
    store.upsert(corpus(16, 3))
    store.destroy()
    assert not path.exists()
    with pytest.raises(StoreError):
        store.get("doc0000")


def test_bad_options_are_refused(tmp_path: Path, stores: list) -> None:
    create(stores, tmp_path / "c").close()
    with pytest.raises(ValueError, match="snapshot_every"):
        CollectionStore.open(tmp_path / "c", StoreOptions(snapshot_every=0))


def test_search_counted_gives_the_filtered_count_with_the_hits(tmp_path: Path) -> None:
    store = CollectionStore.create(
        tmp_path / "c", dim=DIM, metric="ip", index_type="flat", index_params={}, shards=1, meta={}
    )
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((30, DIM)).astype(np.float32)
    store.upsert([Record(f"d{i}", vectors[i : i + 1], [(0, 1)], {"n": i}, {}) for i in range(30)])
    queries = rng.standard_normal((2, DIM)).astype(np.float32)
    flt = parse_filter({"n": {"gte": 20}})
    hits, total = store.search_counted(queries, 5, flt)
    assert total == store.count(flt) == 10
    assert [[h.id for h in row] for row in hits] == [
        [h.id for h in row] for row in store.search(queries, 5, flt)
    ]
    assert all(h.fields["n"] >= 20 for row in hits for h in row) and len(hits[0]) == 5
    none, zero = store.search_counted(queries, 5, parse_filter({"n": {"gte": 100}}))
    assert none == [[], []] and zero == 0
    store.close()
