"""Re-indexing with the encoding on a real local Ray cluster (a head and a worker raylet,
1 CPU each, so two encoder actors) and the real MiniLM: the Ray job's vectors and answers
equal an in-process job's; the job records its cluster; an unreachable cluster fails the
job in seconds with a clear error; bad addresses are 400s naming ``ray``."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import numpy as np
import pytest
import pytest_asyncio

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402
from support.ray_cluster import local_cluster  # noqa: E402

from ipsim.benchmarks.datasets import load_patent_titles  # noqa: E402
from ipsim.config import Settings  # noqa: E402
from ipsim.engine.engine import Engine, EngineOptions  # noqa: E402
from ipsim.engine.errors import InvalidInput  # noqa: E402
from ipsim.engine.reindex import Job  # noqa: E402
from ipsim.engine.types import CollectionSpec, Document, IndexSpec, SearchRequest  # noqa: E402
from ipsim.server.app import create_app  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="module")

TITLES = load_patent_titles()[:80]
DOCS = [
    Document(t.application_number, {"text": t.title}, {"tc": t.technology_center}) for t in TITLES
]
QUERIES = [t.title for t in TITLES[::17]]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with local_cluster(tmp_path_factory.mktemp("ray")) as started:
        yield started


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Engine]:
    """Two identical collections: one re-indexed in process, one on the cluster."""
    engine = Engine(EngineOptions(data=tmp_path_factory.mktemp("data"), device="cpu"))
    await engine.start()
    engine.jobs.drain_seconds = 0.2
    for name in ("here", "there"):
        await engine.create_collection(CollectionSpec(name, "text", index=IndexSpec("flat")))
        await engine.upsert(name, DOCS)
    yield engine
    await engine.close()


@pytest.fixture(scope="module")
def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


async def finished(engine: Engine, job_id: str, timeout: float = 120) -> Job:
    async with asyncio.timeout(timeout):
        while (job := engine.jobs.get(job_id)).state not in ("done", "failed", "cancelled"):
            await asyncio.sleep(0.05)
    return job


async def answers(engine: Engine, name: str) -> list[list[tuple[str, float]]]:
    found = []
    for text in QUERIES:
        result = await engine.search(name, SearchRequest(query={"text": text}, k=10))
        found.append([(hit.id, hit.score) for hit in result.hits])
    return found


async def test_ray_vectors_and_answers_equal_the_in_process_ones(
    cluster: Cluster, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ipsim.engine.reindex_ray")
    here = await engine.jobs.reindex("here", None, IndexSpec("hnsw"))
    there = await engine.jobs.reindex("there", None, IndexSpec("hnsw"), ray=cluster.address)
    assert (here.ray, there.ray) == (None, cluster.address)
    for job in (await finished(engine, here.id), await finished(engine, there.id)):
        assert (job.state, job.error, job.done, job.copied) == ("done", None, len(DOCS), len(DOCS))
    assert "on 2 Ray encoder actors" in caplog.text  # one per node (1 CPU each)

    local, remote = engine.live_collection("here"), engine.live_collection("there")
    assert remote.store.index_type == "hnsw"
    for doc in DOCS:
        mine, theirs = local.store.get(doc.id), remote.store.get(doc.id)
        assert mine is not None and theirs is not None
        assert theirs.spans == mine.spans and theirs.fields == mine.fields
        np.testing.assert_allclose(theirs.vectors, mine.vectors, atol=1e-5)
    ours, theirs_found = await answers(engine, "here"), await answers(engine, "there")
    assert [[i for i, _ in a] for a in ours] == [[i for i, _ in a] for a in theirs_found]
    np.testing.assert_allclose(
        [s for a in ours for _, s in a], [s for a in theirs_found for _, s in a], atol=1e-5
    )
    # The job file keeps the cluster, so a resumed job encodes there again.
    saved = json.loads((engine.options.data / "jobs" / f"{there.id}.json").read_text())
    assert saved["ray"] == cluster.address
    # The actors are gone with the job; the version serves through the shared batcher.
    assert remote.batcher is local.batcher
    deadline = time.monotonic() + 30  # each actor held 1 CPU until it was killed
    while ray.available_resources().get("CPU", 0) < 2:
        assert time.monotonic() < deadline, ray.available_resources()
        await asyncio.sleep(0.1)


async def test_an_unreachable_cluster_fails_the_job_clearly(
    engine: Engine, closed_port: int
) -> None:
    before = engine.collection_info("here")
    started = time.monotonic()
    job = await engine.jobs.reindex("here", None, None, ray=f"127.0.0.1:{closed_port}")
    done = await finished(engine, job.id, timeout=30)
    assert time.monotonic() - started < 20
    assert done.state == "failed"
    assert f"cannot connect to the Ray cluster at 127.0.0.1:{closed_port}" in (done.error or "")
    after = engine.collection_info("here")
    assert (after.count, after.index) == (before.count, before.index)
    # The collection is free for the next job.
    assert engine.jobs.list()[0].id == job.id and not engine.jobs._running


async def test_bad_addresses_name_the_field(engine: Engine) -> None:
    for bad in ("head", "head:99999", "ray://head", ""):
        with pytest.raises(InvalidInput) as caught:
            await engine.jobs.reindex("here", None, None, ray=bad)
        assert caught.value.field == "ray"
    with pytest.raises(InvalidInput, match="IPSIM_RAY_ADDRESS") as caught:
        await engine.jobs.reindex("here", None, None, ray=True)
    assert caught.value.field == "ray"

    transport = httpx.ASGITransport(app=create_app(engine, Settings(), None))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for body, message in (
            ({"ray": 6379}, "ray"),
            ({"ray": "head:99999"}, "ray: ray must look like HOST:PORT"),
            ({"ray": True}, "ray: this server has no Ray cluster"),
        ):
            response = await client.post("/v1/collections/here/reindex", json=body)
            assert response.status_code == 400, response.text
            assert response.json()["error"]["message"].startswith(message)
    assert not [j for j in engine.jobs.list() if j.state in ("queued", "running")]
