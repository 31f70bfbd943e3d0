"""A sharded index whose shards live in Ray actors on a cluster's nodes.

:class:`RayShardedIndex` keeps :class:`~ipsim.indexers.shards.ShardedIndex`'s contract and
label routing (shard ``i`` holds labels ``≡ i mod n``): writes go to the owning actors,
a search sends the query batch to every actor at once and merges their top-k with
:func:`ipsim.indexers.hits.merge`, so the answer equals the in-process one exactly.
Each actor holds an ordinary family index (:class:`ShardActor`).

Why the choices:

* The collection store stays in the server process and is the durable truth (WAL +
  snapshots). An actor's state is a cache of it: a dead actor is not restarted by Ray
  (``max_restarts=0``: Ray would rerun the constructor and serve an *empty* shard) but
  recreated here and refilled from the store's vectors for its labels, while writes are
  paused (:class:`~ipsim.indexers.shards.ShardSource`). Writes reach the store before the
  index, so a write the dead actor missed is in the refill.
* Meanwhile searches answer from the other shards and name the missing ones in
  ``SearchHits.missing_shards``; writes skip the dead shard (the refill holds them).
* Placement is explicit (node affinity), not Ray's ``SPREAD``: shards need almost no
  CPU reservation (``num_cpus=0`` by default), and Ray spreads zero-resource actors
  poorly. *Balanced* means: every eligible alive node (CPU > 0; GPU > 0 when shards use
  GPUs) holds ⌊n/m⌋ or ⌈n/m⌉ of an index's n shards. :func:`balance` reaches that with the
  fewest moves; a move copies the old actor's index to the new one node to node (the
  exact same structure: a trained IVF, an HNSW graph) while writes are paused.
* Snapshots are written in the ``sharded`` family's format, so a collection can be
  served with or without a cluster from the same files.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Self

import numpy as np
import ray
from ray.exceptions import GetTimeoutError, RayActorError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from ipsim.indexers import hits
from ipsim.indexers.base import Labels, SearchHits, Selection, VectorIndex, Vectors
from ipsim.indexers.index_file import IndexFile, PersistedIndex
from ipsim.indexers.live_labels import as_batch, as_queries, check_k
from ipsim.indexers.rwlock import ReadWriteLock
from ipsim.indexers.shards import ShardedIndex, ShardSource, route

log = logging.getLogger(__name__)

# Arguments larger than this go to the object store once, not once per actor.
_PUT_BYTES = 64 * 1024
# Searches one actor runs at once (FAISS releases the GIL); writes are exclusive.
_ACTOR_CONCURRENCY = 4


@dataclass(frozen=True)
class RayShardOptions:
    """How shard actors are placed and waited for."""

    search_timeout_s: float = 30.0
    """A shard that has not answered a search by then is reported missing."""
    cpus_per_shard: float = 0.0
    """CPUs each actor reserves (0: none, so shards never wait for free CPUs)."""
    gpus_per_shard: float = 0.0
    """GPUs each actor reserves; > 0 places shards on GPU nodes and searches there."""


class ShardActor:
    """One shard: an ordinary family index in a Ray actor process."""

    def __init__(self, file: IndexFile, device: str) -> None:
        # Imported here: the factory is heavy and this runs in the actor's process.
        from ipsim.indexers.factory import restore_index

        self._index = restore_index(file).to(device)
        self._rw = ReadWriteLock()

    def node(self) -> str:
        """The id of the Ray node this actor runs on."""
        return str(ray.get_runtime_context().get_node_id())

    def add(self, labels: Labels, vectors: Vectors) -> None:
        with self._rw.write():
            self._index.add(labels, vectors)

    def remove(self, labels: Labels) -> None:
        with self._rw.write():
            self._index.remove(labels)

    def search(
        self, queries: Vectors, k: int, allowed: Selection | None
    ) -> tuple[np.ndarray[Any, Any], Labels]:
        with self._rw.read():
            found = self._index.search(queries, k, allowed)
        return found.scores, found.labels

    def ntotal(self) -> int:
        return self._index.ntotal

    def describe(self) -> dict[str, object]:
        return self._index.describe()

    def dump(self) -> IndexFile:
        with self._rw.read():
            if not isinstance(self._index, PersistedIndex):
                raise TypeError(f"{type(self._index).__name__} cannot be saved")
            return self._index.dump()


_RemoteShard: Any = ray.remote(ShardActor)


@dataclass(frozen=True)
class _Member:
    """A live shard: its actor and the node it runs on."""

    actor: Any
    node: str


def eligible_nodes(*, gpus: bool = False) -> list[str]:
    """Ids of the alive nodes shards may go to (CPU > 0; GPU > 0 with ``gpus``), sorted."""
    resource = "GPU" if gpus else "CPU"
    state: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
    return sorted(
        str(node["NodeID"])
        for node in state
        if node.get("Alive") and float(node.get("Resources", {}).get(resource, 0)) > 0
    )


def balance(current: Sequence[str | None], nodes: Sequence[str]) -> list[str]:
    """A node per shard such that each node holds ⌊n/m⌋ or ⌈n/m⌉ shards, with fewest moves.

    ``current`` is each shard's node (None: down, or not placed yet). Nodes already
    holding the most shards get the ⌈n/m⌉ quotas, so the most shards stay where they are.
    """
    if not nodes:
        raise ValueError("no alive node can hold shards")
    base, extra = divmod(len(current), len(nodes))
    held = Counter(node for node in current if node in nodes)
    ranked = sorted(nodes, key=lambda node: (-held[node], node))
    quota = {node: base + (i < extra) for i, node in enumerate(ranked)}
    target: list[str | None] = [None] * len(current)
    for shard, node in enumerate(current):
        if node is not None and quota.get(node, 0) > 0:
            target[shard] = node
            quota[node] -= 1
    free = iter([node for node in ranked for _ in range(quota[node])])
    return [node if node is not None else next(free) for node in target]


class RayShardedIndex(PersistedIndex):
    """:class:`ShardedIndex` with each shard in a Ray actor; build with :meth:`place`."""

    family = ShardedIndex.family
    """Snapshots are ordinary sharded-index files (read back as a local ShardedIndex)."""

    def __init__(
        self,
        template: ShardedIndex,
        members: list[_Member],
        source: ShardSource,
        options: RayShardOptions,
    ) -> None:
        """Use :meth:`place`."""
        self.dim = template.dim
        self.metric = template.metric
        self._exact = template.exact
        self._description = template.describe()
        self._source = source
        self._options = options
        self._members: list[_Member | None] = list(members)
        self._lock = threading.Lock()  # guards _members and _pending
        self._maintenance = threading.Lock()  # one restart or move at a time
        self._pending: set[int] = set()
        self._restarts = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ipsim-ray-shard")
        self._closed = False

    @classmethod
    def place(
        cls, local: ShardedIndex, source: ShardSource, options: RayShardOptions | None = None
    ) -> Self:
        """Move ``local``'s shards into actors spread over the cluster's eligible nodes."""
        options = options or RayShardOptions()
        files = []
        for i, shard in enumerate(local.shards):
            if not isinstance(shard, PersistedIndex):
                raise TypeError(f"shard {i} ({type(shard).__name__}) cannot be shipped")
            files.append(shard.dump())
        nodes = eligible_nodes(gpus=options.gpus_per_shard > 0)
        targets = balance([None] * len(files), nodes)
        members = _spawn(list(zip(targets, files, strict=True)), options)
        log.info("placed %d shards on %d Ray nodes", len(members), len(set(targets)))
        return cls(local, members, source, options)

    # -- the VectorIndex contract -------------------------------------------------------

    @property
    def ntotal(self) -> int:
        """Live vectors over the shards that answer (a down shard counts 0)."""
        members = list(enumerate(self._members))
        return sum(self._count(i, m) or 0 for i, m in members if m is not None)

    @property
    def exact(self) -> bool:
        return self._exact

    def add(self, labels: Labels, vectors: Vectors) -> None:
        """Add each vector on its label's actor; all or nothing (a dead actor is skipped:
        its refill from the source holds these vectors)."""
        labels, vectors = as_batch(labels, vectors, self.dim)
        if labels.size and int(labels.min()) < 0:
            raise ValueError("labels must be non-negative (-1 marks a missing hit)")
        calls = []
        for shard, rows in enumerate(route(labels, len(self._members))):
            member = self._members[shard]
            if rows.size and member is not None:
                ref = member.actor.add.remote(labels[rows], vectors[rows])
                calls.append((shard, member, labels[rows], ref))
        done, failure = [], None
        for shard, member, part, ref in calls:
            try:
                ray.get(ref)
                done.append((member, part))
            except RayActorError:
                self._lose(shard, member)
            except Exception as exc:  # a refused batch (a duplicate label): undo the rest
                failure = failure or exc
        if failure is not None:
            ray.get([member.actor.remove.remote(part) for member, part in done])
            raise failure

    def remove(self, labels: Labels) -> None:
        """Remove each label on its actor; unknown labels are ignored."""
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        labels = labels[labels >= 0]
        calls = []
        for shard, rows in enumerate(route(labels, len(self._members))):
            member = self._members[shard]
            if rows.size and member is not None:
                calls.append((shard, member, member.actor.remove.remote(labels[rows])))
        for shard, member, ref in calls:
            try:
                ray.get(ref)
            except RayActorError:
                self._lose(shard, member)

    def search(self, queries: Vectors, k: int, allowed: Selection | None = None) -> SearchHits:
        """Every live actor's top-k for the whole batch, merged; dead or late shards are
        named in ``missing_shards`` (a dead one is restarted in the background)."""
        q = as_queries(queries, self.dim)
        k = check_k(k)
        members = list(self._members)
        q_arg = ray.put(q) if q.nbytes > _PUT_BYTES else q
        sel_arg = (
            ray.put(allowed)
            if allowed is not None and allowed.bits.nbytes > _PUT_BYTES
            else allowed
        )
        refs = [m.actor.search.remote(q_arg, k, sel_arg) if m else None for m in members]
        parts, missing = [], []
        deadline = time.monotonic() + self._options.search_timeout_s
        for shard, (member, ref) in enumerate(zip(members, refs, strict=True)):
            answer = None
            if member is not None and ref is not None:
                answer = self._answer(shard, member, ref, deadline, (q_arg, k, sel_arg))
            if answer is None:
                missing.append(shard)
            else:
                parts.append(SearchHits(*answer))
        merged = hits.merge(parts, k) if parts else hits.empty_hits(q.shape[0], k)
        return replace(merged, missing_shards=tuple(missing))

    def _answer(
        self, shard: int, member: _Member, ref: Any, deadline: float, args: tuple[Any, ...]
    ) -> tuple[np.ndarray[Any, Any], Labels] | None:
        """One shard's answer, or None when it is dead or late."""
        try:
            result: tuple[np.ndarray[Any, Any], Labels] = ray.get(
                ref, timeout=max(0.0, deadline - time.monotonic())
            )
            return result
        except GetTimeoutError:
            log.warning("shard %d did not answer within %ss", shard, self._options.search_timeout_s)
            return None
        except RayActorError:
            current = self._members[shard]
            if current is not None and current is not member:
                # Moved meanwhile (a rebalance): ask the new actor once.
                return self._answer(
                    shard, current, current.actor.search.remote(*args), deadline, args
                )
            self._lose(shard, member)
            return None

    def to(self, device: str) -> Self:
        """Itself: each actor's device is chosen at placement (``gpus_per_shard``)."""
        return self

    def describe(self) -> dict[str, object]:
        """The shards' family and parameters, ``shards``, and where they run."""
        members = list(self._members)
        return {
            **self._description,
            "shards": len(members),
            "ray": {
                "nodes": [m.node if m else None for m in members],
                "missing": [i for i, m in enumerate(members) if m is None],
            },
        }

    def dump(self) -> IndexFile:
        """Each actor's file nested as :class:`ShardedIndex` nests them (a down shard is
        restarted first, so a snapshot is always complete)."""
        for shard in self.missing():
            self.restart(shard)
        refs = [m.actor.dump.remote() for m in self._live()]
        files: list[IndexFile] = ray.get(refs)
        arrays = {f"shard_{i}": f.to_array() for i, f in enumerate(files)}
        return IndexFile(family=self.family, meta={"shards": len(files)}, arrays=arrays)

    @classmethod
    def restore(cls, file: IndexFile) -> Self:
        raise TypeError("restore a ShardedIndex from the file, then place() it on the cluster")

    def close(self) -> None:
        """Stop restarting shards and end the actors."""
        with self._lock:
            self._closed = True
            members, self._members = self._members, [None] * len(self._members)
        self._restarts.shutdown(wait=True, cancel_futures=True)
        for member in members:
            if member is not None:
                ray.kill(member.actor)

    # -- failures, restarts, moves -----------------------------------------------------

    def missing(self) -> list[int]:
        """Shards without a live actor right now."""
        return [i for i, m in enumerate(self._members) if m is None]

    def actors(self) -> list[Any]:
        """Each shard's actor handle (None: down), for operators and tests."""
        return [m.actor if m else None for m in self._members]

    def nodes(self) -> list[str | None]:
        """Each shard's node (None: down)."""
        return [m.node if m else None for m in self._members]

    def _live(self) -> list[_Member]:
        return [m for m in self._members if m is not None]

    def _count(self, shard: int, member: _Member) -> int | None:
        """The actor's vector count; None when it is late, or dead (then it is restarted)."""
        try:
            count: int = ray.get(
                member.actor.ntotal.remote(), timeout=self._options.search_timeout_s
            )
            return count
        except RayActorError:
            self._lose(shard, member)
        except GetTimeoutError:
            pass  # slow, not dead: searches report it missing meanwhile
        return None

    def _lose(self, shard: int, member: _Member) -> None:
        """Mark ``member`` dead (if it still is the shard's) and restart it in the background."""
        with self._lock:
            if self._closed or self._members[shard] is not member:
                return
            self._members[shard] = None
            log.warning("shard %d's actor on node %s died; restarting it", shard, member.node)
            if shard in self._pending:
                return
            self._pending.add(shard)
        self._restarts.submit(self._restart_logged, shard)

    def _restart_logged(self, shard: int) -> None:
        try:
            self.restart(shard)
        except Exception:
            log.exception("restarting shard %d failed; the next check retries", shard)
        finally:
            with self._lock:
                self._pending.discard(shard)

    def restart(self, shard: int) -> bool:
        """Recreate a down shard's actor and refill it from the source; False if it was up.

        Writes are paused from reading the source to installing the actor, so the new
        actor holds exactly the source's labels for this shard.
        """
        with self._maintenance, self._source.writes_paused():
            if self._closed or self._members[shard] is not None:
                return False
            labels, vectors = self._source.shard_vectors(shard, len(self._members))
            blank = self._source.blank_shard()
            if not isinstance(blank, PersistedIndex):
                raise TypeError(f"{type(blank).__name__} cannot be shipped")
            node = balance(self.nodes(), self._eligible())[shard]
            (member,) = _spawn([(node, blank.dump())], self._options)
            if labels.size:
                ray.get(member.actor.add.remote(labels, vectors))
            with self._lock:
                self._members[shard] = member
        log.info("shard %d restarted on node %s with %d vectors", shard, member.node, labels.size)
        return True

    def heal(self) -> list[int]:
        """Check every actor; restart the dead ones now. Returns the shards restarted."""
        for shard, member in list(enumerate(self._members)):
            if member is not None:
                self._count(shard, member)
        return [shard for shard in self.missing() if self.restart(shard)]

    def rebalance(self, nodes: Sequence[str] | None = None) -> int:
        """Move actors so shards are balanced over ``nodes`` (default: the eligible alive
        nodes); returns how many moved. A move copies the index node to node."""
        with self._maintenance:
            eligible = list(nodes) if nodes is not None else self._eligible()
            current = self.nodes()
            target = balance(current, eligible)
            moves = [i for i, node in enumerate(current) if node is not None and node != target[i]]
            if not moves:
                return 0
            with self._source.writes_paused():
                old = [m for m in (self._members[i] for i in moves) if m is not None]
                plan = [(target[i], m.actor.dump.remote()) for i, m in zip(moves, old, strict=True)]
                new = _spawn(plan, self._options)
                with self._lock:
                    for shard, member in zip(moves, new, strict=True):
                        self._members[shard] = member
            for member in old:
                member.actor.__ray_terminate__.remote()  # after its queued calls
        log.info("rebalanced: moved shards %s", moves)
        return len(moves)

    def _eligible(self) -> list[str]:
        return eligible_nodes(gpus=self._options.gpus_per_shard > 0)


def _spawn(plan: Sequence[tuple[str, Any]], options: RayShardOptions) -> list[_Member]:
    """Start one actor per (node, index file or its ObjectRef) at once; wait until all run."""
    device = "cuda" if options.gpus_per_shard > 0 else "cpu"
    actors = [
        _RemoteShard.options(
            num_cpus=options.cpus_per_shard,
            num_gpus=options.gpus_per_shard,
            max_restarts=0,
            max_concurrency=_ACTOR_CONCURRENCY,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False),
            name=f"ipsim-shard-{uuid.uuid4().hex[:12]}",  # named: `ray list actors` shows them
        ).remote(file, device)
        for node, file in plan
    ]
    nodes = ray.get([actor.node.remote() for actor in actors])
    return [_Member(actor, node) for actor, node in zip(actors, nodes, strict=True)]


class ArraySource:
    """A :class:`ShardSource` over arrays, for callers without a collection store (tests,
    benchmarks): call :meth:`add`/:meth:`remove` instead of the index's own."""

    def __init__(self, blank: PersistedIndex) -> None:
        self._blank = blank.dump()
        self._vectors: dict[int, Vectors] = {}
        self._rw = ReadWriteLock()

    def blank_shard(self) -> VectorIndex:
        from ipsim.indexers.factory import restore_index

        return restore_index(self._blank)

    @contextmanager
    def writes_paused(self) -> Iterator[None]:
        with self._rw.read():
            yield

    def shard_vectors(self, shard: int, shards: int) -> tuple[Labels, Vectors]:
        labels = np.array(sorted(x for x in self._vectors if x % shards == shard), dtype=np.int64)
        vectors = np.array([self._vectors[int(x)] for x in labels], dtype=np.float32)
        return labels, vectors.reshape(labels.size, -1)

    def add(self, index: VectorIndex, labels: Labels, vectors: Vectors) -> None:
        """Record, then add to ``index`` (the order a store keeps), with writes exclusive."""
        rows = np.array(vectors, dtype=np.float32)  # a copy: the caller may reuse its array
        with self._rw.write():
            self._vectors.update(zip(labels.tolist(), rows, strict=True))
            index.add(labels, rows)

    def remove(self, index: VectorIndex, labels: Labels) -> None:
        with self._rw.write():
            for label in labels.tolist():
                self._vectors.pop(label, None)
            index.remove(labels)
