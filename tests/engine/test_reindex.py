"""Re-indexing jobs through a real engine with the real MiniLM model and real patent titles:
blue/green switch, writes during the copy, rollback, resume after a stop, bad specs."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import pytest_asyncio

from ipsim.benchmarks.datasets import load_patent_titles
from ipsim.engine import reindex
from ipsim.engine.collection import Collection
from ipsim.engine.engine import Engine, EngineOptions
from ipsim.engine.errors import Conflict, InvalidInput, NotFound
from ipsim.engine.reindex import Job
from ipsim.engine.types import CollectionSpec, Document, IndexSpec, SearchRequest
from ipsim.engine.versions import VERSIONS_DIR, read_alias
from ipsim.models.registry import bundled_text_model_dir

pytestmark = pytest.mark.asyncio(loop_scope="module")

TITLES = load_patent_titles()[:120]
DOCS = [
    Document(t.application_number, {"text": t.title}, {"tc": t.technology_center}) for t in TITLES
]
QUERIES = [t.title for t in TITLES[::37]]


@pytest.fixture(scope="module")
def other_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of the bundled model in another folder: to the engine, another model."""
    target = tmp_path_factory.mktemp("model") / "minilm-copy"
    shutil.copytree(bundled_text_model_dir(), target)
    return str(target)


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 50, so 120 documents make three (the first checkpoint comes early)."""
    monkeypatch.setattr(reindex, "BATCH", 50)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with collection "t" (flat), encoded once for the whole module."""
    data = tmp_path_factory.mktemp("template")
    engine = await open_engine(data)
    await engine.create_collection(CollectionSpec("t", "text", index=IndexSpec("flat")))
    await engine.upsert("t", DOCS)
    await engine.close()
    return data


@pytest_asyncio.fixture(loop_scope="module")
async def engine(template: Path, tmp_path: Path) -> AsyncIterator[Engine]:
    shutil.copytree(template, tmp_path, dirs_exist_ok=True)
    engine = await open_engine(tmp_path)
    engine.jobs.drain_seconds = 0.2
    yield engine
    await engine.close()


async def open_engine(data: Path) -> Engine:
    engine = Engine(EngineOptions(data=data))
    await engine.start()
    return engine


async def finished(engine: Engine, job_id: str, timeout: float = 120) -> Job:
    async with asyncio.timeout(timeout):
        while (job := engine.jobs.get(job_id)).state not in ("done", "failed", "cancelled"):
            await asyncio.sleep(0.02)
    return job


async def answers(engine: Engine, name: str) -> list[list[tuple[str, float]]]:
    found = []
    for text in QUERIES:
        result = await engine.search(name, SearchRequest(query={"text": text}, k=10))
        found.append([(hit.id, round(hit.score, 5)) for hit in result.hits])
    return found


async def fresh(engine: Engine, name: str, index: IndexSpec, model: str | None = None) -> None:
    """A collection built directly with the new spec, documents in the job's (id) order."""
    await engine.create_collection(CollectionSpec(name, "text", index=index, model=model))
    ordered = sorted(DOCS, key=lambda d: d.id)
    for start in range(0, len(ordered), reindex.BATCH):
        await engine.upsert(name, ordered[start : start + reindex.BATCH])


def gated_copy(
    engine: Engine,
) -> tuple[asyncio.Event, asyncio.Event]:
    """Hold the job once its first batch is copied and checkpointed: (reached, release)."""
    reached, release = asyncio.Event(), asyncio.Event()
    inner = engine.jobs.copy

    async def copy(target: Collection, documents: Sequence[Document]) -> int:
        (job,) = [j for j in engine.jobs.list() if j.state == "running"]
        if job.done and not reached.is_set():
            reached.set()
            await release.wait()
        return await inner(target, documents)

    engine.jobs.copy = copy
    return reached, release


async def test_flat_to_hnsw_answers_as_a_fresh_collection_and_searches_never_fail(
    engine: Engine,
) -> None:
    failures: list[BaseException] = []
    searched = 0
    stop = asyncio.Event()

    async def search_loop() -> None:
        nonlocal searched
        while not stop.is_set():
            try:
                result = await engine.search("t", SearchRequest(query={"text": QUERIES[0]}, k=5))
                assert result.hits[0].id == TITLES[0].application_number
            except Exception as exc:  # every kind of failure counts
                failures.append(exc)
            searched += 1
            await asyncio.sleep(0)

    searcher = asyncio.create_task(search_loop())
    job = await engine.jobs.reindex("t", None, IndexSpec("hnsw", {"M": 16}))
    assert (job.state, job.from_version, job.to_version, job.kind) == ("queued", 0, 1, "reindex")
    done = await finished(engine, job.id)
    await asyncio.sleep(0.3)  # past the drain: the old version is closed by now
    stop.set()
    await searcher
    assert done.state == "done", done.error
    assert (done.done, done.total, done.copied) == (len(DOCS), len(DOCS), len(DOCS))
    assert failures == [] and searched > 10

    info = engine.collection_info("t")
    assert (info.index["type"], info.count) == ("hnsw", len(DOCS))
    await fresh(engine, "fresh", IndexSpec("hnsw", {"M": 16}))
    assert await answers(engine, "t") == await answers(engine, "fresh")
    assert read_alias(engine.collections_root, "t").live == 1


async def test_another_model_and_the_switch_survives_a_restart(
    engine: Engine, other_model: str, tmp_path: Path
) -> None:
    job = await engine.jobs.reindex("t", other_model, None)
    assert (await finished(engine, job.id)).state == "done"
    info = engine.collection_info("t")
    assert (info.model, info.index["type"]) == (str(Path(other_model).resolve()), "flat")
    await fresh(engine, "fresh", IndexSpec("flat"), model=other_model)
    expected = await answers(engine, "fresh")
    assert await answers(engine, "t") == expected

    await engine.close()
    reopened = await open_engine(tmp_path)
    try:
        assert reopened.collection_info("t").model == info.model
        assert await answers(reopened, "t") == expected
        assert reopened.jobs.get(job.id).state == "done"
    finally:
        await reopened.close()
    await engine.start()  # the fixture closes it again


async def test_writes_during_the_copy_are_in_the_new_version(engine: Engine) -> None:
    reached, release = gated_copy(engine)
    job = await engine.jobs.reindex("t", None, IndexSpec("hnsw"))
    await reached.wait()  # the first 256 ids (in id order) are in the new version now
    first = sorted(d.id for d in DOCS)[0]
    later = sorted(d.id for d in DOCS)[-1]
    await engine.upsert("t", [Document(first, {"text": "A bicycle bell"}, {"tc": "new"})])
    await engine.upsert("t", [Document("extra", {"text": "An umbrella stand"}, {})])
    await engine.delete_document("t", later)
    await engine.delete_document("t", sorted(d.id for d in DOCS)[1])
    release.set()
    done = await finished(engine, job.id)
    assert done.state == "done", done.error
    assert engine.collection_info("t").index["type"] == "hnsw"
    assert engine.collection_info("t").count == len(DOCS) - 1
    assert (await engine.get_document("t", first)).fields == {"tc": "new"}
    with pytest.raises(NotFound):
        await engine.get_document("t", later)
    hits = (await engine.search("t", SearchRequest(query={"text": "umbrella"}, k=1))).hits
    assert hits[0].id == "extra"
    hits = (await engine.search("t", SearchRequest(query={"text": "bicycle bell"}, k=1))).hits
    assert hits[0].id == first


async def test_rollback_returns_to_the_previous_version_with_later_writes(
    engine: Engine,
) -> None:
    with pytest.raises(Conflict, match="no previous version"):
        await engine.jobs.rollback("t")
    job = await engine.jobs.reindex("t", None, IndexSpec("hnsw"))
    assert (await finished(engine, job.id)).state == "done"
    await engine.upsert("t", [Document("after", {"text": "A folding umbrella"}, {})])
    await engine.delete_document("t", DOCS[0].id)

    back = await engine.jobs.rollback("t")
    assert (back.kind, back.from_version, back.to_version) == ("rollback", 1, 0)
    done = await finished(engine, back.id)
    assert done.state == "done", done.error
    assert done.copied == 1  # only the write made after the switch was encoded again
    info = engine.collection_info("t")
    assert (info.index["type"], info.count) == ("flat", len(DOCS))
    assert (await engine.get_document("t", "after")).content == {"text": "A folding umbrella"}
    with pytest.raises(NotFound):
        await engine.get_document("t", DOCS[0].id)
    assert read_alias(engine.collections_root, "t").previous == 1  # roll forward again


async def test_a_stopped_job_resumes_where_it_stopped(engine: Engine, tmp_path: Path) -> None:
    reached, _ = gated_copy(engine)
    job = await engine.jobs.reindex("t", None, IndexSpec("hnsw"))
    await reached.wait()
    await engine.close()  # the job's task is cancelled mid-copy, as a kill would stop it
    saved = json.loads((tmp_path / "jobs" / f"{job.id}.json").read_text())
    assert (saved["state"], saved["done"], saved["copied"]) == ("running", 50, 50)

    resumed = await open_engine(tmp_path)
    try:
        # Written while the job was down: found by the resumed pass, not by a journal.
        await resumed.delete_document("t", sorted(d.id for d in DOCS)[0])
        done = await finished(resumed, job.id)
        assert done.state == "done", done.error
        assert done.copied == len(DOCS)  # the first batch was not encoded again
        info = resumed.collection_info("t")
        assert (info.index["type"], info.count) == ("hnsw", len(DOCS) - 1)
    finally:
        await resumed.close()
    await engine.start()


@pytest.mark.parametrize(
    ("model", "index", "field"),
    [
        ("no-such-model", None, "model"),
        (None, IndexSpec("nope"), "index.type"),
        (None, IndexSpec("hnsw", {"M": -3}), "index.M"),
        (None, IndexSpec("ivf", {"bogus": 1}), "index.bogus"),
    ],
)
async def test_bad_specs_name_the_field_and_leave_nothing(
    engine: Engine, model: str | None, index: IndexSpec | None, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await engine.jobs.reindex("t", model, index)
    assert caught.value.field == field
    assert engine.jobs.list() == []
    assert not (engine.collections_root / VERSIONS_DIR / "t").exists()
    with pytest.raises(Conflict, match="no previous version"):  # the collection is free
        await engine.jobs.rollback("t")


async def test_one_job_per_collection_and_deleting_cancels(engine: Engine) -> None:
    with pytest.raises(NotFound):
        await engine.jobs.reindex("missing", None, None)
    reached, _ = gated_copy(engine)
    job = await engine.jobs.reindex("t", None, IndexSpec("hnsw"))
    await reached.wait()
    with pytest.raises(Conflict, match="already has a job"):
        await engine.jobs.reindex("t", None, None)
    with pytest.raises(Conflict, match="already has a job"):
        await engine.jobs.rollback("t")
    await engine.delete_collection("t")
    cancelled = engine.jobs.get(job.id)
    assert (cancelled.state, cancelled.error) == ("cancelled", "the collection was deleted")
    root = engine.collections_root
    assert not (root / "t").exists() and not (root / VERSIONS_DIR / "t").exists()
    with pytest.raises(NotFound):
        engine.jobs.get("no-such-job")
