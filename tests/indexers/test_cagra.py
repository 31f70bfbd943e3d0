"""The CAGRA family: HNSW insertion on CPU everywhere; a CAGRA graph built and searched on
a GPU where FAISS has cuVS (the ``gpu`` tests), which a CPU then searches as HNSW."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from ipsim.indexers.base import Selection
from ipsim.indexers.cagra import CagraIndex, cagra_available
from ipsim.indexers.factory import IndexParamError, make_index, restore_index
from ipsim.indexers.flat import FlatIndex

DIM = 48
Floats = npt.NDArray[np.float32]
needs_cagra = pytest.mark.skipif(not cagra_available(), reason="FAISS has no cuVS CAGRA GPU")


def _unit(n: int, seed: int) -> Floats:
    """Clustered unit vectors (graph indexes are tested on data with structure)."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).standard_normal((32, DIM)).astype(np.float32)
    x = centres[rng.integers(0, 32, n)] + 0.5 * rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _recall(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.mean([len(set(g) & set(w)) / len(w) for g, w in zip(got, want, strict=True)]))


def _pair(n: int) -> tuple[CagraIndex, FlatIndex, Floats]:
    vectors = _unit(n, 1)
    labels = np.arange(10, 10 + n, dtype=np.int64)  # labels are not rows
    params = {"graph_degree": 32, "intermediate_graph_degree": 64, "itopk_size": 256}
    index = make_index("cagra", DIM, "ip", params)
    exact = FlatIndex(DIM, "ip")
    for i in (index, exact):
        i.add(labels, vectors)
    assert isinstance(index, CagraIndex)
    return index, exact, vectors


def test_on_cpu_it_is_an_hnsw_graph_with_good_recall() -> None:
    index, exact, _ = _pair(4000)
    queries = _unit(100, 2)
    got, want = index.search(queries, 10), exact.search(queries, 10)
    assert _recall(got.labels, want.labels) >= 0.95
    assert index.describe()["built_on"] == "cpu" and index.device == "cpu"


def test_removals_filters_and_a_saved_graph_behave_as_hnsw() -> None:
    index, exact, vectors = _pair(3000)
    gone = np.arange(10, 1010, dtype=np.int64)
    index.remove(gone)
    exact.remove(gone)
    found = index.search(vectors[:50], 10)
    assert not np.isin(found.labels, gone).any() and index.ntotal == 2000
    allowed = Selection.from_labels(np.arange(2000, 2100, dtype=np.int64), 4000)
    filtered = index.search(vectors[:5], 5, allowed)
    assert allowed.contains(filtered.labels.ravel()).all()
    np.testing.assert_array_equal(filtered.labels, exact.search(vectors[:5], 5, allowed).labels)
    again = restore_index(index.dump())
    assert isinstance(again, CagraIndex) and again.params() == index.params()
    np.testing.assert_array_equal(again.search(vectors[:50], 10).labels, found.labels)


def test_bad_parameters_name_the_field() -> None:
    with pytest.raises(IndexParamError) as caught:
        make_index("cagra", DIM, "ip", {"graph_degree": 64, "intermediate_graph_degree": 32})
    assert caught.value.field == "index.intermediate_graph_degree"
    with pytest.raises(IndexParamError) as caught:
        make_index("cagra", DIM, "ip", {"itopk_size": 4096})
    assert caught.value.field == "index.itopk_size"


@pytest.mark.gpu
@needs_cagra
def test_built_on_the_gpu_searched_on_gpu_and_cpu_alike() -> None:
    index, exact, _ = _pair(20_000)
    queries = _unit(200, 3)
    want = exact.search(queries, 10)
    cpu_hnsw = index.search(queries, 10)
    assert index.to("cuda:0") is index
    assert index.describe()["built_on"] == "cuda:0" and index.device == "cuda:0"
    on_gpu = index.search(queries, 10)
    assert _recall(on_gpu.labels, want.labels) >= 0.95
    assert _recall(cpu_hnsw.labels, want.labels) >= 0.95
    # The CAGRA graph searched on CPU, as HNSW: what a CPU-only server gets from the file.
    on_cpu = restore_index(index.dump())
    assert on_cpu.device == "cpu" and on_cpu.describe()["built_on"] == "cuda:0"
    from_file = on_cpu.search(queries, 10)
    assert _recall(from_file.labels, want.labels) >= 0.95
    # Same graph, two searchers: the top hit agrees on nearly every query.
    assert np.mean(from_file.labels[:, 0] == on_gpu.labels[:, 0]) >= 0.95
    # The file's pristine graph goes back to a GPU as it is (copied, not rebuilt).
    again = on_cpu.to("cuda:0")
    assert again.describe()["built_on"] == "cuda:0"
    assert np.mean(again.search(queries, 10).labels[:, 0] == on_gpu.labels[:, 0]) >= 0.95
    np.testing.assert_allclose(on_gpu.scores[:, 0], want.scores[:, 0], atol=1e-4, rtol=1e-4)


@pytest.mark.gpu
@needs_cagra
def test_writes_after_a_gpu_build_reach_gpu_searches() -> None:
    index, _, vectors = _pair(10_000)
    index.to("cuda:0")
    extra = _unit(20, 4)
    new = np.arange(50_000, 50_020, dtype=np.int64)
    index.add(new, extra)  # inserted on CPU: too few for a rebuild, searched on CPU meanwhile
    assert index.describe()["inserted_on_cpu"] == 20
    np.testing.assert_array_equal(index.search(extra, 1).labels[:, 0], new)
    index.remove(new)
    assert not np.isin(index.search(extra, 5).labels, new).any()
    index.to("cpu")
    assert index.device == "cpu"
    np.testing.assert_array_equal(index.search(vectors[:20], 1).labels[:, 0], np.arange(10, 30))


@pytest.mark.gpu
@needs_cagra
def test_a_bulk_add_on_the_gpu_is_one_cagra_build() -> None:
    vectors = _unit(12_000, 6)
    index = make_index("cagra", DIM, "ip").to("cuda:0")
    assert isinstance(index, CagraIndex)
    index.add(np.arange(12_000, dtype=np.int64), vectors)
    assert index.built_on == "cuda:0" and index.ntotal == 12_000
    with pytest.raises(ValueError):
        index.add(np.arange(11_000, 14_000, dtype=np.int64), _unit(3000, 7))  # 11000 is live
    assert index.ntotal == 12_000
    np.testing.assert_array_equal(index.search(vectors[:50], 1).labels[:, 0], np.arange(50))
