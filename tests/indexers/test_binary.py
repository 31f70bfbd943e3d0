"""BinaryIndex: sign-bit Hamming candidates, exact re-scoring, filters, persistence.

Setting: 8,000 unit vectors in 256 dimensions from a 16-dimensional latent space plus
noise (embedding-like: sign bits of many projections of a low-dimensional signal preserve
angles well), rescore 10 (100 Hamming candidates for k = 10).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from support.vectors import embeddings, recall, truth

from ipsim.indexers.base import Selection
from ipsim.indexers.binary import BinaryIndex, sign_codes

DIM, N, LATENT = 256, 8000, 16
Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]
Data = tuple[Ints, Floats, Floats]


@pytest.fixture(scope="module")
def data() -> Data:
    return (
        np.arange(N, dtype=np.int64) * 2,
        embeddings(N, 1, DIM, LATENT),
        embeddings(100, 2, DIM, LATENT),
    )


@pytest.fixture(scope="module")
def built(data: Data) -> BinaryIndex:
    labels, vectors, _ = data
    index = BinaryIndex(DIM, "ip", rescore=10)
    index.add(labels, vectors)
    return index


def test_recall_and_exact_scores(built: BinaryIndex, data: Data) -> None:
    labels, vectors, queries = data
    hits = built.search(queries, 10)
    assert recall(hits.labels, truth(queries, vectors, labels, 10)) >= 0.8
    exact = np.einsum("qd,qkd->qk", queries, vectors[hits.labels // 2])
    np.testing.assert_allclose(hits.scores, exact, rtol=1e-5, atol=1e-6)


def test_rescoring_beats_hamming_order_alone(built: BinaryIndex, data: Data) -> None:
    labels, vectors, queries = data
    exact = truth(queries, vectors, labels, 10)
    built.rescore = 1
    try:
        hamming_only = recall(built.search(queries, 10).labels, exact)
    finally:
        built.rescore = 10
    assert recall(built.search(queries, 10).labels, exact) > hamming_only + 0.1


def test_l2_scores_are_minus_squared_distances(data: Data) -> None:
    labels, vectors, queries = data
    index = BinaryIndex(DIM, "l2")
    index.add(labels[:2000], 2 * vectors[:2000])
    hits = index.search(2 * queries[:5], 3)
    want = -(((2 * queries[:5, None, :]) - 2 * vectors[hits.labels // 2]) ** 2).sum(-1)
    np.testing.assert_allclose(hits.scores, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("share", [0.01, 0.2])
def test_filtered_search_returns_k_allowed_hits(
    share: float, built: BinaryIndex, data: Data
) -> None:
    labels, vectors, queries = data
    keep = np.random.default_rng(5).choice(N, size=int(N * share), replace=False)
    allowed = Selection.from_labels(labels[keep], int(labels.max()) + 1)
    hits = built.search(queries, 10, allowed)
    assert (hits.labels >= 0).all() and allowed.contains(hits.labels.ravel()).all()
    exact = truth(queries, vectors[keep], labels[keep], 10)
    assert recall(hits.labels, exact) >= (1.0 if share <= 0.05 else 0.8)


def test_hamming_path_honours_the_selector(built: BinaryIndex, data: Data) -> None:
    labels, _, queries = data
    # Above the exhaustive-float threshold, so the Hamming scan itself must filter.
    allowed = Selection.from_labels(labels[1::7], int(labels.max()) + 1)
    hits = built.search(queries, 50, allowed)
    assert (hits.labels >= 0).all() and allowed.contains(hits.labels.ravel()).all()


def test_removed_labels_are_never_returned(data: Data) -> None:
    labels, vectors, queries = data
    index = BinaryIndex(DIM, "ip")
    index.add(labels[:3000], vectors[:3000])
    first = np.unique(index.search(queries, 10).labels)
    index.remove(np.concatenate([first, [999_999]]))
    again = index.search(queries, 10)
    assert not np.isin(again.labels, first).any() and (again.labels >= 0).all()
    assert index.ntotal == 3000 - first.size
    with pytest.raises(ValueError):
        index.add(np.setdiff1d(labels[:3000], first)[:1], vectors[:1])


def test_save_load_gives_identical_results(built: BinaryIndex, tmp_path: Path) -> None:
    queries = embeddings(20, 3, DIM, LATENT)
    built.save(tmp_path / "binary")
    loaded = BinaryIndex.load(tmp_path / "binary")
    assert (
        loaded.describe() == built.describe() == {"type": "binary", "rescore": 10, "device": "cpu"}
    )
    a, b = built.search(queries, 10), loaded.search(queries, 10)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_sign_codes_pad_to_whole_bytes() -> None:
    codes = sign_codes(np.array([[1, -1, 2, 0, 3, -3, 1, 1, 5, -5]], dtype=np.float32))
    assert codes.tolist() == [[0b10101011, 0b10000000]]
    index = BinaryIndex(10, "ip")
    index.add(np.array([0, 1]), np.eye(10, dtype=np.float32)[:2])
    assert index.search(np.eye(10, dtype=np.float32)[1:2], 2).labels.tolist() == [[1, 0]]
