"""ShardedIndex: routing by label, merged results identical to one index, persistence."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from ipsim.indexers.base import Selection
from ipsim.indexers.factory import load_index, make_index
from ipsim.indexers.flat import FlatIndex
from ipsim.indexers.hnsw import HNSWIndex
from ipsim.indexers.shards import ShardedIndex

DIM, N = 32, 4000
Floats = npt.NDArray[np.float32]


def _unit(n: int, seed: int) -> Floats:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


LABELS = np.random.default_rng(0).permutation(N).astype(np.int64) * 3 + 1
VECTORS = _unit(N, 1)
QUERIES = _unit(60, 2)


def _pair(metric: str = "ip") -> tuple[FlatIndex, ShardedIndex]:
    single = FlatIndex(DIM, metric)  # type: ignore[arg-type]
    sharded = ShardedIndex([FlatIndex(DIM, metric) for _ in range(3)])  # type: ignore[arg-type]
    for index in (single, sharded):
        index.add(LABELS[:1500], VECTORS[:1500])
        index.add(LABELS[1500:], VECTORS[1500:])
    return single, sharded


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_sharded_flat_equals_one_flat_exactly(metric: str) -> None:
    single, sharded = _pair(metric)
    assert sharded.ntotal == single.ntotal == N and sharded.exact
    for k in (1, 10, 50):
        a, b = single.search(QUERIES, k), sharded.search(QUERIES, k)
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.scores, b.scores)


def test_labels_route_to_label_mod_n() -> None:
    _, sharded = _pair()
    for i, shard in enumerate(sharded.shards):
        assert shard.ntotal == int((i == LABELS % 3).sum())
        probe = shard.search(VECTORS[:20], 1).labels[:, 0]
        assert (probe[probe >= 0] % 3 == i).all()


def test_one_selection_filters_every_shard() -> None:
    single, sharded = _pair()
    allowed = Selection.from_labels(LABELS[::100], int(LABELS.max()) + 1)
    a, b = single.search(QUERIES, 10, allowed), sharded.search(QUERIES, 10, allowed)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert allowed.contains(b.labels.ravel()).all()


def test_ties_merge_by_label_ascending() -> None:
    sharded = ShardedIndex([FlatIndex(4), FlatIndex(4)])
    sharded.add(np.array([7, 2, 5, 4]), np.ones((4, 4), dtype=np.float32))
    hits = sharded.search(np.ones((1, 4), dtype=np.float32), 6)
    assert hits.labels.tolist() == [[2, 4, 5, 7, -1, -1]]


def test_remove_and_k_beyond_ntotal() -> None:
    _, sharded = _pair()
    first = np.unique(sharded.search(QUERIES, 10).labels)
    sharded.remove(np.concatenate([first, [-5, 10**7]]))
    assert sharded.ntotal == N - first.size
    assert not np.isin(sharded.search(QUERIES, 10).labels, first).any()
    small = ShardedIndex([FlatIndex(DIM), FlatIndex(DIM)])
    small.add(LABELS[:3], VECTORS[:3])
    hits = small.search(QUERIES[:2], 5)
    assert (hits.labels[:, 3:] == -1).all() and np.isneginf(hits.scores[:, 3:]).all()


def test_failed_add_changes_no_shard() -> None:
    _, sharded = _pair()
    fresh = np.array([10**6, 10**6 + 1, 10**6 + 2])  # one per shard
    clash = np.concatenate([fresh, LABELS[:1]])  # the last one is already present
    with pytest.raises(ValueError):
        sharded.add(clash, VECTORS[:4])
    assert sharded.ntotal == N
    sharded.add(fresh, VECTORS[:3])  # none of them was left behind
    assert sharded.ntotal == N + 3


def test_concurrent_searches_agree_with_a_serial_one() -> None:
    _, sharded = _pair()
    want = sharded.search(QUERIES, 10)
    results = []

    def run() -> None:
        for _ in range(5):
            results.append(sharded.search(QUERIES, 10))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20 and all(np.array_equal(r.labels, want.labels) for r in results)


def test_save_load_round_trip(tmp_path: Path) -> None:
    sharded = make_index("hnsw", DIM, "ip", {"M": 8}, shards=2)
    sharded.add(LABELS, VECTORS)
    sharded.remove(LABELS[:10])
    sharded.save(tmp_path / "sharded")
    loaded = load_index(tmp_path / "sharded")
    assert isinstance(loaded, ShardedIndex) and all(isinstance(s, HNSWIndex) for s in loaded.shards)
    assert loaded.describe() == sharded.describe() and loaded.describe()["shards"] == 2
    a, b = sharded.search(QUERIES, 10), loaded.search(QUERIES, 10)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_shards_must_agree() -> None:
    with pytest.raises(ValueError):
        ShardedIndex([])
    with pytest.raises(ValueError):
        ShardedIndex([FlatIndex(4), FlatIndex(8)])
    with pytest.raises(ValueError):
        ShardedIndex([FlatIndex(4, "ip"), FlatIndex(4, "l2")])
