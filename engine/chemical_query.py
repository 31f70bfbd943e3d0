"""The chemical search modes and their query options, validated at the engine's edge.

A chemical query is one JSON object: the structure (``smiles``, ``molblock``, ``smarts``
or ``formula``) plus the options of its mode, each checked here so a bad option is a
400 naming ``query.<option>``::

    similarity    {"smiles"|"molblock", "threshold"?, "metric"?: tanimoto|dice|tversky,
                   "alpha"?, "beta"? (tversky only, both required)}
    substructure  {"smiles"|"smarts"|"molblock", "chirality"?, "max_hits"?, "timeout_ms"?}
    exact         {"smiles"|"molblock", "connectivity"?}
    formula       {"formula", "allow_other_elements"?}

Without ``mode``, a ``smarts`` query means substructure, a ``formula`` query formula,
anything else similarity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ipsim.engine.errors import InvalidInput
from ipsim.engine.validation import integer_option

MODES = ("similarity", "substructure", "exact", "formula")
MEASURES = ("tanimoto", "dice", "tversky")
MAX_HITS_LIMIT = 100_000
DEFAULT_MAX_HITS = 10_000
DEFAULT_TIMEOUT_MS = 10_000
MAX_TIMEOUT_MS = 60_000

Measure = Literal["tanimoto", "dice", "tversky"]


@dataclass(frozen=True)
class Similarity:
    structure: dict[str, Any]
    threshold: float | None = None
    measure: Measure = "tanimoto"
    alpha: float = 1.0
    beta: float = 1.0


@dataclass(frozen=True)
class Substructure:
    structure: dict[str, Any]
    chirality: bool = False
    max_hits: int = DEFAULT_MAX_HITS
    timeout_ms: int = DEFAULT_TIMEOUT_MS


@dataclass(frozen=True)
class Exact:
    structure: dict[str, Any]
    connectivity: bool = False


@dataclass(frozen=True)
class Formula:
    formula: str
    allow_other_elements: bool = False


ChemicalQuery = Similarity | Substructure | Exact | Formula

_STRUCTURES: dict[str, tuple[str, ...]] = {
    "similarity": ("smiles", "molblock"),
    "substructure": ("smiles", "smarts", "molblock"),
    "exact": ("smiles", "molblock"),
    "formula": ("formula",),
}
_OPTIONS: dict[str, tuple[str, ...]] = {
    "similarity": ("threshold", "metric", "alpha", "beta"),
    "substructure": ("chirality", "max_hits", "timeout_ms"),
    "exact": ("connectivity",),
    "formula": ("allow_other_elements",),
}


def parse_chemical_query(mode: str | None, query: Mapping[str, Any]) -> ChemicalQuery:
    """The typed query of ``mode`` (inferred when None); InvalidInput naming the bad part."""
    mode = mode if mode is not None else _infer_mode(query)
    if mode not in MODES:
        raise InvalidInput("mode", f"must be one of {', '.join(MODES)} for chemical collections")
    for key in query:
        if key not in _STRUCTURES[mode] and key not in _OPTIONS[mode]:
            raise InvalidInput(f"query.{key}", _unknown_key(mode, key))
    structure = _structure(mode, query)
    if mode == "similarity":
        return _similarity(structure, query)
    if mode == "substructure":
        return Substructure(
            structure,
            chirality=_flag(query, "chirality"),
            max_hits=integer_option(query, "max_hits", DEFAULT_MAX_HITS, 1, MAX_HITS_LIMIT),
            timeout_ms=integer_option(query, "timeout_ms", DEFAULT_TIMEOUT_MS, 1, MAX_TIMEOUT_MS),
        )
    if mode == "exact":
        return Exact(structure, connectivity=_flag(query, "connectivity"))
    formula = structure["formula"]
    if not isinstance(formula, str):
        raise InvalidInput("query.formula", "must be a string such as C8H10N4O2 or C6-8H*O2")
    return Formula(formula, allow_other_elements=_flag(query, "allow_other_elements"))


def _infer_mode(query: Mapping[str, Any]) -> str:
    if "smarts" in query:
        return "substructure"
    if "formula" in query:
        return "formula"
    return "similarity"


def _structure(mode: str, query: Mapping[str, Any]) -> dict[str, Any]:
    keys = _STRUCTURES[mode]
    given = [key for key in keys if key in query]
    if len(given) != 1:
        raise InvalidInput("query", f"mode {mode} needs exactly one of {', '.join(keys)}")
    return {given[0]: query[given[0]]}


def _unknown_key(mode: str, key: str) -> str:
    for other, keys in _STRUCTURES.items():
        if key in keys:
            return f"a {key} query needs mode {other}, not {mode}"
    for other, keys in _OPTIONS.items():
        if key in keys:
            return f"is an option of mode {other}, not {mode}"
    allowed = (*_STRUCTURES[mode], *_OPTIONS[mode])
    return f"unknown key for mode {mode} (allowed: {', '.join(allowed)})"


def _similarity(structure: dict[str, Any], query: Mapping[str, Any]) -> Similarity:
    threshold = None
    if "threshold" in query:
        threshold = _number(query, "threshold", 0.0, 1.0)
    measure = query.get("metric", "tanimoto")
    if measure not in MEASURES:
        raise InvalidInput("query.metric", f"must be one of {', '.join(MEASURES)}")
    if measure != "tversky":
        for key in ("alpha", "beta"):
            if key in query:
                raise InvalidInput(f"query.{key}", "is a parameter of metric tversky only")
        return Similarity(structure, threshold, measure)
    for key in ("alpha", "beta"):
        if key not in query:
            raise InvalidInput(f"query.{key}", "metric tversky needs both alpha and beta")
    alpha = _number(query, "alpha", 0.0, 10.0)
    beta = _number(query, "beta", 0.0, 10.0)
    if alpha == 0 and beta == 0:
        raise InvalidInput("query.alpha", "alpha and beta cannot both be 0")
    return Similarity(structure, threshold, "tversky", alpha, beta)


def _number(query: Mapping[str, Any], key: str, low: float, high: float) -> float:
    value = query[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"query.{key}", f"must be a number from {low:g} to {high:g}")
    if not low <= value <= high:
        raise InvalidInput(f"query.{key}", f"must be from {low:g} to {high:g}, got {value:g}")
    return float(value)


def _flag(query: Mapping[str, Any], key: str) -> bool:
    value = query.get(key, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"query.{key}", "must be true or false")
    return value
