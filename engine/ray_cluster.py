"""Cluster mode: the engine's connection to a Ray cluster and the watch over its nodes.

With ``ray_address`` set, the engine connects at start and hands every collection store
:meth:`RayCluster.place` as its shard placer, so sharded collections keep their shards
in Ray actors (:mod:`ipsim.indexers.ray_shards`). A watcher thread checks the cluster
every few seconds: dead shard actors are restarted from their store, and when the set
of alive nodes changes (a node joined or left) every index is rebalanced over it.

This module imports Ray; the engine imports it only when an address is configured, so
a server without a cluster never loads Ray.
"""

from __future__ import annotations

import logging
import socket
import threading
import weakref

import ray

from ipsim.engine.errors import NotReady
from ipsim.indexers.base import VectorIndex
from ipsim.indexers.ray_shards import RayShardedIndex, RayShardOptions, eligible_nodes
from ipsim.indexers.shards import ShardedIndex, ShardSource

log = logging.getLogger(__name__)

CHECK_EVERY_S = 5.0
NAMESPACE = "ipsim"
CONNECT_TIMEOUT_S = 5.0


class RayClusterError(NotReady):
    """The cluster cannot be reached (``unavailable``: the server cannot start on it)."""


class RayCluster:
    """One connection to a Ray cluster, and the sharded indexes placed on it."""

    def __init__(
        self,
        address: str,
        *,
        check_every_s: float = CHECK_EVERY_S,
        options: RayShardOptions | None = None,
    ) -> None:
        self.address = address
        self._check_every_s = check_every_s
        self._options = options
        self._indexes: weakref.WeakSet[RayShardedIndex] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._nodes: frozenset[str] = frozenset()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._connected_here = False

    def start(self) -> None:
        """Connect (RayClusterError when the cluster cannot be reached) and start watching.

        A process already connected (a test, a Ray job driver) keeps its connection."""
        try:
            self._connected_here = not ray.is_initialized()
            if self._connected_here:
                _check_reachable(self.address)
                ray.init(
                    address=self.address,
                    namespace=NAMESPACE,
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                    configure_logging=False,
                )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            message = f"cannot connect to the Ray cluster at {self.address}: {exc}"
            raise RayClusterError(message) from exc
        if self._options is None:
            resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
            gpus = float(resources.get("GPU", 0))
            self._options = RayShardOptions(gpus_per_shard=1.0 if gpus > 0 else 0.0)
        self._nodes = frozenset(self._eligible())
        log.info("connected to Ray at %s: %d nodes for shards", self.address, len(self._nodes))
        self._watcher = threading.Thread(target=self._watch, name="ipsim-ray-watch", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        """Stop watching and disconnect (the shard actors end with the connection)."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
        if self._connected_here and ray.is_initialized():
            ray.shutdown()

    def place(self, local: ShardedIndex, source: ShardSource) -> VectorIndex:
        """A :data:`~ipsim.indexers.shards.ShardPlacer`: ``local``'s shards in actors."""
        index = RayShardedIndex.place(local, source, self._options)
        with self._lock:
            self._indexes.add(index)
        return index

    def check(self) -> None:
        """One watcher pass: restart dead shards; rebalance when the alive nodes changed."""
        with self._lock:
            indexes = list(self._indexes)
        for index in indexes:
            index.heal()
        nodes = frozenset(self._eligible())
        if nodes and nodes != self._nodes:
            log.info("Ray nodes changed (%d → %d): rebalancing", len(self._nodes), len(nodes))
            for index in indexes:
                index.rebalance(sorted(nodes))
        self._nodes = nodes

    def _eligible(self) -> list[str]:
        gpus = self._options is not None and self._options.gpus_per_shard > 0
        return eligible_nodes(gpus=gpus)

    def _watch(self) -> None:
        while not self._stop.wait(self._check_every_s):
            try:
                self.check()
            except Exception:
                log.exception("checking the Ray cluster failed; retrying")


def _check_reachable(address: str) -> None:
    """Fail fast on a ``HOST:PORT`` nothing answers on: ``ray.init`` would retry for
    minutes before giving up. ``auto`` and ``ray://`` addresses are left to Ray."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {address} ({exc})") from exc
