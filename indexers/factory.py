"""Index specs in, indexes out: the one place an index type and its parameters are checked.

``validate_index_params`` is the rule the server applies to a collection's ``index`` spec
(a bad spec becomes a 400 naming the field); ``make_index`` builds the index it
describes, sharded when asked; ``load_index`` reads back any family's file.

Clients pick among :data:`INDEX_TYPES`. The families in :data:`INTERNAL_TYPES` are chosen
by a kind of collection for itself (chemical collections: ``fingerprint``), never named by
a client for float vectors: each takes only its own metric.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipsim.indexers import auto, binary, cagra, hnsw, ivf, ivfpq
from ipsim.indexers.base import Metric, VectorIndex
from ipsim.indexers.fingerprint import MAX_BITS, FingerprintIndex
from ipsim.indexers.flat import FlatIndex
from ipsim.indexers.index_file import IndexFile, PersistedIndex
from ipsim.indexers.live_labels import FLOAT_METRICS, METRICS, check_dim, check_metric
from ipsim.indexers.shards import ShardedIndex

INDEX_TYPES = ("auto", "flat", "ivf", "hnsw", "ivfpq", "binary", "cagra")
INTERNAL_TYPES = ("fingerprint",)
"""Families a kind of collection chooses for itself; accepted, but not offered to clients."""
_TYPE_METRICS: dict[str, tuple[Metric, ...]] = {"fingerprint": ("tanimoto",)}
"""The metrics of the families that do not take :data:`FLOAT_METRICS`."""
_UNSHARDED = ("fingerprint",)


class IndexParamError(ValueError):
    """A bad index spec: ``field`` names it (``index.type``, ``index.nlist``, …)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class _Param:
    """One parameter: its type, inclusive bounds and default (None: chosen by the index)."""

    kind: type[int] | type[float]
    low: float
    high: float
    default: int | float | None

    def check(self, name: str, value: object) -> int | float:
        field = f"index.{name}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise IndexParamError(field, f"must be {self.kind.__name__}, got {value!r}")
        if self.kind is int and not isinstance(value, int):
            if not (isinstance(value, float) and value.is_integer()):
                raise IndexParamError(field, f"must be an integer, got {value!r}")
            value = int(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise IndexParamError(field, f"must be finite, got {value!r}")
        if not self.low <= value <= self.high:
            raise IndexParamError(field, f"must be in [{self.low:g}, {self.high:g}], got {value!r}")
        return self.kind(value)


_INT_MAX = float(2**31 - 1)
_HNSW_PARAMS = {
    "M": _Param(int, 2, 256, hnsw.DEFAULT_M),
    "ef_construction": _Param(int, 1, 4096, hnsw.DEFAULT_EF_CONSTRUCTION),
    "ef_search": _Param(int, 1, 4096, hnsw.DEFAULT_EF_SEARCH),
}
_IVF_PARAMS = {
    "nlist": _Param(int, 1, 1 << 20, None),
    "nprobe": _Param(int, 1, 1 << 20, None),
    "train_size": _Param(int, 1, _INT_MAX, None),
}
_SPECS: dict[str, dict[str, _Param]] = {
    "flat": {},
    "ivf": _IVF_PARAMS,
    "hnsw": {
        **_HNSW_PARAMS,
        "rebuild_ratio": _Param(float, 0.01, 1.0, hnsw.DEFAULT_REBUILD_RATIO),
    },
    "ivfpq": {
        **_IVF_PARAMS,
        "m": _Param(int, 1, 4096, None),
        "nbits": _Param(int, 1, 16, ivfpq.DEFAULT_NBITS),
        "rerank": _Param(int, 1, 1000, ivfpq.DEFAULT_RERANK),
    },
    "cagra": {
        "graph_degree": _Param(int, 8, 512, cagra.DEFAULT_GRAPH_DEGREE),
        "intermediate_graph_degree": _Param(int, 8, 1024, cagra.DEFAULT_INTERMEDIATE_DEGREE),
        "itopk_size": _Param(int, 1, cagra.GPU_MAX_K, cagra.DEFAULT_ITOPK),
        "ef_search": _Param(int, 1, 4096, cagra.DEFAULT_EF_SEARCH),
        "ef_construction": _Param(int, 1, 4096, cagra.DEFAULT_EF_CONSTRUCTION),
        "rebuild_ratio": _Param(float, 0.01, 1.0, hnsw.DEFAULT_REBUILD_RATIO),
    },
    "binary": {"rescore": _Param(int, 1, 1000, binary.DEFAULT_RESCORE)},
    "auto": {"threshold": _Param(int, 1, _INT_MAX, auto.DEFAULT_THRESHOLD), **_HNSW_PARAMS},
    "fingerprint": {
        "bits": _Param(int, 64, MAX_BITS, None),
        "screen_bits": _Param(int, 0, MAX_BITS, 0),
    },
}


def _check_relations(type: str, params: dict[str, Any], dim: int | None) -> None:
    """Checks that involve more than one parameter, or the collection's dim."""
    nlist, nprobe, train_size = (params.get(n) for n in ("nlist", "nprobe", "train_size"))
    if nlist is not None and nprobe is not None and nprobe > nlist:
        raise IndexParamError("index.nprobe", f"must be at most nlist ({nlist})")
    if nlist is not None and train_size is not None and train_size < nlist:
        raise IndexParamError("index.train_size", f"must be at least nlist ({nlist})")
    if type == "fingerprint":
        _check_fingerprint(params, dim)
    if type == "cagra" and params["intermediate_graph_degree"] < params["graph_degree"]:
        raise IndexParamError(
            "index.intermediate_graph_degree",
            f"must be at least graph_degree ({params['graph_degree']})",
        )
    if type != "ivfpq":
        return
    if train_size is not None and train_size < 1 << params["nbits"]:
        raise IndexParamError("index.train_size", "must be at least 2**nbits")
    m = params.get("m")
    if dim is not None and m is not None and dim % m != 0:
        raise IndexParamError("index.m", f"must divide the dimension {dim}, got {m}")


def _check_fingerprint(params: dict[str, Any], dim: int | None) -> None:
    """Bit counts are whole uint64 words and fill the row; ``bits`` defaults to the rest."""
    screen_bits = params["screen_bits"]
    if dim is not None and "bits" not in params:
        params["bits"] = 16 * dim - screen_bits
    for name in ("bits", "screen_bits"):
        if name in params and (params[name] % 64 or params[name] < (64 if name == "bits" else 0)):
            raise IndexParamError(f"index.{name}", f"must be a multiple of 64, got {params[name]}")
    if dim is not None and params["bits"] + screen_bits != 16 * dim:
        raise IndexParamError(
            "index.bits",
            f"bits + screen_bits must be 16 x dim = {16 * dim} (one words16 value per 16 "
            f"bits), got {params['bits']} + {screen_bits}",
        )


def validate_index_params(
    type: str, params: Mapping[str, object], dim: int | None = None, metric: str | None = None
) -> dict[str, object]:
    """The normalised parameters of an index spec, or IndexParamError naming the field.

    Unknown names, wrong types and out-of-range values are rejected; defaults are filled
    in, except for those the index chooses itself from its data (``nlist``, ``nprobe``,
    ``train_size``, and IVF-PQ's ``m`` when ``dim`` is not known). With ``metric``, a
    family that cannot search that metric (``fingerprint`` for ``ip``) is rejected too.
    """
    if type not in INDEX_TYPES + INTERNAL_TYPES:
        raise IndexParamError("index.type", f"must be one of {', '.join(INDEX_TYPES)}")
    if metric is not None and metric not in _TYPE_METRICS.get(type, FLOAT_METRICS):
        wanted = " or ".join(_TYPE_METRICS.get(type, FLOAT_METRICS))
        raise IndexParamError("index.type", f"{type} indexes search {wanted}, not {metric}")
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 1):
        raise IndexParamError("dim", f"must be a positive integer, got {dim!r}")
    spec = _SPECS[type]
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name == "type":
            continue  # the spec's own "type" key may travel with its parameters
        if name not in spec:
            known = ", ".join(spec) or "none"
            raise IndexParamError(f"index.{name}", f"unknown parameter for {type} (known: {known})")
        out[name] = spec[name].check(name, value)
    for name, param in spec.items():
        if name not in out and param.default is not None:
            out[name] = param.default
    if type == "ivfpq" and dim is not None and "m" not in out:
        out["m"] = ivfpq.default_m(dim)
    _check_relations(type, out, dim)
    return out


# Every family by the name its files carry; the index types are those families by name.
_FAMILIES: dict[str, type[PersistedIndex]] = {
    cls.family: cls
    for cls in (
        FlatIndex,
        ivf.IVFIndex,
        hnsw.HNSWIndex,
        ivfpq.IVFPQIndex,
        binary.BinaryIndex,
        auto.AutoIndex,
        cagra.CagraIndex,
        FingerprintIndex,
        ShardedIndex,
    )
}
_BUILDERS: dict[str, Callable[..., PersistedIndex]] = {
    t: _FAMILIES[t] for t in INDEX_TYPES + INTERNAL_TYPES
}


def make_index(
    type: str,
    dim: int,
    metric: Metric,
    params: Mapping[str, object] | None = None,
    shards: int = 1,
) -> VectorIndex:
    """A new, empty index of this family (a :class:`ShardedIndex` of it when ``shards > 1``).

    Raises IndexParamError for a bad spec (a family that cannot search ``metric``
    included), ValueError for a bad ``dim`` or ``metric``.
    """
    check_dim(dim)
    check_metric(metric, METRICS)
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise IndexParamError("shards", f"must be a positive integer, got {shards!r}")
    if shards > 1 and type in _UNSHARDED:
        raise IndexParamError(
            "shards", f"{type} indexes are not sharded (one scan uses every core): use 1"
        )
    normalised = validate_index_params(type, params or {}, dim, metric)
    build = _BUILDERS[type]
    if shards == 1:
        return build(dim, metric, **normalised)
    return ShardedIndex([build(dim, metric, **normalised) for _ in range(shards)])


def restore_index(file: IndexFile) -> VectorIndex:
    """The index an :class:`IndexFile` holds, whatever its family."""
    family = _FAMILIES.get(file.family)
    if family is None:
        raise ValueError(f"unknown index family {file.family!r} in index file")
    return family.restore(file)


def load_index(path: Path) -> VectorIndex:
    """Read an index written by any family's ``save`` (a sharded one too)."""
    return restore_index(IndexFile.read(Path(path)))
