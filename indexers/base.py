"""The Index seam: every vector index family implements :class:`VectorIndex`.

Labels are int64 ids chosen by the caller (the collection store hands them out,
monotonically). Scores are "higher is more similar" for every metric, so results of
different families and shards merge by one rule.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

Metric = Literal["ip", "l2", "tanimoto"]
"""``ip``: inner product (cosine on normalised vectors). ``l2``: score is minus squared L2.
``tanimoto``: rows are packed bit strings (:mod:`ipsim.bitwords`), scored by Tanimoto."""

Labels = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Selection:
    """The labels a search may return: a little-endian bitmap over ``[0, size)``.

    The bitmap layout is the one ``faiss.IDSelectorBitmap`` reads
    (bit ``i`` is ``bits[i >> 3] >> (i & 7) & 1``), so it is handed to FAISS as is.
    """

    bits: npt.NDArray[np.uint8]
    size: int
    count: int

    @classmethod
    def from_mask(cls, mask: npt.NDArray[np.bool_]) -> Selection:
        """Build from a boolean mask indexed by label."""
        return cls(
            bits=np.packbits(mask, bitorder="little"), size=int(mask.size), count=int(mask.sum())
        )

    @classmethod
    def from_labels(cls, labels: Labels, size: int) -> Selection:
        mask = np.zeros(size, dtype=bool)
        mask[labels] = True
        return cls.from_mask(mask)

    def contains(self, labels: Labels) -> npt.NDArray[np.bool_]:
        """Vectorised membership test (labels outside ``[0, size)`` are not selected)."""
        labels = np.asarray(labels, dtype=np.int64)
        inside = (labels >= 0) & (labels < self.size)
        out = np.zeros(labels.shape, dtype=bool)
        idx = labels[inside]
        out[inside] = (self.bits[idx >> 3] >> (idx & 7)) & 1 == 1
        return out


@dataclass(frozen=True)
class SearchHits:
    """Per query row: ``scores[i]`` descending, ``labels[i]`` with -1 where fewer than k exist."""

    scores: npt.NDArray[np.float32]
    labels: Labels
    missing_shards: tuple[int, ...] = ()
    """Shards that did not answer (a remote shard being restarted): the hits are the best
    of the others, so a document held by a missing shard may be absent."""


class VectorIndex(ABC):
    """One family of vector index (flat, IVF, HNSW, IVF-PQ, binary, …).

    Implementations are not thread-safe for concurrent writes; the store serialises
    writes and may run searches concurrently with each other.
    """

    dim: int
    metric: Metric

    @property
    @abstractmethod
    def ntotal(self) -> int:
        """Number of live (not removed) vectors."""

    @abstractmethod
    def add(self, labels: Labels, vectors: Vectors) -> None:
        """Add vectors under caller-chosen labels (labels are new: the store never reuses one)."""

    @abstractmethod
    def remove(self, labels: Labels) -> None:
        """Forget these labels; unknown labels are ignored."""

    @abstractmethod
    def search(self, queries: Vectors, k: int, allowed: Selection | None = None) -> SearchHits:
        """Top-k per query among live labels, restricted to ``allowed`` when given.

        Filtering happens inside the search (FAISS ``IDSelector``), so a selective
        ``allowed`` still yields k hits when k allowed vectors exist.
        """

    @abstractmethod
    def save(self, path: Path) -> None:
        """Write the index to ``path`` (a file the caller renames into place)."""

    @classmethod
    @abstractmethod
    def load(cls, path: Path) -> VectorIndex:
        """Read an index written by :meth:`save`."""

    @abstractmethod
    def to(self, device: str) -> VectorIndex:
        """This index on ``cpu`` or ``cuda[:N]`` (itself when already there or unsupported)."""

    @property
    def exact(self) -> bool:
        """Whether search returns the true top-k (flat) rather than an approximation."""
        return False

    def describe(self) -> dict[str, object]:
        """Family and parameters, for collection info."""
        return {"type": type(self).__name__}

    def close(self) -> None:
        """Release what the index holds outside this process (remote shards); else nothing."""
        return None


def parse_device(device: str) -> int | None:
    """``"cpu"`` → None, ``"cuda"`` → 0, ``"cuda:N"`` → N; ValueError otherwise."""
    if device == "cpu":
        return None
    if device == "cuda":
        return 0
    prefix, _, number = device.partition(":")
    if prefix == "cuda" and number.isdigit():
        return int(number)
    raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
