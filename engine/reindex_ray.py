"""Re-indexing on a Ray cluster: a job's documents encoded by a pool of encoder actors.

:class:`RayEncoding` is a :data:`~ipsim.engine.reindex.CopyDocuments` strategy. A job started
with ``ray`` (``ipsim reindex NAME --ray ADDRESS``) opens one for its target version; each
batch of the copy then goes through the target's own ``upsert`` (validation, derived
fields, the WAL write, side indexes: checkpoints and durability stay as they are), except
that the units are encoded by the actors instead of the server's shared batcher.

Why the choices:

* **Preprocessing stays in the server.** ``preprocess`` derives the fields stored with a
  document (a molecule's descriptors, a mesh's digest and its preview files) and the spans
  of a text's chunks, all needed where the store is; shipping them back from the actors
  would duplicate the collection's upsert. The model's forward pass, the costly part, is
  what the actors run; they receive the units (text chunks, rendered image tensors).
* **Actors, not tasks**: each actor loads the target's encoder once, from its modality and
  model name (:func:`ipsim.models.registry.load_encoder`, as the engine builds it), and
  encodes many batches. There is one actor per ``cpus_per_actor`` CPUs of each alive node
  (placed softly on that node, so a busy node's share starts elsewhere); actors that cannot
  start within ``start_timeout_s`` are dropped, and none starting fails the job, so a
  cluster without free CPUs is an error, not a hang. A batch is cut into one contiguous
  slice per actor and the slices' rows are joined in order.
* **The target's batcher is swapped for the copy call only.** The target version is not
  served while the job copies into it (it is not registered yet), and the swap is undone
  before the call returns, so after the switch the version encodes through the engine's
  shared batcher again. The pool's own :class:`~ipsim.engine.batcher.DynamicBatcher` takes
  a whole copy batch at once (the quarter-batch rule of the in-process copy exists to let
  queries share the server's batcher; the actors serve no queries).
* **One connection per process**: a server already in cluster mode encodes on its own
  cluster (another address is refused: a process talks to one Ray cluster); otherwise the
  job connects through :class:`~ipsim.engine.ray_cluster.RayCluster` (an unreachable
  address fails in seconds with a clear message) and the last job using the connection
  closes it.

Vectors equal the in-process ones up to float rounding of a different batch composition
(the test holds them to 1e-5).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from ipsim.engine.batcher import DynamicBatcher
from ipsim.engine.errors import NotReady
from ipsim.engine.ray_cluster import RayCluster, RayClusterError, _check_reachable
from ipsim.engine.types import Document
from ipsim.models.base import Encoder

if TYPE_CHECKING:
    from ipsim.engine.collection import Collection
    from ipsim.engine.engine import Engine

log = logging.getLogger(__name__)

Vector = npt.NDArray[np.float32]
Release = Callable[[], None]
"""Ends one job's use of the process's cluster connection."""


@dataclass(frozen=True)
class RayEncodingOptions:
    """How the encoder actors are sized, placed and waited for."""

    cpus_per_actor: float = 1.0
    """CPUs each actor reserves; a node gets one actor per this many of its CPUs."""
    gpus_per_actor: float = 0.0
    """GPUs each actor reserves (> 0: actors encode on CUDA, on GPU nodes only)."""
    max_actors: int = 64
    start_timeout_s: float = 180.0
    """Actors not running by then (no free resources, a failing model load) are dropped."""
    batch_timeout_s: float = 600.0
    """A copy batch the actors have not encoded by then fails the job."""


@dataclass(frozen=True)
class EncoderRecipe:
    """What an actor needs to build the target's encoder in its own process."""

    modality: str
    model: str
    chunk_tokens: int
    chunk_overlap: int
    batch_size: int
    """Units per ``encode`` call inside an actor (the server's ``max_batch_size``)."""
    triton_url: str | None = None
    triton_model: str | None = None

    @classmethod
    def of(cls, engine: Engine, target: Collection) -> EncoderRecipe:
        """The target's encoder as the engine built it (a remote encoder stays remote)."""
        from ipsim.models.triton_backend import RemoteTextEncoder
        from ipsim.models.triton_image import RemoteImageEncoder

        encoder = target.encoder
        url = model = None
        if isinstance(encoder, RemoteTextEncoder | RemoteImageEncoder):
            url, model = str(encoder.client.url), encoder.remote_model
        return cls(
            modality=target.modality,
            model=encoder.name,
            chunk_tokens=engine.options.chunk_tokens,
            chunk_overlap=engine.options.chunk_overlap,
            batch_size=engine.options.max_batch_size,
            triton_url=url,
            triton_model=model,
        )

    def build(self, device: str) -> Encoder[Any]:
        from ipsim.models.registry import load_encoder

        return load_encoder(
            self.modality,
            self.model,
            device=device,
            chunk_tokens=self.chunk_tokens,
            chunk_overlap=self.chunk_overlap,
            triton_url=self.triton_url,
            triton_model=self.triton_model,
        )


class EncoderActor:
    """One encoder in a Ray actor process, loaded once."""

    def __init__(self, recipe: EncoderRecipe, device: str) -> None:
        self._encoder = recipe.build(device)
        self._batch = max(1, recipe.batch_size)

    def node(self) -> str:
        """The id of the Ray node this actor runs on (answers once the model is loaded)."""
        return str(ray.get_runtime_context().get_node_id())

    def encode(self, units: list[Any]) -> npt.NDArray[Any]:
        """``(len(units), dim)`` rows, encoded ``batch_size`` units at a time."""
        parts = [
            self._encoder.encode(units[i : i + self._batch])
            for i in range(0, len(units), self._batch)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, self._encoder.dim), np.float32)


_RemoteEncoder: Any = ray.remote(EncoderActor)


class RayEncoding:
    """A pool of encoder actors for one job's target; use :meth:`open`, then :meth:`close`."""

    def __init__(
        self, actors: list[Any], release: Release, options: RayEncodingOptions, name: str
    ) -> None:
        """Use :meth:`open`."""
        self._actors = actors
        self._release = release
        self._options = options
        self.batcher: DynamicBatcher[Any, Vector] = DynamicBatcher(
            f"ray-{name}",
            self._encode_rows,
            max_batch_size=1 << 16,
            max_delay_ms=0,
            max_queue=1 << 20,
        )

    @classmethod
    async def open(
        cls,
        address: str,
        engine: Engine,
        target: Collection,
        options: RayEncodingOptions | None = None,
    ) -> RayEncoding:
        """Connect to ``address`` and start the actors (``RayClusterError`` when the cluster
        cannot be reached or no actor starts)."""
        options = options or RayEncodingOptions()
        recipe = EncoderRecipe.of(engine, target)
        release = await asyncio.to_thread(_connect, address, engine.cluster)
        try:
            actors = await asyncio.to_thread(_start_actors, recipe, options)
        except BaseException:
            await asyncio.to_thread(release)
            raise
        log.info("re-indexing %s on %d Ray encoder actors at %s", target.name, len(actors), address)
        return cls(actors, release, options, target.name)

    @property
    def size(self) -> int:
        """How many actors encode."""
        return len(self._actors)

    async def copy(self, target: Collection, documents: Sequence[Document]) -> int:
        """The :data:`~ipsim.engine.reindex.CopyDocuments` strategy: the target's upsert,
        its units encoded by the actors."""
        shared = target.batcher
        target.batcher = self.batcher
        try:
            return await target.upsert(documents)
        finally:
            target.batcher = shared

    def encode(self, units: Sequence[Any]) -> npt.NDArray[Any]:
        """Rows for ``units``: one contiguous slice per actor, joined in order."""
        size = math.ceil(len(units) / len(self._actors))
        slices = [list(units[i : i + size]) for i in range(0, len(units), size)]
        # As many slices as actors, or fewer for a batch smaller than the pool.
        pairs = zip(self._actors[: len(slices)], slices, strict=True)
        refs = [actor.encode.remote(part) for actor, part in pairs]
        try:
            parts: list[npt.NDArray[Any]] = ray.get(refs, timeout=self._options.batch_timeout_s)
        except GetTimeoutError as exc:
            raise NotReady(
                f"the Ray encoder actors did not encode a batch within "
                f"{self._options.batch_timeout_s:.0f} s"
            ) from exc
        except RayActorError as exc:
            raise NotReady(f"a Ray encoder actor died: {exc}") from exc
        except RayTaskError as exc:  # the encoder refused the units: its own error, as such
            raise exc.as_instanceof_cause() from None  # type: ignore[no-untyped-call]
        return np.concatenate(parts)

    def _encode_rows(self, units: Sequence[Any]) -> list[Vector]:
        return list(self.encode(units))

    async def close(self) -> None:
        """Stop the batcher, end the actors and release the connection."""
        await self.batcher.stop()
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
        await asyncio.to_thread(self._release)


def _start_actors(recipe: EncoderRecipe, options: RayEncodingOptions) -> list[Any]:
    """Start the actors and wait for those that can start; RayClusterError when none can."""
    device = "cuda" if options.gpus_per_actor > 0 else "cpu"
    actors = [
        _RemoteEncoder.options(
            num_cpus=options.cpus_per_actor,
            num_gpus=options.gpus_per_actor,
            max_restarts=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=True),
            name=f"ipsim-encoder-{uuid.uuid4().hex[:12]}",  # named: `ray list actors` shows them
        ).remote(recipe, device)
        for node in actor_nodes(options)
    ]
    if not actors:
        resource = "GPUs" if options.gpus_per_actor > 0 else "CPUs"
        raise RayClusterError(f"no alive Ray node has {resource} for an encoder actor")
    pending = {actor.node.remote(): actor for actor in actors}
    done, late = ray.wait(list(pending), num_returns=len(pending), timeout=options.start_timeout_s)
    started = []
    for ref in done:
        try:
            ray.get(ref)
            started.append(pending[ref])
        except (RayActorError, RayTaskError) as exc:
            log.warning("an encoder actor failed to start: %s", exc)
    for ref in late:
        ray.kill(pending[ref])
    if not started:
        for actor in actors:
            ray.kill(actor)
        raise RayClusterError(
            f"no encoder actor for {recipe.modality} model {recipe.model!r} started on the Ray"
            f" cluster within {options.start_timeout_s:.0f} s"
        )
    if late:
        log.warning("%d encoder actors did not start in time; encoding without them", len(late))
    return started


def actor_nodes(options: RayEncodingOptions) -> list[str]:
    """A node id per actor: each alive node once per ``cpus_per_actor`` of its CPUs (and
    per ``gpus_per_actor`` of its GPUs when actors use GPUs), spread round-robin."""
    state: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
    shares: dict[str, int] = {}
    for node in state:
        if not node.get("Alive"):
            continue
        resources = node.get("Resources", {})
        share = int(float(resources.get("CPU", 0)) // max(options.cpus_per_actor, 1e-9))
        if options.gpus_per_actor > 0:
            share = min(share, int(float(resources.get("GPU", 0)) // options.gpus_per_actor))
        if share > 0:
            shares[str(node["NodeID"])] = share
    nodes: list[str] = []
    for turn in range(max(shares.values(), default=0)):
        nodes.extend(node for node, share in sorted(shares.items()) if share > turn)
    return nodes[: options.max_actors]


# -- the process's connection ------------------------------------------------------------


@dataclass
class _Shared:
    cluster: RayCluster
    users: int


_lock = threading.Lock()
_connection: _Shared | None = None


def _connect(address: str, engine_cluster: RayCluster | None) -> Release:
    """Connect this process to the cluster at ``address`` (or share the connection it has);
    returns what ends this job's use of it. RayClusterError when it cannot."""
    global _connection
    try:
        _check_reachable(address)
    except ConnectionError as exc:
        raise RayClusterError(f"cannot connect to the Ray cluster at {address}: {exc}") from exc
    if engine_cluster is not None:
        if engine_cluster.address != address:
            raise RayClusterError(
                f"this server is in cluster mode on {engine_cluster.address}; a job cannot"
                f" encode on another cluster ({address}): leave out the address"
            )
        return _no_release
    with _lock:
        if _connection is not None and _connection.cluster.address != address:
            raise RayClusterError(
                f"a job is encoding on the Ray cluster at {_connection.cluster.address};"
                f" one server connects to one cluster at a time (asked: {address})"
            )
        if _connection is None:
            cluster = RayCluster(address)
            cluster.start()
            _connection = _Shared(cluster, 0)
        _connection.users += 1
        shared = _connection

    def release() -> None:
        global _connection
        with _lock:
            shared.users -= 1
            if shared.users == 0 and _connection is shared:
                _connection = None
                shared.cluster.close()

    return release


def _no_release() -> None:
    """The engine's own cluster connection outlives the job."""
