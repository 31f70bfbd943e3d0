"""FAISS GPU helpers, and each family's ``to(device)`` with and without a GPU.

The ``gpu``-marked tests run where a CUDA device can serve the family: FAISS's GPUs for
every family, or torch's CUDA for the flat family (its torch mirror, used when FAISS has
no GPU); they check that the GPU search returns what the CPU search returns.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from ipsim.indexers.base import Selection, VectorIndex, parse_device
from ipsim.indexers.factory import make_index
from ipsim.indexers.gpu import faiss_gpu_count, gpu_count

DIM, N = 64, 12_000
Floats = npt.NDArray[np.float32]

needs_gpu = pytest.mark.skipif(faiss_gpu_count() == 0, reason="FAISS sees no GPU")
needs_any_gpu = pytest.mark.skipif(gpu_count() == 0, reason="neither FAISS nor torch sees a GPU")
no_gpu = pytest.mark.skipif(gpu_count() > 0, reason="checks the CPU-only fallback")

SPECS = [
    pytest.param("flat", {}, marks=needs_any_gpu),  # FAISS's clone, or torch's exact search
    pytest.param("ivf", {"nlist": 64, "train_size": 4000}, marks=needs_gpu),
    pytest.param("ivfpq", {"nlist": 64, "m": 8, "nbits": 8, "train_size": 10_000}, marks=needs_gpu),
]


def _unit(n: int, seed: int) -> Floats:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _filled(type_: str, params: dict[str, object]) -> VectorIndex:
    index = make_index(type_, DIM, "ip", params)
    index.add(np.arange(N, dtype=np.int64), _unit(N, 1))
    return index


def test_parse_device() -> None:
    assert parse_device("cpu") is None
    assert parse_device("cuda") == 0
    assert parse_device("cuda:3") == 3
    for bad in ("gpu", "cuda:", "cuda:x", "CUDA:0", ""):
        with pytest.raises(ValueError):
            parse_device(bad)


def test_gpu_count_is_a_count() -> None:
    assert isinstance(faiss_gpu_count(), int) and faiss_gpu_count() >= 0


@no_gpu
@pytest.mark.parametrize("type_", ["flat", "ivf", "ivfpq", "hnsw", "binary", "auto", "cagra"])
def test_without_a_gpu_to_cuda_keeps_the_index_on_cpu(type_: str) -> None:
    index = make_index(type_, DIM, "ip")
    index.add(np.arange(100, dtype=np.int64), _unit(100, 1))
    want = index.search(_unit(5, 2), 5)
    assert index.to("cuda") is index and index.to("cuda:1") is index
    assert index.describe()["device"] == "cpu"
    got = index.search(_unit(5, 2), 5)
    np.testing.assert_array_equal(got.labels, want.labels)
    assert index.to("cpu") is index
    with pytest.raises(ValueError):
        index.to("tpu")


@pytest.mark.gpu
@pytest.mark.parametrize(("type_", "params"), SPECS)
def test_gpu_search_matches_cpu(type_: str, params: dict[str, object]) -> None:
    queries = _unit(50, 2)
    index = _filled(type_, params)
    cpu = index.search(queries, 10)
    assert index.to("cuda:0").describe()["device"] == "cuda:0"
    gpu = index.search(queries, 10)
    np.testing.assert_allclose(gpu.scores, cpu.scores, rtol=1e-3, atol=1e-3)
    assert np.mean(gpu.labels == cpu.labels) >= 0.95  # ties and fp16 tables may reorder
    assert index.to("cpu").describe()["device"] == "cpu"
    back = index.search(queries, 10)
    np.testing.assert_array_equal(back.labels, cpu.labels)


@pytest.mark.gpu
@pytest.mark.parametrize(("type_", "params"), SPECS)
def test_gpu_index_follows_adds_removes_and_filters(type_: str, params: dict[str, object]) -> None:
    queries = _unit(20, 3)
    index = _filled(type_, params).to("cuda:0")
    extra = _unit(10, 4)
    index.add(np.arange(N, N + 10, dtype=np.int64), extra)
    top = index.search(extra, 1).labels[:, 0]
    np.testing.assert_array_equal(top, np.arange(N, N + 10))
    index.remove(np.arange(N, N + 10, dtype=np.int64))
    assert not np.isin(index.search(extra, 5).labels, np.arange(N, N + 10)).any()
    allowed = Selection.from_labels(np.arange(0, N, 100, dtype=np.int64), N + 10)
    hits = index.search(queries, 10, allowed)
    assert (hits.labels >= 0).all() and allowed.contains(hits.labels.ravel()).all()


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize(("type_", "params"), SPECS[:2])
def test_replicas_answer_as_one_gpu(type_: str, params: dict[str, object]) -> None:
    """An IndexReplicas (two copies on GPU 0 here; one per GPU in production) splits a
    batch between its replicas and must answer as one copy does."""
    from ipsim.indexers.gpu import GpuMirror, to_cpu

    index = _filled(type_, params)
    queries = _unit(64, 5)
    single = index.to("cuda:0").search(queries, 10)
    inner = index._ivf if type_ == "ivf" else index._index  # type: ignore[attr-defined]
    replicas = GpuMirror(0, lambda: to_cpu(inner), devices=(0, 0))
    assert replicas.devices == (0, 0)
    scores, labels = replicas.search(queries, 10)
    np.testing.assert_array_equal(labels, single.labels)
    np.testing.assert_allclose(scores, single.scores, rtol=1e-5, atol=1e-5)


@pytest.mark.gpu
@needs_gpu
def test_shards_sharing_one_gpu_search_from_parallel_threads() -> None:
    """Four shards on one GPU share its FAISS resources, which are not thread-safe: the
    per-device lock must keep their parallel searches apart (FAISS aborted without it)."""
    index = make_index("flat", DIM, "ip", shards=4)
    index.add(np.arange(N, dtype=np.int64), _unit(N, 1))
    queries = _unit(64, 8)
    cpu = index.search(queries, 10)
    index.to("cuda")
    for _ in range(20):
        gpu = index.search(queries, 10)
        assert np.mean(gpu.labels == cpu.labels) >= 0.99
