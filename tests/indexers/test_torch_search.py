"""Exact top-k with torch (the flat family's GPU path without FAISS GPU) equals numpy's.

Runs on the CPU everywhere and on CUDA where a device is present (``gpu`` tests), with
numpy and torch only, so it also runs on a GPU machine that has no FAISS.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from ipsim.indexers import torch_search
from ipsim.indexers.torch_search import TorchFlatSearch

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.gpu),
]


def data(n: int, dim: int, seed: int) -> npt.NDArray[np.float32]:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def exact(
    queries: npt.NDArray[np.float32], base: npt.NDArray[np.float32], k: int, metric: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    q, x = queries.astype(np.float64), base.astype(np.float64)
    scores = q @ x.T if metric == "ip" else -((q[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, axis=1), order


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_top_k_equals_exact_numpy(device: str, metric: str) -> None:
    base, queries = data(3000, 48, 1), data(20, 48, 2)
    labels = np.arange(3000, dtype=np.int64) * 7 + 5
    index = TorchFlatSearch(device, metric, labels, base)  # type: ignore[arg-type]
    distances, found = index.search(queries, 10)
    scores, rows = exact(queries, base, 10, metric)
    assert (found == labels[rows]).all()
    expected = scores if metric == "ip" else -scores
    np.testing.assert_allclose(distances, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("device", DEVICES)
def test_blocks_merge_to_the_same_answer(device: str, monkeypatch: pytest.MonkeyPatch) -> None:
    base, queries = data(2000, 16, 3), data(7, 16, 4)
    labels = np.arange(2000, dtype=np.int64)
    whole = TorchFlatSearch(device, "ip", labels, base).search(queries, 25)
    monkeypatch.setattr(torch_search, "BLOCK_SCORES", 7 * 90)  # 90-row blocks
    blocked = TorchFlatSearch(device, "ip", labels, base).search(queries, 25)
    assert (whole[1] == blocked[1]).all()
    np.testing.assert_allclose(whole[0], blocked[0], rtol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_adds_and_padding_like_faiss(device: str) -> None:
    index = TorchFlatSearch(device, "l2", np.empty(0, np.int64), np.empty((0, 4), np.float32))
    distances, found = index.search(data(2, 4, 5), 3)
    assert (found == -1).all() and np.isinf(distances).all() and (distances > 0).all()
    base = data(2, 4, 6)
    index.add(np.array([10, 11]), base)
    distances, found = index.search(base[:1], 3)
    assert found[0].tolist() == [10, 11, -1]
    assert distances[0, 0] == pytest.approx(0.0, abs=1e-6) and np.isinf(distances[0, 2])


@pytest.mark.parametrize("device", DEVICES)
def test_half_precision_finds_the_same_neighbours_on_embedding_like_data(device: str) -> None:
    rng = np.random.default_rng(7)
    centres = data(50, 64, 8)
    base = centres[rng.integers(0, 50, 4000)] + 0.3 * data(4000, 64, 9)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    queries = base[:30] + 0.05 * data(30, 64, 10)
    labels = np.arange(4000, dtype=np.int64)
    full = TorchFlatSearch(device, "ip", labels, base).search(queries, 10)[1]
    half = TorchFlatSearch(device, "ip", labels, base, half=True).search(queries, 10)[1]
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(full, half, strict=True)])
    assert overlap >= 0.95
