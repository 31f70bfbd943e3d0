"""IVFIndex: exact until trained, then IVF with recall, filters, removal and persistence.

Data: 8,000 unit vectors in 64 dimensions drawn from a 16-dimensional latent space plus
noise, the way sentence and image embeddings occupy a low-dimensional part of their
space (uniform random vectors have no neighbourhood structure for any ANN to use).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from support.vectors import embeddings, recall, truth

from ipsim.indexers.base import Selection
from ipsim.indexers.ivf import IVFIndex, auto_nlist, default_nprobe

DIM, N, LATENT = 64, 8000, 16
Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]


@pytest.fixture(scope="module")
def data() -> tuple[Ints, Floats, Floats]:
    return (
        np.arange(N, dtype=np.int64) * 2 + 1,
        embeddings(N, 1, DIM, LATENT),
        embeddings(100, 2, DIM, LATENT),
    )


@pytest.fixture(scope="module")
def trained(data: tuple[Ints, Floats, Floats]) -> IVFIndex:
    labels, vectors, _ = data
    index = IVFIndex(DIM, "ip", nlist=64, train_size=4000)
    index.add(labels, vectors)
    return index


def test_exact_before_training(data: tuple[Ints, Floats, Floats]) -> None:
    labels, vectors, queries = data
    index = IVFIndex(DIM, "ip", nlist=64, train_size=4000)
    index.add(labels[:3999], vectors[:3999])
    assert not index.trained and index.exact
    hits = index.search(queries, 10)
    np.testing.assert_array_equal(
        hits.labels, truth(queries, vectors[:3999], labels[:3999], 10, "ip")
    )
    assert index.describe() == {
        "type": "ivf",
        "train_size": 4000,
        "nlist": 64,
        "trained": False,
        "device": "cpu",
    }
    index.add(labels[3999:4000], vectors[3999:4000])
    assert index.trained and not index.exact and index.ntotal == 4000


def test_trained_recall_at_10(trained: IVFIndex, data: tuple[Ints, Floats, Floats]) -> None:
    labels, vectors, queries = data
    assert trained.trained and trained.ntotal == N
    assert trained.describe()["nlist"] == 64 and trained.describe()["nprobe"] == 16
    hits = trained.search(queries, 10)
    assert recall(hits.labels, truth(queries, vectors, labels, 10, "ip")) >= 0.9
    assert (np.diff(hits.scores, axis=1) <= 0).all()
    np.testing.assert_allclose(  # IVF-Flat scores are exact inner products
        hits.scores[:, 0],
        np.einsum("ij,ij->i", queries, vectors[(hits.labels[:, 0] - 1) // 2]),
        rtol=1e-5,
    )


def test_l2_recall_at_10(data: tuple[Ints, Floats, Floats]) -> None:
    labels, vectors, queries = data
    index = IVFIndex(DIM, "l2", nlist=64, train_size=4000)
    index.add(labels, vectors * 3)  # not normalised: l2 and ip rankings differ
    hits = index.search(queries * 3, 10)
    assert recall(hits.labels, truth(queries * 3, vectors * 3, labels, 10, "l2")) >= 0.9
    assert (hits.scores <= 0).all()


def test_selective_filter_is_exact_on_the_allowed_set(
    trained: IVFIndex, data: tuple[Ints, Floats, Floats]
) -> None:
    labels, vectors, queries = data
    keep = np.random.default_rng(5).choice(N, size=N // 100, replace=False)
    allowed = Selection.from_labels(labels[keep], int(labels.max()) + 1)
    hits = trained.search(queries, 10, allowed)
    assert (hits.labels >= 0).all() and allowed.contains(hits.labels.ravel()).all()
    np.testing.assert_array_equal(
        hits.labels, truth(queries, vectors[keep], labels[keep], 10, "ip")
    )


def test_broad_filter_keeps_k_allowed_hits_andrecall(
    trained: IVFIndex, data: tuple[Ints, Floats, Floats]
) -> None:
    labels, vectors, queries = data
    keep = np.random.default_rng(6).choice(N, size=N // 5, replace=False)
    allowed = Selection.from_labels(labels[keep], int(labels.max()) + 1)
    hits = trained.search(queries, 10, allowed)
    assert (hits.labels >= 0).all() and allowed.contains(hits.labels.ravel()).all()
    assert recall(hits.labels, truth(queries, vectors[keep], labels[keep], 10, "ip")) >= 0.9


def test_removed_labels_are_never_returned(data: tuple[Ints, Floats, Floats]) -> None:
    labels, vectors, queries = data
    index = IVFIndex(DIM, "ip", nlist=32, train_size=2000)
    index.add(labels[:1000], vectors[:1000])
    index.remove(labels[:10])  # before training
    index.add(labels[1000:], vectors[1000:])
    first = index.search(queries, 10).labels
    index.remove(np.unique(first))  # after training
    assert index.ntotal == N - 10 - np.unique(first).size
    again = index.search(queries, 10).labels
    assert not np.isin(again, first).any() and not np.isin(again, labels[:10]).any()
    with pytest.raises(ValueError):
        index.add(labels[20:21], vectors[:1])


def test_nlist_is_chosen_from_the_training_size(data: tuple[Ints, Floats, Floats]) -> None:
    labels, vectors, _ = data
    index = IVFIndex(DIM, "ip", train_size=2000)
    index.add(labels[:2000], vectors[:2000])
    assert index.describe()["nlist"] == auto_nlist(2000) == 51
    assert index.describe()["nprobe"] == default_nprobe(51) == 16
    assert auto_nlist(1_000_000) == 4000 and auto_nlist(10) == 1


@pytest.mark.parametrize("n", [3000, N])
def test_save_load_gives_identical_results(
    n: int, data: tuple[Ints, Floats, Floats], tmp_path: Path
) -> None:
    labels, vectors, queries = data
    index = IVFIndex(DIM, "ip", nlist=64, train_size=4000)
    index.add(labels[:n], vectors[:n])
    index.remove(labels[:50])
    index.save(tmp_path / "ivf")
    loaded = IVFIndex.load(tmp_path / "ivf")
    assert loaded.describe() == index.describe() and loaded.ntotal == index.ntotal
    a, b = index.search(queries, 10), loaded.search(queries, 10)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.scores, b.scores)
