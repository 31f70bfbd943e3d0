"""Biological sequences as documents: validation, derived fields and a k-mer profile vector.

A sequence document or query is ``{"sequence": str, "type"?: "protein"|"dna"|"rna"}``.
The residues are checked against the IUPAC alphabet of their type
(:func:`ipsim.models.sequence_formats.check_residues`); without ``type`` the type is
guessed from the residues. Documents and queries must be as long as WIPO ST.26 requires
of a listed sequence (10 nucleotides, 4 amino acids).

Search does not rank by this encoder's vector: a sequence collection proposes candidates
from a k-mer index and ranks them by Smith–Waterman (:mod:`ipsim.engine.sequence`). The
vector is a hashed k-mer profile (square-rooted counts, unit length), what the store keeps
for every document: an alignment-free similarity, cheap to compute and to compare.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ipsim.models.base import InvalidContent, Prepared, Purpose, Span
from ipsim.models.sequence_formats import MoleculeType, check_residues, guess_type

DEFAULT_SEQUENCE_MODEL = "smith-waterman"
TYPES: dict[str, MoleculeType] = {"protein": "AA", "dna": "DNA", "rna": "RNA"}
"""The query/document ``type`` → the ST.26 molecule type."""
NAMES: dict[MoleculeType, str] = {moltype: name for name, moltype in TYPES.items()}
MAX_LENGTH = 1_000_000
PROFILE_DIM = 256
PROFILE_K: dict[MoleculeType, int] = {"AA": 2, "DNA": 4, "RNA": 4}
CONTENT_KEYS = ("sequence", "type")


@dataclass(frozen=True)
class SequenceUnit:
    """One checked sequence: upper-case residues (U kept for RNA) and its molecule type."""

    residues: str
    moltype: MoleculeType

    @property
    def nucleotide(self) -> bool:
        return self.moltype != "AA"

    @property
    def fields(self) -> dict[str, Any]:
        """The derived fields every stored sequence gets."""
        return {"moltype": NAMES[self.moltype], "length": len(self.residues)}


def read_sequence(content: Mapping[str, Any], purpose: Purpose) -> SequenceUnit:
    """Validate ``{"sequence", "type"?}``; raise :class:`InvalidContent` naming the key."""
    if not isinstance(content, Mapping):
        raise InvalidContent("content", 'must be an object like {"sequence": "MKV..."}')
    unknown = sorted(str(key) for key in content if key not in CONTENT_KEYS)
    if unknown:
        raise InvalidContent(unknown[0], f"unknown key (expected {', '.join(CONTENT_KEYS)})")
    text = content.get("sequence")
    if not isinstance(text, str):
        raise InvalidContent("sequence", "is required and must be a string")
    if len(text) > 2 * MAX_LENGTH:  # before any work on it (whitespace counts double at most)
        raise InvalidContent("sequence", f"is longer than {MAX_LENGTH} residues")
    moltype = _moltype(content.get("type"), text)
    residues = check_residues(text, moltype, f"the {purpose}")
    if len(residues) > MAX_LENGTH:
        raise InvalidContent("sequence", f"is longer than {MAX_LENGTH} residues")
    return SequenceUnit(residues, moltype)


def _moltype(kind: object, text: str) -> MoleculeType:
    if kind is None:
        return guess_type(text)
    if not isinstance(kind, str) or kind.lower() not in TYPES:
        raise InvalidContent("type", f"must be one of {', '.join(TYPES)}")
    return TYPES[kind.lower()]


def kmer_profile(unit: SequenceUnit, dim: int = PROFILE_DIM) -> npt.NDArray[np.float32]:
    """Hashed k-mer counts, square-rooted, unit length (nucleotides: both strands)."""
    k = PROFILE_K[unit.moltype]
    residues = unit.residues.replace("U", "T") if unit.nucleotide else unit.residues
    strands = [residues]
    if unit.nucleotide:
        from ipsim.models.alignment import reverse_complement

        strands.append(reverse_complement(residues))
    counts = np.zeros(dim, dtype=np.float64)
    for strand in strands:
        codes = np.frombuffer(strand.encode("ascii"), dtype=np.uint8).astype(np.int64)
        if len(codes) < k:
            continue
        window = np.lib.stride_tricks.sliding_window_view(codes, k)
        hashed = (window * (31 ** np.arange(k))).sum(axis=1) % dim
        counts += np.bincount(hashed, minlength=dim)
    profile = np.sqrt(counts)
    norm = np.linalg.norm(profile)
    return (profile / norm if norm > 0 else profile).astype(np.float32)


class SequenceEncoder:
    """Checks sequences and gives each a k-mer profile vector (CPU)."""

    modality = "sequence"
    metric: Literal["ip", "l2", "tanimoto"] = "ip"
    device = "cpu"
    dim = PROFILE_DIM

    def __init__(self, name: str = DEFAULT_SEQUENCE_MODEL) -> None:
        self.name = name

    def preprocess(self, content: Mapping[str, Any], purpose: Purpose) -> Prepared[SequenceUnit]:
        unit = read_sequence(content, purpose)
        return Prepared(units=[unit], spans=[Span(0, len(unit.residues))])

    def encode(self, units: Sequence[SequenceUnit]) -> npt.NDArray[np.float32]:
        return np.stack([kmer_profile(unit) for unit in units])
