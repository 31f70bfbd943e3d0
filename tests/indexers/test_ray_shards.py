"""Ray-sharded indexes on a real local Ray cluster (a head and a worker raylet, 1 CPU each).

Answers are compared with the in-process :class:`ShardedIndex` holding the same vectors:
flat shards make the comparison exact (labels and scores).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402
from ray.exceptions import RayActorError  # noqa: E402
from support.ray_cluster import local_cluster  # noqa: E402

from ipsim.engine.engine import Engine, EngineOptions  # noqa: E402
from ipsim.engine.ray_cluster import RayCluster  # noqa: E402
from ipsim.engine.types import CollectionSpec, Document, IndexSpec, SearchRequest  # noqa: E402
from ipsim.indexers import hits  # noqa: E402
from ipsim.indexers.base import SearchHits, Selection  # noqa: E402
from ipsim.indexers.factory import make_index  # noqa: E402
from ipsim.indexers.flat import FlatIndex  # noqa: E402
from ipsim.indexers.ray_shards import ArraySource, RayShardedIndex, balance  # noqa: E402
from ipsim.indexers.shards import ShardedIndex  # noqa: E402

DIM = 16
SHARDS = 3


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with local_cluster(tmp_path_factory.mktemp("ray")) as started:
        yield started


def _vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _pair(n: int, shards: int = SHARDS) -> tuple[ShardedIndex, RayShardedIndex, ArraySource]:
    """The same vectors in process and on the cluster (source kept in step)."""
    local = make_index("flat", DIM, "ip", shards=shards)
    assert isinstance(local, ShardedIndex)
    source = ArraySource(FlatIndex(DIM, "ip"))
    placed = ShardedIndex([FlatIndex(DIM, "ip") for _ in range(shards)])
    labels, vectors = np.arange(n, dtype=np.int64), _vectors(n, 1)
    local.add(labels, vectors)
    source.add(placed, labels, vectors)
    return local, RayShardedIndex.place(placed, source), source


def _same(a: SearchHits, b: SearchHits) -> None:
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.scores, b.scores)


def _wait(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _kill(actor: object) -> None:
    """Kill a shard actor and wait until it is dead: ``ray.kill`` only sends the
    request, and a call made meanwhile may still be answered."""
    ray.kill(actor)

    def dead() -> bool:
        try:
            ray.get(actor.ntotal.remote(), timeout=10)  # type: ignore[attr-defined]
        except RayActorError:
            return True
        return False

    _wait(dead)


def test_balance_spreads_evenly_with_fewest_moves() -> None:
    assert balance([None] * 4, ["a", "b"]) == ["a", "a", "b", "b"]
    # A node joins: one shard of the crowded node moves, the rest stay.
    assert balance(["a", "a", "b", "b"], ["a", "b", "c"]) == ["a", "a", "b", "c"]
    # A node left: its shards go to the least loaded nodes.
    assert balance(["a", "b", "c", None], ["a", "b"]) == ["a", "b", "a", "b"]
    assert Counter(balance(["a"] * 7, ["a", "b", "c"])) == {"a": 3, "b": 2, "c": 2}
    with pytest.raises(ValueError, match="no alive node"):
        balance(["a"], [])


def test_answers_equal_the_in_process_index(cluster: Cluster) -> None:
    local, remote, source = _pair(3000)
    try:
        q = _vectors(40, 2)
        _same(remote.search(q, 10), local.search(q, 10))
        allowed = Selection.from_labels(np.arange(0, 3000, 7), 3000)
        _same(remote.search(q, 25, allowed), local.search(q, 25, allowed))
        assert remote.search(q, 10).missing_shards == ()
        assert remote.ntotal == 3000 and remote.exact

        gone = np.arange(0, 3000, 3, dtype=np.int64)
        local.remove(gone)
        source.remove(remote, gone)
        _same(remote.search(q, 10), local.search(q, 10))
        # All or nothing: a duplicate label on one shard undoes the other shards' part.
        with pytest.raises(ValueError):
            remote.add(np.array([5000, 5001, 1], dtype=np.int64), _vectors(3, 3))
        assert remote.ntotal == 2000
        assert remote.describe()["shards"] == SHARDS
    finally:
        remote.close()


def test_dead_actor_is_reported_then_restored_with_missed_writes(cluster: Cluster) -> None:
    local, remote, source = _pair(1500)
    try:
        q = _vectors(16, 4)
        _kill(remote.actors()[1])
        found = remote.search(q, 10)
        assert found.missing_shards == (1,)
        others = hits.merge([local.shards[0].search(q, 10), local.shards[2].search(q, 10)], 10)
        _same(found, others)
        # Writes while the shard is down (or being refilled) still reach it.
        new = np.arange(1500, 1530, dtype=np.int64)
        vectors = _vectors(30, 5)
        local.add(new, vectors)
        source.add(remote, new, vectors)
        _wait(lambda: remote.missing() == [])
        after = remote.search(q, 10)
        assert after.missing_shards == ()
        _same(after, local.search(q, 10))
        assert remote.ntotal == 1530
    finally:
        remote.close()


def test_rebalance_when_a_node_joins_and_heal_when_it_leaves(cluster: Cluster) -> None:
    local, remote, _ = _pair(1200, shards=4)
    try:
        q = _vectors(8, 6)
        assert sorted(Counter(remote.nodes()).values()) == [2, 2]
        node = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        _wait(lambda: len([n for n in ray.nodes() if n["Alive"]]) == 3)
        assert remote.rebalance() == 1
        assert sorted(Counter(remote.nodes()).values()) == [1, 1, 2]
        assert remote.rebalance() == 0
        _same(remote.search(q, 10), local.search(q, 10))

        # The node leaves: its shard is restarted on the others from the source.
        cluster.remove_node(node)
        _wait(lambda: len([n for n in ray.nodes() if n["Alive"]]) == 2)
        _wait(lambda: bool(remote.heal()) or remote.missing() == [], timeout=60)
        assert remote.missing() == []
        assert sorted(Counter(remote.nodes()).values()) == [2, 2]
        _same(remote.search(q, 10), local.search(q, 10))
    finally:
        remote.close()


async def test_engine_with_a_cluster_answers_as_without(cluster: Cluster, tmp_path: Path) -> None:
    docs = [
        Document(id=f"d{i}", content={"text": text}, fields={"n": i})
        for i, text in enumerate(_TEXTS)
    ]
    spec = CollectionSpec("notes", "text", index=IndexSpec("flat"), shards=SHARDS)
    requests = [SearchRequest(query={"text": t}, k=5) for t in ("solar cell", "drug for pain")]
    requests.append(SearchRequest(query={"text": "a bicycle"}, k=4, filter={"n": {"gte": 3}}))

    async def answers(options: EngineOptions) -> list[list[tuple[str, float]]]:
        engine = Engine(options)
        await engine.start()
        try:
            if "notes" not in [c.name for c in engine.list_collections()]:
                await engine.create_collection(spec)
                await engine.upsert("notes", docs)
            out = []
            for request in requests:
                result = await engine.search("notes", request)
                assert result.missing_shards == ()
                out.append([(h.id, h.score) for h in result.hits])
            if engine.cluster is not None:
                info = engine.collection_info("notes")
                assert len(info.index["ray"]["nodes"]) == SHARDS  # type: ignore[index]
            return out
        finally:
            await engine.close()

    plain = await answers(EngineOptions(data=tmp_path / "plain", device="cpu"))
    clustered = EngineOptions(data=tmp_path / "ray", device="cpu", ray_address=cluster.address)
    assert await answers(clustered) == plain
    # Reopened: the snapshot (an ordinary sharded file) is placed on the cluster again.
    assert await answers(clustered) == plain
    assert ray.is_initialized()  # the engine kept this process's own connection


def test_cluster_watch_restarts_dead_shards(cluster: Cluster) -> None:
    watcher = RayCluster(cluster.address, check_every_s=3600)
    watcher.start()
    local = ShardedIndex([FlatIndex(DIM, "ip") for _ in range(2)])
    source = ArraySource(FlatIndex(DIM, "ip"))
    source.add(local, np.arange(50, dtype=np.int64), _vectors(50, 7))
    index = watcher.place(local, source)
    assert isinstance(index, RayShardedIndex)
    try:
        dead = index.actors()[0]
        _kill(dead)

        def replaced() -> bool:
            watcher.check()  # notices the dead actor, restarts it from the source
            return index.actors()[0] not in (None, dead)

        _wait(replaced)
        assert index.missing() == [] and index.ntotal == 50
    finally:
        index.close()
        watcher.close()


_TEXTS = [
    "A photovoltaic solar cell with a perovskite absorber layer.",
    "An analgesic composition for treating chronic pain.",
    "A bicycle frame made of carbon fibre.",
    "Wind turbine blade with a serrated trailing edge.",
    "A pharmaceutical tablet releasing ibuprofen slowly.",
    "Electric bicycle with a hub motor and battery pack.",
    "Thin-film solar module encapsulated in glass.",
    "Method of synthesising paracetamol from phenol.",
]


def test_a_bad_ray_address_is_refused_naming_the_setting() -> None:
    from pydantic import ValidationError

    from ipsim.config import Settings

    assert Settings(ray_address="10.0.0.1:6379").ray_address == "10.0.0.1:6379"
    assert Settings(ray_address="").ray_address is None
    for bad in ("head", "ray://head", "head:99999"):
        with pytest.raises(ValidationError, match="ray_address"):
            Settings(ray_address=bad)
