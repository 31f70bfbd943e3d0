"""The factory: spec validation naming the field, building each family, loading any file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ipsim.indexers.auto import AutoIndex
from ipsim.indexers.binary import BinaryIndex
from ipsim.indexers.cagra import CagraIndex
from ipsim.indexers.factory import (
    INDEX_TYPES,
    IndexParamError,
    load_index,
    make_index,
    validate_index_params,
)
from ipsim.indexers.flat import FlatIndex
from ipsim.indexers.hnsw import HNSWIndex
from ipsim.indexers.ivf import IVFIndex
from ipsim.indexers.ivfpq import IVFPQIndex
from ipsim.indexers.shards import ShardedIndex


@pytest.mark.parametrize(
    ("type_", "params", "dim", "field"),
    [
        ("annoy", {}, 64, "index.type"),
        ("ivf", {"nlist": 0}, 64, "index.nlist"),
        ("ivf", {"nlist": "100"}, 64, "index.nlist"),
        ("ivf", {"nlist": 1.5}, 64, "index.nlist"),
        ("ivf", {"nlist": True}, 64, "index.nlist"),
        ("ivf", {"nlist": 64, "nprobe": 65}, 64, "index.nprobe"),
        ("ivf", {"nlist": 64, "train_size": 63}, 64, "index.train_size"),
        ("ivf", {"nprobes": 4}, 64, "index.nprobes"),
        ("ivfpq", {"m": 7}, 64, "index.m"),
        ("ivfpq", {"nbits": 17}, 64, "index.nbits"),
        ("ivfpq", {"nbits": 8, "train_size": 100}, 64, "index.train_size"),
        ("hnsw", {"M": 1}, 64, "index.M"),
        ("hnsw", {"ef_search": -3}, 64, "index.ef_search"),
        ("hnsw", {"rebuild_ratio": 0.0}, 64, "index.rebuild_ratio"),
        ("hnsw", {"rebuild_ratio": float("nan")}, 64, "index.rebuild_ratio"),
        ("flat", {"nlist": 4}, 64, "index.nlist"),
        ("binary", {"rescore": 0}, 64, "index.rescore"),
        ("auto", {"threshold": 0}, 64, "index.threshold"),
        ("flat", {}, 0, "dim"),
    ],
)
def test_bad_specs_are_rejected_naming_the_field(
    type_: str, params: dict[str, object], dim: int, field: str
) -> None:
    with pytest.raises(IndexParamError) as caught:
        validate_index_params(type_, params, dim)
    assert caught.value.field == field
    assert caught.value.message
    assert isinstance(caught.value, ValueError)


def test_valid_specs_are_normalised_with_defaults() -> None:
    assert validate_index_params("flat", {}) == {}
    assert validate_index_params("hnsw", {"M": 16, "type": "hnsw"}) == {
        "M": 16,
        "ef_construction": 200,
        "ef_search": 128,
        "rebuild_ratio": 0.3,
    }
    assert validate_index_params("ivf", {"nlist": 128.0}) == {"nlist": 128}
    ivfpq = validate_index_params("ivfpq", {"nlist": 16}, dim=384)
    assert ivfpq == {"nlist": 16, "m": 48, "nbits": 8, "rerank": 4}
    assert validate_index_params("ivfpq", {"m": 7})["m"] == 7  # dim unknown: checked later
    assert validate_index_params("auto", {})["threshold"] == 50_000
    assert validate_index_params("binary", {"rescore": 4}) == {"rescore": 4}


@pytest.mark.parametrize(
    ("type_", "cls"),
    [
        ("flat", FlatIndex),
        ("ivf", IVFIndex),
        ("hnsw", HNSWIndex),
        ("ivfpq", IVFPQIndex),
        ("binary", BinaryIndex),
        ("auto", AutoIndex),
        ("cagra", CagraIndex),
    ],
)
def test_make_index_builds_each_family(type_: str, cls: type) -> None:
    index = make_index(type_, 32, "l2")
    assert type(index) is cls
    assert index.dim == 32 and index.metric == "l2" and index.ntotal == 0
    assert index.describe()["type"] == type_
    assert set(INDEX_TYPES) == {"auto", "flat", "ivf", "hnsw", "ivfpq", "binary", "cagra"}


def test_make_index_applies_params_and_checks_them_against_dim() -> None:
    index = make_index("hnsw", 32, "ip", {"M": 8, "ef_search": 20})
    assert index.describe()["M"] == 8 and index.describe()["ef_search"] == 20
    with pytest.raises(IndexParamError) as caught:
        make_index("ivfpq", 30, "ip", {"m": 4})
    assert caught.value.field == "index.m"
    with pytest.raises(ValueError):
        make_index("flat", 32, "cosine")  # type: ignore[arg-type]


def test_shards_give_a_sharded_index_of_the_family() -> None:
    index = make_index("hnsw", 16, "ip", {"M": 8}, shards=3)
    assert isinstance(index, ShardedIndex)
    assert len(index.shards) == 3
    assert all(type(s) is HNSWIndex for s in index.shards)
    assert index.describe() == {**index.shards[0].describe(), "shards": 3}
    with pytest.raises(IndexParamError) as caught:
        make_index("flat", 16, "ip", shards=0)
    assert caught.value.field == "shards"


@pytest.mark.parametrize("type_", [*INDEX_TYPES, "sharded"])
def test_load_index_reads_any_family(type_: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((300, 16)).astype(np.float32)
    labels = np.arange(300, dtype=np.int64) * 2
    params: dict[str, object] = {
        "ivf": {"nlist": 4, "train_size": 200},
        "ivfpq": {"nlist": 4, "train_size": 200, "nbits": 4},
        "auto": {"threshold": 200},
    }.get(type_, {})
    if type_ == "sharded":
        index = make_index("flat", 16, "ip", shards=2)
    else:
        index = make_index(type_, 16, "ip", params)
    index.add(labels, vectors)
    index.save(tmp_path / "index")
    loaded = load_index(tmp_path / "index")
    assert type(loaded) is type(index)
    assert loaded.describe() == index.describe()
    a, b = index.search(vectors[:5], 7), loaded.search(vectors[:5], 7)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_load_index_rejects_other_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"not an index")
    with pytest.raises(ValueError):
        load_index(junk)
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError):
        load_index(tmp_path / "other.npz")
    flat = FlatIndex(4)
    flat.save(tmp_path / "flat")
    with pytest.raises(ValueError):
        HNSWIndex.load(tmp_path / "flat")
