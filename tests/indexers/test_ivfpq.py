"""IVFPQIndex: exact until trained, then PQ candidates re-ranked exactly.

Setting: 12,000 unit vectors in 64 dimensions from a 16-dimensional latent space plus
noise (embedding-like; see test_ivf.py); nlist 64, m 8 (8-dimensional sub-vectors),
nbits 8, trained on the first 10,000, rerank 4 (40 PQ candidates for k = 10).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from support.vectors import embeddings, recall, truth

from ipsim.indexers.base import Selection
from ipsim.indexers.ivfpq import IVFPQIndex, default_m

DIM, N, LATENT, TRAIN = 64, 12_000, 16, 10_000
Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]
Data = tuple[Ints, Floats, Floats]


def _new() -> IVFPQIndex:
    return IVFPQIndex(DIM, "ip", nlist=64, m=8, nbits=8, train_size=TRAIN, rerank=4)


@pytest.fixture(scope="module")
def data() -> Data:
    return (
        np.arange(N, dtype=np.int64) + 100,
        embeddings(N, 1, DIM, LATENT),
        embeddings(100, 2, DIM, LATENT),
    )


@pytest.fixture(scope="module")
def trained(data: Data) -> IVFPQIndex:
    labels, vectors, _ = data
    index = _new()
    index.add(labels[:TRAIN], vectors[:TRAIN])
    index.add(labels[TRAIN:], vectors[TRAIN:])
    return index


def test_exact_before_training(data: Data) -> None:
    labels, vectors, queries = data
    index = _new()
    index.add(labels[:2000], vectors[:2000])
    assert not index.trained and index.exact
    hits = index.search(queries, 10)
    np.testing.assert_array_equal(hits.labels, truth(queries, vectors[:2000], labels[:2000], 10))


def test_reranked_recall_and_exact_scores(trained: IVFPQIndex, data: Data) -> None:
    labels, vectors, queries = data
    assert trained.trained and trained.ntotal == N
    hits = trained.search(queries, 10)
    assert recall(hits.labels, truth(queries, vectors, labels, 10)) >= 0.8
    exact = np.einsum("qd,qkd->qk", queries, vectors[hits.labels - 100])
    np.testing.assert_allclose(hits.scores, exact, rtol=1e-5, atol=1e-6)
    assert (np.diff(hits.scores, axis=1) <= 0).all()


def test_rerank_improves_on_raw_pq_order(data: Data, trained: IVFPQIndex) -> None:
    labels, vectors, queries = data
    raw = IVFPQIndex.restore(trained.dump())
    raw.rerank = 1  # PQ order only: the exact re-score just sorts the k it got
    exact = truth(queries, vectors, labels, 10)
    assert recall(trained.search(queries, 10).labels, exact) > recall(
        raw.search(queries, 10).labels, exact
    )


def test_selective_filter_is_exact_on_the_allowed_set(trained: IVFPQIndex, data: Data) -> None:
    labels, vectors, queries = data
    keep = np.random.default_rng(5).choice(N, size=N // 100, replace=False)
    allowed = Selection.from_labels(labels[keep], int(labels.max()) + 1)
    hits = trained.search(queries, 10, allowed)
    assert (hits.labels >= 0).all() and allowed.contains(hits.labels.ravel()).all()
    np.testing.assert_array_equal(hits.labels, truth(queries, vectors[keep], labels[keep], 10))


def test_broad_filter_keeps_k_allowed_hits_andrecall(trained: IVFPQIndex, data: Data) -> None:
    labels, vectors, queries = data
    keep = np.random.default_rng(6).choice(N, size=N // 5, replace=False)
    allowed = Selection.from_labels(labels[keep], int(labels.max()) + 1)
    hits = trained.search(queries, 10, allowed)
    assert (hits.labels >= 0).all() and allowed.contains(hits.labels.ravel()).all()
    assert recall(hits.labels, truth(queries, vectors[keep], labels[keep], 10)) >= 0.8


def test_removed_labels_are_never_returned(data: Data) -> None:
    labels, vectors, queries = data
    index = IVFPQIndex(DIM, "l2", nlist=16, m=8, nbits=4, train_size=2000)
    index.add(labels[:3000], vectors[:3000])
    first = np.unique(index.search(queries, 10).labels)
    index.remove(first)
    again = index.search(queries, 10)
    assert not np.isin(again.labels, first).any() and (again.labels >= 0).all()
    assert index.ntotal == 3000 - first.size


def test_save_load_gives_identical_results(trained: IVFPQIndex, tmp_path: Path) -> None:
    queries = embeddings(20, 3, DIM, LATENT)
    trained.save(tmp_path / "ivfpq")
    loaded = IVFPQIndex.load(tmp_path / "ivfpq")
    assert loaded.describe() == trained.describe()
    a, b = trained.search(queries, 10), loaded.search(queries, 10)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_m_must_divide_dim_and_defaults_to_8_wide_subvectors() -> None:
    with pytest.raises(ValueError):
        IVFPQIndex(30, m=4)
    assert default_m(384) == 48 and default_m(64) == 8 and default_m(30) == 3
    assert default_m(7) == 1
    assert IVFPQIndex(64).train_size == 10_000
    assert IVFPQIndex(64, nlist=8).train_size == 39 * 256  # the PQ, not the lists, needs more
