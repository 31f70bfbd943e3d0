"""``--index SPEC`` of the benchmarks: ``hnsw:M=32,ef_search=64``, ``ivf:nlist=1024``, ``flat``.

The text is parsed into the engine's :class:`IndexSpec` and checked by the same rule the
server applies to a collection's ``index`` (``validate_index_params``), so a benchmark
accepts exactly the specs a collection does, with the same error for a bad one.
"""

from __future__ import annotations

import argparse

from ipsim.engine.types import IndexSpec
from ipsim.indexers.factory import IndexParamError, validate_index_params


def _number(name: str, text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"index.{name}: must be a number, got {text!r}") from None


def parse_index_spec(text: str) -> IndexSpec:
    """``TYPE[:NAME=VALUE,...]`` → ``IndexSpec`` (only the parameters given; checked)."""
    family, _, rest = text.strip().partition(":")
    family = family.strip().lower()
    params: dict[str, int | float] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        name, equals, value = item.partition("=")
        name = name.strip()
        if not equals or not name or not value.strip():
            raise ValueError(f"{item!r}: expected NAME=VALUE in index spec {text!r}")
        if name in params:
            raise ValueError(f"index.{name}: given twice in {text!r}")
        params[name] = _number(name, value.strip())
    try:
        validate_index_params(family, params)
    except IndexParamError as exc:
        raise ValueError(str(exc)) from None
    return IndexSpec(type=family, params=params)


def format_index_spec(spec: IndexSpec) -> str:
    """The inverse of :func:`parse_index_spec`: ``hnsw:M=32,ef_search=64``."""
    if not spec.params:
        return spec.type
    return spec.type + ":" + ",".join(f"{k}={v}" for k, v in spec.params.items())


def index_spec_argument(text: str) -> IndexSpec:
    """``parse_index_spec`` for argparse's ``type=``: a bad spec is a usage error."""
    try:
        return parse_index_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
