"""FlatIndex: exact search checked against numpy ground truth."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from ipsim.indexers.base import Metric, Selection
from ipsim.indexers.flat import FlatIndex

DIM = 64
N = 5000


def _unit(rng: np.random.Generator, n: int) -> npt.NDArray[np.float32]:
    x = rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _numpy_topk(
    queries: npt.NDArray[np.float32],
    vectors: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int64],
    k: int,
    metric: Metric,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    if metric == "ip":
        scores = queries @ vectors.T
    else:
        scores = -((queries[:, None, :] - vectors[None, :, :]) ** 2).sum(-1)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, axis=1), labels[order]


Data = tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.float32]]


@pytest.fixture(scope="module")
def data() -> Data:
    rng = np.random.default_rng(7)
    labels = np.arange(N, dtype=np.int64) * 3 + 11  # sparse, not row numbers
    return labels, _unit(rng, N), _unit(rng, 40)


def _filled(data: Data, metric: Metric = "ip") -> FlatIndex:
    labels, vectors, _ = data
    index = FlatIndex(DIM, metric)
    index.add(labels[:2000], vectors[:2000])
    index.add(labels[2000:], vectors[2000:])
    return index


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_search_equals_numpy_ground_truth(data: Data, metric: Metric) -> None:
    labels, vectors, queries = data
    index = _filled(data, metric)
    hits = index.search(queries, 10)
    want_scores, want_labels = _numpy_topk(queries, vectors, labels, 10, metric)
    np.testing.assert_array_equal(hits.labels, want_labels)
    np.testing.assert_allclose(hits.scores, want_scores, rtol=1e-5, atol=1e-5)
    assert index.exact and index.ntotal == N
    assert hits.scores.dtype == np.float32 and hits.labels.dtype == np.int64


def test_k_beyond_ntotal_pads_with_missing_slots() -> None:
    index = FlatIndex(4, "l2")
    index.add(np.array([5, 9]), np.eye(4, dtype=np.float32)[:2])
    hits = index.search(np.eye(4, dtype=np.float32)[:1], 4)
    assert hits.labels.tolist() == [[5, 9, -1, -1]]
    assert hits.scores[0, 0] == 0.0 and hits.scores[0, 1] == -2.0
    assert np.isneginf(hits.scores[0, 2:]).all()


def test_empty_index_returns_missing_slots() -> None:
    hits = FlatIndex(4).search(np.ones((2, 4), dtype=np.float32), 3)
    assert (hits.labels == -1).all() and np.isneginf(hits.scores).all()


def test_selective_allowed_equals_exact_search_on_the_allowed_set(data: Data) -> None:
    labels, vectors, queries = data
    index = _filled(data)
    keep = np.random.default_rng(1).choice(N, size=N // 100, replace=False)  # 1%
    allowed = Selection.from_labels(labels[keep], int(labels.max()) + 1)
    hits = index.search(queries, 10, allowed)
    assert allowed.contains(hits.labels.ravel()).all()
    want_scores, want_labels = _numpy_topk(queries, vectors[keep], labels[keep], 10, "ip")
    np.testing.assert_array_equal(hits.labels, want_labels)
    np.testing.assert_allclose(hits.scores, want_scores, rtol=1e-5, atol=1e-5)


def test_allowed_with_fewer_than_k_labels_fills_the_rest_with_missing(data: Data) -> None:
    labels, _, queries = data
    index = _filled(data)
    allowed = Selection.from_labels(labels[[3, 30, 300]], int(labels.max()) + 1)
    hits = index.search(queries[:2], 5, allowed)
    assert sorted(hits.labels[0, :3].tolist()) == sorted(labels[[3, 30, 300]].tolist())
    assert (hits.labels[:, 3:] == -1).all()
    empty = Selection.from_labels(np.zeros(0, dtype=np.int64), 10)
    assert (index.search(queries[:1], 5, empty).labels == -1).all()


def test_selection_shorter_than_label_space_selects_nothing_beyond_it(data: Data) -> None:
    labels, _, queries = data
    index = _filled(data)
    allowed = Selection.from_labels(labels[:5], int(labels[4]) + 1)
    hits = index.search(queries[:3], 10, allowed)
    assert set(hits.labels[hits.labels >= 0].tolist()) <= set(labels[:5].tolist())
    assert (hits.labels[:, :5] >= 0).all()


def test_removed_labels_are_never_returned(data: Data) -> None:
    labels, vectors, queries = data
    index = _filled(data)
    before = index.search(queries, 10)
    gone = np.unique(before.labels)
    index.remove(np.concatenate([gone, [10**9, 2]]))  # unknown labels are ignored
    assert index.ntotal == N - gone.size
    after = index.search(queries, 10)
    assert not np.isin(after.labels, gone).any()
    keep = ~np.isin(labels, gone)
    _, want = _numpy_topk(queries, vectors[keep], labels[keep], 10, "ip")
    np.testing.assert_array_equal(after.labels, want)


def test_add_rejects_a_present_or_repeated_or_negative_label_without_changing_anything() -> None:
    index = FlatIndex(4)
    index.add(np.array([1, 2]), np.eye(4, dtype=np.float32)[:2])
    for labels in ([2, 3], [7, 7], [-1, 8]):
        with pytest.raises(ValueError):
            index.add(np.array(labels), np.eye(4, dtype=np.float32)[:2])
    assert index.ntotal == 2
    index.remove(np.array([2]))
    index.add(np.array([3]), np.ones((1, 4), dtype=np.float32))
    assert index.ntotal == 2


def test_bad_shapes_and_k_are_rejected() -> None:
    index = FlatIndex(4)
    with pytest.raises(ValueError):
        index.add(np.array([1, 2]), np.ones((3, 4), dtype=np.float32))
    with pytest.raises(ValueError):
        index.add(np.array([1]), np.ones((1, 5), dtype=np.float32))
    with pytest.raises(ValueError):
        index.search(np.ones((1, 5), dtype=np.float32), 1)
    with pytest.raises(ValueError):
        index.search(np.ones((1, 4), dtype=np.float32), 0)
    with pytest.raises(ValueError):
        FlatIndex(0)
    with pytest.raises(ValueError):
        FlatIndex(4, "cosine")  # type: ignore[arg-type]


def test_queries_of_another_dtype_or_layout_are_converted(data: Data) -> None:
    _, _, queries = data
    index = _filled(data)
    want = index.search(queries[::2], 5)
    wide = np.asfortranarray(queries.astype(np.float64))[::2]
    got = index.search(wide, 5)  # type: ignore[arg-type]
    np.testing.assert_array_equal(got.labels, want.labels)


def test_save_load_gives_identical_results(data: Data, tmp_path: Path) -> None:
    labels, _, queries = data
    index = _filled(data, "l2")
    index.remove(labels[:100])
    index.save(tmp_path / "flat.idx")
    loaded = FlatIndex.load(tmp_path / "flat.idx")
    assert loaded.ntotal == index.ntotal and loaded.metric == "l2"
    a, b = index.search(queries, 10), loaded.search(queries, 10)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.scores, b.scores)
    with pytest.raises(ValueError):  # labels survive: duplicates are still refused
        loaded.add(labels[200:201], queries[:1])


def test_concurrent_searches_agree_with_a_serial_one(data: Data) -> None:
    _, _, queries = data
    index = _filled(data)
    want = index.search(queries, 10).labels
    results: list[npt.NDArray[np.int64]] = []

    def run() -> None:
        for _ in range(5):
            results.append(index.search(queries, 10).labels)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20
    assert all(np.array_equal(r, want) for r in results)


def test_describe_and_cpu_move() -> None:
    index = FlatIndex(8)
    assert index.to("cpu") is index
    assert index.describe() == {"type": "flat", "device": "cpu"}
