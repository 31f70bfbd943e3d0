"""Missing index shards reach every surface: the one-window search (engine and HTTP), gRPC
Search and SearchMany, and both SDKs.

A real engine (real MiniLM, real patent titles) whose sharded collection is placed by a
test placer, the seam cluster mode uses for Ray: the placed index is a real
:class:`ShardedIndex` whose shard 1 never answers, so the report is deterministic. A
second, unsharded collection answers in full. The hits that come back must be the full
ranking without shard 1's documents, in the same order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import grpc
import httpx
import pytest
import pytest_asyncio

from ipsim.benchmarks.datasets import load_patent_titles
from ipsim.clients.grpc import GrpcClient
from ipsim.clients.http import AsyncClient
from ipsim.config import Settings
from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.federation import Federation, MultiSearchRequest
from ipsim.engine.sources import LocalSource
from ipsim.engine.types import CollectionSpec, Document, IndexSpec, SearchRequest
from ipsim.indexers import hits
from ipsim.indexers.base import SearchHits, Selection, VectorIndex, Vectors
from ipsim.indexers.live_labels import as_queries, check_k
from ipsim.indexers.shards import ShardedIndex, ShardSource
from ipsim.server.app import create_app
from ipsim.server.grpc_convert import GrpcLimits
from ipsim.server.grpc_service import create_server

pytestmark = pytest.mark.asyncio(loop_scope="module")

TITLES = load_patent_titles()[:60]
DOCS = [Document(t.application_number, {"text": t.title}, {}) for t in TITLES[:30]]
QUERY = {"text": TITLES[0].title}
K = len(DOCS)  # the whole ranking: shard 1's documents must be the ones left out


class ShardOneDown(ShardedIndex):
    """A sharded index whose shard 1 does not answer (as a dead Ray actor's would not)."""

    def search(self, queries: Vectors, k: int, allowed: Selection | None = None) -> SearchHits:
        q, k = as_queries(queries, self.dim), check_k(k)
        parts = [shard.search(q, k, allowed) for i, shard in enumerate(self.shards) if i != 1]
        return replace(hits.merge(parts, k), missing_shards=(1,))


def place(local: ShardedIndex, source: ShardSource) -> VectorIndex:
    return ShardOneDown(local.shards)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Engine]:
    engine = Engine(EngineOptions(data=tmp_path_factory.mktemp("data"), device="cpu"))
    # The seam cluster mode places shards through (RayCluster.place), given our placer.
    engine._store_options = replace(engine._store_options, place_shards=place)
    await engine.start()
    await engine.create_collection(
        CollectionSpec("sharded", "text", index=IndexSpec("flat"), shards=3)
    )
    await engine.create_collection(CollectionSpec("whole", "text", index=IndexSpec("flat")))
    for name in ("sharded", "whole"):
        await engine.upsert(name, DOCS)
    yield engine
    await engine.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def grpc_target(engine: Engine) -> AsyncIterator[str]:
    server, service = create_server(engine, api_keys=None, limits=GrpcLimits())
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await service.set_serving(True)
    yield f"127.0.0.1:{port}"
    await server.stop(None)


def http(engine: Engine) -> AsyncClient:
    transport = httpx.ASGITransport(app=create_app(engine, Settings()))
    return AsyncClient("http://test", transport=transport)


async def full_ranking(engine: Engine) -> list[str]:
    result = await engine.search("whole", SearchRequest(QUERY, k=len(DOCS)))
    return [hit.id for hit in result.hits]


def is_ranked_subset(found: list[str], full: list[str]) -> bool:
    """``found`` is ``full`` with some documents left out, the order kept."""
    it = iter(full)
    return all(doc in it for doc in found)


async def test_the_engine_reports_the_shard_and_answers_from_the_others(engine: Engine) -> None:
    result = await engine.search("sharded", SearchRequest(QUERY, k=K))
    found = [hit.id for hit in result.hits]
    assert result.missing_shards == (1,)
    assert is_ranked_subset(found, await full_ranking(engine))
    assert 0 < len(found) < K  # about a third of the documents are on shard 1
    assert (await engine.search("whole", SearchRequest(QUERY, k=K))).missing_shards == ()


async def test_the_one_window_search_reports_a_partial_source(engine: Engine) -> None:
    federation = Federation(LocalSource(engine))
    result = await federation.search(MultiSearchRequest(("sharded", "whole"), QUERY, k=K))
    assert result.partial
    sharded, whole = result.sources
    assert (sharded.collection, sharded.status, sharded.missing_shards) == (
        "sharded",
        "partial",
        (1,),
    )
    assert sharded.message is not None and "index shards 1 did not answer" in sharded.message
    assert (whole.status, whole.missing_shards) == ("ok", ())
    # The partial collection's hits are still fused in.
    assert {h.collection for h in result.hits} == {"sharded", "whole"}
    # Only the complete collection: not partial.
    alone = await federation.search(MultiSearchRequest(("whole",), QUERY, k=K))
    assert not alone.partial and alone.sources[0].status == "ok"
    # Only the partial collection: an answer, not "every source failed".
    only = await federation.search(MultiSearchRequest(("sharded",), QUERY, k=K))
    assert only.partial and only.hits


async def test_http_and_its_sdk_carry_the_missing_shards(engine: Engine) -> None:
    full = await full_ranking(engine)
    async with http(engine) as client:
        answer = await client.search("sharded", QUERY, k=K)
        complete = await client.search("whole", QUERY, k=K)
        many = await client.search_many(["sharded", "whole"], QUERY, k=K)
    assert answer["missing_shards"] == [1]
    assert is_ranked_subset([h["id"] for h in answer["hits"]], full)
    assert complete["missing_shards"] is None
    assert many["partial"] is True
    reports = {s["collection"]: s for s in many["sources"]}
    assert (reports["sharded"]["status"], reports["sharded"]["missing_shards"]) == ("partial", [1])
    assert (reports["whole"]["status"], reports["whole"]["missing_shards"]) == ("ok", None)


async def test_grpc_and_its_sdk_carry_the_missing_shards(engine: Engine, grpc_target: str) -> None:
    full = await full_ranking(engine)

    def ask() -> tuple[dict[str, object], dict[str, object], dict[str, object]]:
        with GrpcClient(grpc_target, timeout=30) as client:
            return (
                client.search("sharded", QUERY, k=K),
                client.search("whole", QUERY, k=K),
                client.search_many(["sharded", "whole"], QUERY, k=K),
            )

    # The blocking SDK runs in a thread: the server shares this event loop with the engine.
    answer, complete, many = await asyncio.to_thread(ask)
    assert answer["missing_shards"] == [1]
    assert is_ranked_subset([h["id"] for h in answer["hits"]], full)  # type: ignore[attr-defined]
    assert "missing_shards" not in complete
    assert many["partial"] is True
    reports = {s["collection"]: s for s in many["sources"]}  # type: ignore[attr-defined]
    assert (reports["sharded"]["status"], reports["sharded"]["missing_shards"]) == ("partial", [1])
    assert (reports["whole"]["status"], reports["whole"]["missing_shards"]) == ("ok", None)
    # The raw reply: the new fields are plain repeated int32 (old clients ignore them).
    from ipsim.proto import search_pb2, search_pb2_grpc

    async with grpc.aio.insecure_channel(grpc_target) as channel:
        stub = search_pb2_grpc.SearchServiceStub(channel)
        request = search_pb2.SearchRequest(collection="sharded", k=K)
        request.query.update(QUERY)
        reply = await stub.Search(request)
    assert list(reply.missing_shards) == [1]
