"""The Encoder seam: raw modality content → vectors.

``preprocess`` runs on the CPU (validation, parsing, chunking) and may run in a worker
pool; ``encode`` runs a batch on the encoder's device. The dynamic batcher, not the
encoder, decides batch sizes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

Purpose = Literal["document", "query"]
ItemT = TypeVar("ItemT")


class InvalidContent(ValueError):
    """Content that cannot be encoded; ``field`` names the key (``text``, ``image_b64``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Span:
    """Where a unit came from in the original content (character offsets for text)."""

    start: int
    end: int


@dataclass(frozen=True)
class Prepared(Generic[ItemT]):
    """The encodable units of one piece of content (several chunks for a long text)."""

    units: list[ItemT]
    spans: list[Span] = field(default_factory=list)


@runtime_checkable
class Encoder(Protocol[ItemT]):
    """Turns one modality's content into fixed-size vectors."""

    name: str
    modality: str
    dim: int
    metric: Literal["ip", "l2", "tanimoto"]
    """``tanimoto``: the rows are packed bits (fingerprints) in :mod:`ipsim.bitwords` form."""
    device: str

    def preprocess(self, content: Mapping[str, Any], purpose: Purpose) -> Prepared[ItemT]:
        """Validate and split content into units; raise :class:`InvalidContent`."""
        ...

    def encode(self, units: Sequence[ItemT]) -> npt.NDArray[np.float32]:
        """Encode a batch of units to a ``(len(units), dim)`` float32 array."""
        ...


def pooled(rows: Sequence[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
    """One vector for an item encoded as several units (a long text's chunks): the
    normalised mean of their rows; a single row is returned as it is."""
    if len(rows) == 1:
        return rows[0]
    mean = np.mean(np.stack(rows), axis=0)
    norm = float(np.linalg.norm(mean)) or 1.0
    out: npt.NDArray[np.float32] = (mean / norm).astype(np.float32)
    return out
