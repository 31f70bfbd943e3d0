"""HNSWIndex: recall, filters, tombstones, rebuilds and persistence.

Data: 6,000 unit vectors in 64 dimensions from a 16-dimensional latent space plus noise
(embedding-like; see test_ivf.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from support.vectors import embeddings, recall, truth

from ipsim.indexers.base import Selection
from ipsim.indexers.hnsw import HNSWIndex

DIM, N, LATENT = 64, 6000, 16
Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]
Data = tuple[Ints, Floats, Floats]


@pytest.fixture(scope="module")
def data() -> Data:
    return (
        np.arange(N, dtype=np.int64) * 3,
        embeddings(N, 1, DIM, LATENT),
        embeddings(100, 2, DIM, LATENT),
    )


def _build(data: Data, **params: float) -> HNSWIndex:
    labels, vectors, _ = data
    index = HNSWIndex(DIM, "ip", M=16, ef_construction=80, **params)  # type: ignore[arg-type]
    index.add(labels, vectors)
    return index


@pytest.fixture(scope="module")
def built(data: Data) -> HNSWIndex:
    return _build(data)


def test_recall_at_10(built: HNSWIndex, data: Data) -> None:
    labels, vectors, queries = data
    hits = built.search(queries, 10)
    assert built.ntotal == N and not built.exact
    assert recall(hits.labels, truth(queries, vectors, labels, 10)) >= 0.9
    np.testing.assert_allclose(  # scores are exact inner products
        hits.scores[:, 0],
        np.einsum("ij,ij->i", queries, vectors[hits.labels[:, 0] // 3]),
        rtol=1e-5,
    )


def test_k_beyond_ntotal_pads() -> None:
    index = HNSWIndex(4, "l2")
    index.add(np.array([4, 8]), np.eye(4, dtype=np.float32)[:2])
    hits = index.search(np.eye(4, dtype=np.float32)[:1], 3)
    assert hits.labels.tolist() == [[4, 8, -1]] and np.isneginf(hits.scores[0, 2])


def test_selective_filter_is_exact_on_the_allowed_set(built: HNSWIndex, data: Data) -> None:
    labels, vectors, queries = data
    keep = np.random.default_rng(5).choice(N, size=N // 100, replace=False)
    allowed = Selection.from_labels(labels[keep], int(labels.max()) + 1)
    hits = built.search(queries, 10, allowed)
    assert (hits.labels >= 0).all() and allowed.contains(hits.labels.ravel()).all()
    np.testing.assert_array_equal(hits.labels, truth(queries, vectors[keep], labels[keep], 10))


def test_broad_filter_keeps_k_allowed_hits_andrecall(built: HNSWIndex, data: Data) -> None:
    labels, vectors, queries = data
    keep = np.random.default_rng(6).choice(N, size=N // 5, replace=False)
    allowed = Selection.from_labels(labels[keep], int(labels.max()) + 1)
    hits = built.search(queries, 10, allowed)
    assert (hits.labels >= 0).all() and allowed.contains(hits.labels.ravel()).all()
    assert recall(hits.labels, truth(queries, vectors[keep], labels[keep], 10)) >= 0.9


def test_removed_labels_are_never_returned_even_when_allowed(data: Data) -> None:
    labels, vectors, queries = data
    index = _build(data)
    first = np.unique(index.search(queries, 10).labels)
    index.remove(first)
    assert index.tombstones == first.size and index.ntotal == N - first.size
    again = index.search(queries, 10)
    assert not np.isin(again.labels, first).any() and (again.labels >= 0).all()
    # A caller's selection that still lists removed labels must not bring them back.
    stale = Selection.from_labels(first, int(labels.max()) + 1)
    assert (index.search(queries, 10, stale).labels == -1).all()
    keep = ~np.isin(labels, first)
    assert recall(again.labels, truth(queries, vectors[keep], labels[keep], 10)) >= 0.9


def test_a_re_added_label_returns_its_new_vector_only() -> None:
    index = HNSWIndex(4, "ip", M=4)
    index.add(np.array([1, 2]), np.eye(4, dtype=np.float32)[:2])
    index.remove(np.array([1]))
    index.add(np.array([1]), np.eye(4, dtype=np.float32)[2:3])
    hits = index.search(np.eye(4, dtype=np.float32), 3)
    assert hits.labels[0].tolist() == [1, 2, -1] and hits.scores[0, 0] == 0.0
    assert hits.labels[2, 0] == 1 and hits.scores[2, 0] == 1.0
    with pytest.raises(ValueError):
        index.add(np.array([2]), np.ones((1, 4), dtype=np.float32))


def test_rebuild_after_many_removals(data: Data) -> None:
    labels, vectors, queries = data
    index = _build(data, rebuild_ratio=0.3)
    gone = labels[: int(0.25 * N)]
    index.remove(gone)
    assert index.tombstones == gone.size  # below the ratio: still tombstones
    more = labels[int(0.25 * N) : int(0.35 * N)]
    index.remove(more)
    assert index.tombstones == 0 and index.ntotal == N - gone.size - more.size  # rebuilt
    keep = slice(int(0.35 * N), N)
    hits = index.search(queries, 10)
    assert not np.isin(hits.labels, np.concatenate([gone, more])).any()
    assert recall(hits.labels, truth(queries, vectors[keep], labels[keep], 10)) >= 0.9
    index.add(labels[:5], vectors[:5])  # removed labels may come back after a rebuild
    assert index.ntotal == N - gone.size - more.size + 5


def test_save_load_keeps_tombstones_and_results(data: Data, tmp_path: Path) -> None:
    labels, _, queries = data
    index = _build(data)
    index.remove(labels[::10])
    index.save(tmp_path / "hnsw")
    loaded = HNSWIndex.load(tmp_path / "hnsw")
    assert loaded.describe() == index.describe()
    assert loaded.ntotal == index.ntotal and loaded.tombstones == index.tombstones
    a, b = index.search(queries, 10), loaded.search(queries, 10)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert not np.isin(b.labels, labels[::10]).any()


def test_stays_on_cpu_and_says_so(built: HNSWIndex) -> None:
    assert built.to("cuda:0") is built
    assert built.describe() == {
        "type": "hnsw",
        "M": 16,
        "ef_construction": 80,
        "ef_search": 128,
        "rebuild_ratio": 0.3,
        "device": "cpu",
    }
