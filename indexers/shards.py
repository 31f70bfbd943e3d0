"""Sharding as a wrapper: labels route to shard ``label % n``; searches fan out and merge.

Shards share the global label space, so one :class:`Selection` filters every shard.
Shard searches run concurrently in a thread pool (FAISS releases the GIL while it
searches) and merge per query by score descending, then label ascending.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Protocol, Self

import numpy as np

from ipsim.indexers import hits
from ipsim.indexers.base import Labels, SearchHits, Selection, VectorIndex, Vectors
from ipsim.indexers.gpu import gpu_count
from ipsim.indexers.index_file import IndexFile, PersistedIndex
from ipsim.indexers.live_labels import as_batch, as_queries, check_k


def route(labels: Labels, shards: int) -> list[np.ndarray]:
    """Per shard, the positions in ``labels`` it owns (shard ``i`` owns labels ``≡ i mod n``)."""
    owner = labels % shards
    return [np.flatnonzero(owner == i) for i in range(shards)]


class ShardSource(Protocol):
    """The durable truth a remote shard is rebuilt from (the collection store).

    A write reaches the source before the index, so a shard refilled from the source
    while writes are paused holds every write, including one its dead actor missed.
    """

    def blank_shard(self) -> VectorIndex:
        """A new, empty index of the collection's family (one shard)."""

    def writes_paused(self) -> AbstractContextManager[None]:
        """While held, no write reaches the index (searches go on)."""

    def shard_vectors(self, shard: int, shards: int) -> tuple[Labels, Vectors]:
        """The live labels ``≡ shard mod shards`` and their vectors (writes paused)."""


ShardPlacer = Callable[["ShardedIndex", ShardSource], VectorIndex]
"""Places a sharded index's shards elsewhere (Ray actors) and returns the index to use."""


class ShardedIndex(PersistedIndex):
    """Several indexes of one family behaving as one; shard ``i`` holds labels ``≡ i mod n``."""

    family = "sharded"

    def __init__(self, shards: list[VectorIndex]) -> None:
        if not shards:
            raise ValueError("a sharded index needs at least one shard")
        first = shards[0]
        for shard in shards[1:]:
            if shard.dim != first.dim or shard.metric != first.metric:
                raise ValueError("shards must share dim and metric")
        self.dim = first.dim
        self.metric = first.metric
        self.shards = list(shards)
        self._pool = ThreadPoolExecutor(
            max_workers=len(self.shards), thread_name_prefix="ipsim-shard"
        )

    @property
    def ntotal(self) -> int:
        """Live vectors over all shards."""
        return sum(shard.ntotal for shard in self.shards)

    @property
    def exact(self) -> bool:
        """Exact when every shard is."""
        return all(shard.exact for shard in self.shards)

    def _route(self, labels: Labels) -> list[np.ndarray]:
        """Per shard, the positions in ``labels`` it owns."""
        return route(labels, len(self.shards))

    def add(self, labels: Labels, vectors: Vectors) -> None:
        """Add each vector to its label's shard; all or nothing."""
        labels, vectors = as_batch(labels, vectors, self.dim)
        if labels.size and int(labels.min()) < 0:
            raise ValueError("labels must be non-negative (-1 marks a missing hit)")
        done: list[tuple[VectorIndex, Labels]] = []
        try:
            for shard, rows in zip(self.shards, self._route(labels), strict=True):
                if rows.size:
                    shard.add(labels[rows], vectors[rows])
                    done.append((shard, labels[rows]))
        except Exception:
            # A later shard refused (a duplicate label): undo the earlier shards' part.
            for shard, added in done:
                shard.remove(added)
            raise

    def remove(self, labels: Labels) -> None:
        """Remove each label from its shard; unknown labels are ignored."""
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        labels = labels[labels >= 0]
        for shard, rows in zip(self.shards, self._route(labels), strict=True):
            if rows.size:
                shard.remove(labels[rows])

    def search(self, queries: Vectors, k: int, allowed: Selection | None = None) -> SearchHits:
        """Top-k over all shards: each shard's top-k, merged."""
        q = as_queries(queries, self.dim)
        k = check_k(k)
        if len(self.shards) == 1:
            return self.shards[0].search(q, k, allowed)
        futures = [self._pool.submit(shard.search, q, k, allowed) for shard in self.shards]
        return hits.merge([f.result() for f in futures], k)

    def to(self, device: str) -> Self:
        """Move every shard; plain ``cuda`` spreads shards round-robin over all GPUs."""
        gpus = gpu_count()
        spread = device == "cuda" and gpus > 1
        for i, shard in enumerate(self.shards):
            self.shards[i] = shard.to(f"cuda:{i % gpus}" if spread else device)
        return self

    def describe(self) -> dict[str, object]:
        """The shards' family and parameters, plus ``shards`` (their count)."""
        return {**self.shards[0].describe(), "shards": len(self.shards)}

    def dump(self) -> IndexFile:
        """Each shard's file, nested."""
        arrays = {}
        for i, shard in enumerate(self.shards):
            if not isinstance(shard, PersistedIndex):
                raise TypeError(f"shard {i} ({type(shard).__name__}) cannot be saved")
            arrays[f"shard_{i}"] = shard.dump().to_array()
        return IndexFile(family=self.family, meta={"shards": len(self.shards)}, arrays=arrays)

    @classmethod
    def restore(cls, file: IndexFile) -> Self:
        """Rebuild each shard with the factory's family dispatch."""
        # Imported here: the factory imports this module to build sharded indexes.
        from ipsim.indexers.factory import restore_index

        n = int(file.meta["shards"])
        return cls(
            [restore_index(IndexFile.from_array(file.arrays[f"shard_{i}"])) for i in range(n)]
        )
