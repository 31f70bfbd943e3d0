"""AutoIndex: flat (exact) below the threshold, HNSW from the add that reaches it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from support.vectors import recall, truth, unit_vectors

from ipsim.indexers.auto import AutoIndex
from ipsim.indexers.base import Selection
from ipsim.indexers.flat import FlatIndex
from ipsim.indexers.hnsw import HNSWIndex

DIM, N = 32, 3000
Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]


LABELS = np.arange(N, dtype=np.int64) * 5
VECTORS = unit_vectors(N, 1, DIM)
QUERIES = unit_vectors(50, 2, DIM)


def _auto() -> AutoIndex:
    return AutoIndex(DIM, "ip", threshold=2000, M=16, ef_construction=80, ef_search=128)


def test_flat_and_exact_below_the_threshold() -> None:
    index = _auto()
    index.add(LABELS[:1999], VECTORS[:1999])
    assert isinstance(index.current, FlatIndex) and index.exact
    assert index.describe() == {
        "type": "auto",
        "threshold": 2000,
        "M": 16,
        "ef_construction": 80,
        "ef_search": 128,
        "current": "flat",
        "device": "cpu",
    }
    hits = index.search(QUERIES, 10)
    np.testing.assert_array_equal(hits.labels, truth(QUERIES, VECTORS[:1999], LABELS[:1999], 10))


def test_switches_to_hnsw_at_the_threshold_and_stays() -> None:
    index = _auto()
    index.add(LABELS[:1999], VECTORS[:1999])
    index.add(LABELS[1999:], VECTORS[1999:])
    assert isinstance(index.current, HNSWIndex) and not index.exact
    assert index.describe()["current"] == "hnsw" and index.ntotal == N
    assert index.current.describe()["M"] == 16
    hits = index.search(QUERIES, 10)
    assert recall(hits.labels, truth(QUERIES, VECTORS, LABELS, 10)) >= 0.9
    index.remove(LABELS[:1500])
    assert isinstance(index.current, HNSWIndex) and index.ntotal == N - 1500
    assert not np.isin(index.search(QUERIES, 10).labels, LABELS[:1500]).any()
    with pytest.raises(ValueError):
        index.add(LABELS[-1:], VECTORS[:1])


@pytest.mark.parametrize("n", [1000, N])
def test_filtered_search_in_either_state(n: int) -> None:
    index = _auto()
    index.add(LABELS[:n], VECTORS[:n])
    keep = np.arange(0, n, 50)
    allowed = Selection.from_labels(LABELS[keep], int(LABELS.max()) + 1)
    hits = index.search(QUERIES, 10, allowed)
    np.testing.assert_array_equal(hits.labels, truth(QUERIES, VECTORS[keep], LABELS[keep], 10))


@pytest.mark.parametrize("n", [1000, N])
def test_save_load_keeps_state_and_results(n: int, tmp_path: Path) -> None:
    index = _auto()
    index.add(LABELS[:n], VECTORS[:n])
    index.save(tmp_path / "auto")
    loaded = AutoIndex.load(tmp_path / "auto")
    assert loaded.describe() == index.describe()
    a, b = index.search(QUERIES, 10), loaded.search(QUERIES, 10)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.scores, b.scores)
    loaded.add(np.array([10**6]), VECTORS[:1])
    assert loaded.ntotal == n + 1
