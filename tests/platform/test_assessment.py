"""The assessment job table and its worker on SQLite and PostgreSQL, and the report built from
what an engine answers.

The job-table tests claim exactly-once runs, lease expiry and restarts; the engine in them is
a stand-in that returns fixed hits (what is under test is the table, not the search — the
real engine is searched end to end in ``tests/e2e/test_assessment.py``).
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from ipsim.engine.errors import Conflict, InvalidInput, NotFound, NotReady
from ipsim.platform import migrate
from ipsim.platform.database import open_database
from ipsim.platform.filing.applications import Application, ApplicationStore, events_table
from ipsim.platform.filing.assessment import (
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    AssessmentService,
    AssessmentStore,
    AssessmentWorker,
    assess,
    elements_of,
)
from ipsim.platform.filing.attachments import AttachmentStore
from ipsim.platform.filing.content import parse_filing
from ipsim.platform.filing.facade import CollectionRef, PriorArtHit
from ipsim.platform.filing.fees import FeeSchedule
from ipsim.platform.filing.report_html import render
from ipsim.platform.filing.verdict import FIGURATIVE, TEXT, TRADEMARK, Verdict

OWNER = "applicant-1"
APPLICANT = {"name": "Ivan Petrov", "country": "RU", "type": "individual"}
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CUBE_OFF = b"OFF\n8 6 0\n" + b"".join(
    f"{x} {y} {z}\n".encode() for x in (0, 1) for y in (0, 1) for z in (0, 1)
) + b"4 0 1 3 2\n4 4 6 7 5\n4 0 4 5 1\n4 2 3 7 6\n4 0 2 6 4\n4 1 5 7 3\n"  # fmt: skip
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


class Clock:
    """A settable UTC clock shared by the stores of one test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Db:
    engine: Engine
    applications: ApplicationStore
    attachments: AttachmentStore


@pytest.fixture
def db(platform_url: str, tmp_path: Path) -> Iterator[Db]:
    engine = open_database(platform_url)
    migrate.upgrade(engine)
    attachments = AttachmentStore(engine, tmp_path)
    try:
        yield Db(engine, ApplicationStore(engine, attachments, FeeSchedule.load()), attachments)
    finally:
        engine.dispose()


def invention(db: Db, claims: list[str], title: str = "Folding bicycle") -> Application:
    body = {
        "kind": "invention",
        "title": title,
        "applicant": APPLICANT,
        "content": {"abstract": "A bicycle whose frame folds in two.", "claims": claims},
    }
    return db.applications.file(OWNER, parse_filing(body)).application


def assessment_events(db: Db, application_id: str) -> list[dict[str, Any]]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(events_table.c.data, events_table.c.actor)
            .where(
                events_table.c.application_id == application_id,
                events_table.c.kind == "assessment",
            )
            .order_by(events_table.c.seq)
        ).all()
    return [row.data for row in rows]


# --- the job table ----------------------------------------------------------------------


def test_a_second_request_answers_the_active_job_and_a_finished_one_allows_a_new(db: Db) -> None:
    application = invention(db, ["A frame with a hinge."])
    store = AssessmentStore(db.engine)
    first, created = store.request(application.id, OWNER)
    assert created and first.status == QUEUED and first.attempts == 0
    again, created_again = store.request(application.id, OWNER)
    assert (again.id, created_again) == (first.id, False)

    claimed = store.claim("worker-a")
    assert claimed is not None and claimed.id == first.id
    assert (claimed.status, claimed.attempts, claimed.lease_owner) == (RUNNING, 1, "worker-a")
    assert store.request(application.id, OWNER)[0].id == first.id  # running is active too
    assert store.finish(claimed, "worker-a", {"verdict": "likely_novel", "max_score": 0.1})

    done = store.latest(application.id)
    assert (done.status, done.report) == (DONE, {"verdict": "likely_novel", "max_score": 0.1})
    assert done.lease_owner is None and done.finished is not None
    newer, created_newer = store.request(application.id, OWNER)
    assert created_newer and newer.id != first.id
    assert store.latest(application.id).id == newer.id
    assert assessment_events(db, application.id) == [
        {"assessment": first.id, "status": DONE, "verdict": "likely_novel", "max_score": 0.1}
    ]


def test_racing_requests_queue_one_job(db: Db) -> None:
    application = invention(db, ["A frame with a hinge."])
    store = AssessmentStore(db.engine)
    barrier = threading.Barrier(6)

    def request(_: int) -> tuple[str, bool]:
        barrier.wait()
        job, created = store.request(application.id, OWNER)
        return job.id, created

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(request, range(6)))
    assert len({job_id for job_id, _ in answers}) == 1
    assert sum(created for _, created in answers) == 1


def test_a_claim_is_a_compare_and_set(db: Db) -> None:
    application = invention(db, ["A frame with a hinge."])
    a, b = AssessmentStore(db.engine), AssessmentStore(db.engine)
    job, _ = a.request(application.id, OWNER)
    assert a.claim("worker-a") is not None
    assert b.claim("worker-b") is None  # taken, lease still valid
    assert not b.renew(job.id, "worker-b")
    assert not b.finish(job, "worker-b", {"verdict": "likely_novel"})  # not its job
    assert a.renew(job.id, "worker-a")
    assert a.get(job.id).status == RUNNING and a.get(job.id).report is None


def test_an_expired_lease_is_claimed_again_and_the_old_owner_cannot_finish(db: Db) -> None:
    application = invention(db, ["A frame with a hinge."])
    clock = Clock()
    store = AssessmentStore(db.engine, lease_s=60, clock=clock)
    job, _ = store.request(application.id, OWNER)
    first = store.claim("worker-a")
    assert first is not None
    clock.advance(59)
    assert store.claim("worker-b") is None
    clock.advance(2)  # worker-a stopped renewing: its lease ran out
    second = store.claim("worker-b")
    assert second is not None and second.id == job.id
    assert (second.attempts, second.lease_owner) == (2, "worker-b")
    assert not store.renew(job.id, "worker-a")
    assert not store.finish(first, "worker-a", {"verdict": "needs_review"})
    assert store.finish(second, "worker-b", {"verdict": "likely_novel"})
    assert store.get(job.id).report == {"verdict": "likely_novel"}
    assert [e["verdict"] for e in assessment_events(db, application.id)] == ["likely_novel"]


def test_a_job_fails_after_its_last_attempt_with_the_error(db: Db) -> None:
    application = invention(db, ["A frame with a hinge."])
    clock = Clock()
    store = AssessmentStore(db.engine, lease_s=10, max_attempts=3, clock=clock)
    job, _ = store.request(application.id, OWNER)
    one = store.claim("w")
    assert one is not None and store.fail(one, "w", "unavailable: the engine is not ready")
    requeued = store.get(job.id)
    assert (requeued.status, requeued.error) == (QUEUED, "unavailable: the engine is not ready")
    assert store.claim("w") is not None
    clock.advance(11)  # the second worker died: its lease runs out
    three = store.claim("w")
    assert three is not None and three.attempts == 3
    assert store.fail(three, "w", "RuntimeError: boom")
    failed = store.get(job.id)
    assert (failed.status, failed.error, failed.attempts) == (FAILED, "RuntimeError: boom", 3)
    assert store.claim("w") is None
    assert assessment_events(db, application.id) == [
        {"assessment": job.id, "status": FAILED, "error": "RuntimeError: boom"}
    ]


def test_a_job_whose_workers_keep_dying_is_failed_not_claimed_forever(db: Db) -> None:
    application = invention(db, ["A frame with a hinge."])
    clock = Clock()
    store = AssessmentStore(db.engine, lease_s=10, max_attempts=2, clock=clock)
    job, _ = store.request(application.id, OWNER)
    for _ in range(2):
        assert store.claim("w") is not None
        clock.advance(11)
    assert store.claim("w") is None
    failed = store.get(job.id)
    assert failed.status == FAILED and failed.error is not None and "2 attempts" in failed.error


# --- the worker -------------------------------------------------------------------------


@dataclass
class Recorder:
    """An ``assess`` function that counts its runs per application (optionally blocking)."""

    runs: Counter[str] = field(default_factory=Counter)
    gate: asyncio.Event | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, application: Application) -> dict[str, Any]:
        self.runs[application.id] += 1
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(0.01)  # let the other worker interleave
        return {"verdict": "likely_novel", "max_score": 0.0, "by": application.id}


async def _until(condition: Any, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await asyncio.to_thread(condition):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_two_workers_on_one_database_run_each_job_exactly_once(db: Db) -> None:
    applications = [invention(db, [f"Claim {i}."], title=f"Invention {i}") for i in range(10)]
    store = AssessmentStore(db.engine)
    jobs = [store.request(a.id, OWNER)[0] for a in applications]
    recorder = Recorder()

    async def run() -> None:
        workers = [
            AssessmentWorker(AssessmentStore(db.engine), db.applications, recorder, poll_s=0.02)
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        try:
            await _until(lambda: all(store.get(j.id).status == DONE for j in jobs))
        finally:
            for worker in workers:
                await worker.stop()

    asyncio.run(run())
    assert recorder.runs == Counter({a.id: 1 for a in applications})
    for job, application in zip(jobs, applications, strict=True):
        done = store.get(job.id)
        assert done.attempts == 1 and done.report is not None
        assert done.report["by"] == application.id
        assert len(assessment_events(db, application.id)) == 1


def test_a_job_abandoned_by_a_stopped_server_is_finished_by_the_next(db: Db) -> None:
    application = invention(db, ["A frame with a hinge."])
    store = AssessmentStore(db.engine, lease_s=0.6)
    job, _ = store.request(application.id, OWNER)
    stuck = Recorder(gate=asyncio.Event())  # never released: the "server" stops mid-job
    fresh = Recorder()

    async def run() -> None:
        first = AssessmentWorker(store, db.applications, stuck, poll_s=0.02)
        first.start()
        await asyncio.wait_for(stuck.started.wait(), 10)
        await first.stop()
        assert store.get(job.id).status == RUNNING  # left running, its lease running out
        second = AssessmentWorker(
            AssessmentStore(db.engine, lease_s=0.6), db.applications, fresh, poll_s=0.02
        )
        second.start()
        try:
            await _until(lambda: store.get(job.id).status == DONE)
        finally:
            await second.stop()

    asyncio.run(run())
    done = store.get(job.id)
    assert (stuck.runs[application.id], fresh.runs[application.id]) == (1, 1)
    assert done.attempts == 2 and done.report is not None


def test_a_worker_renews_its_lease_while_a_job_runs_longer_than_it(db: Db) -> None:
    application = invention(db, ["A frame with a hinge."])
    store = AssessmentStore(db.engine, lease_s=1.0)
    job, _ = store.request(application.id, OWNER)
    slow = Recorder(gate=asyncio.Event())
    other = Recorder()

    async def run() -> None:
        first = AssessmentWorker(store, db.applications, slow, poll_s=0.02)
        second = AssessmentWorker(
            AssessmentStore(db.engine, lease_s=1.0), db.applications, other, poll_s=0.05
        )
        first.start()
        await asyncio.wait_for(slow.started.wait(), 10)
        second.start()
        await asyncio.sleep(2.5)  # over two leases long: renewed, so never taken over
        assert slow.gate is not None
        slow.gate.set()
        try:
            await _until(lambda: store.get(job.id).status == DONE)
        finally:
            await first.stop()
            await second.stop()

    asyncio.run(run())
    assert other.runs[application.id] == 0
    assert store.get(job.id).attempts == 1


def test_an_engine_that_is_not_ready_fails_the_attempt_and_the_job_is_retried(db: Db) -> None:
    application = invention(db, ["A frame with a hinge."])
    store = AssessmentStore(db.engine)
    job, _ = store.request(application.id, OWNER)
    calls: list[str] = []

    async def flaky(app: Application) -> dict[str, Any]:
        calls.append(app.id)
        if len(calls) == 1:
            raise NotReady("the engine is not ready")
        return {"verdict": "likely_novel"}

    async def run() -> None:
        worker = AssessmentWorker(store, db.applications, flaky, poll_s=0.02)
        assert await worker.run_once()
        assert store.get(job.id).status == QUEUED
        assert store.get(job.id).error == "unavailable: the engine is not ready"
        assert await worker.run_once()
        assert not await worker.run_once()

    asyncio.run(run())
    done = store.get(job.id)
    assert (done.status, done.attempts, done.report) == (DONE, 2, {"verdict": "likely_novel"})


# --- the service's edges ----------------------------------------------------------------


def test_unknown_withdrawn_and_foreign_applications(db: Db) -> None:
    service = AssessmentService(db.engine, db.applications, db.attachments)
    with pytest.raises(NotFound):
        service.request("A0000000000000000", OWNER, office=True)
    application = invention(db, ["A frame with a hinge."])
    with pytest.raises(NotFound):
        service.latest(application.id, OWNER, office=False)  # none yet
    with pytest.raises(NotFound):
        service.request(application.id, "someone-else", office=False)
    job, created = service.request(application.id, "examiner", office=True)
    assert created and job.requested_by == "examiner"
    assert service.latest(application.id, OWNER, office=False).id == job.id
    db.applications.transition(application.id, "withdrawn", OWNER)
    with pytest.raises(Conflict, match="withdrawn"):
        service.request(application.id, OWNER, office=False)


# --- the search and the report ----------------------------------------------------------


@dataclass
class StubEngine:
    """Fixed answers per (collection, element text/word): records what it was asked."""

    served: list[CollectionRef]
    answers: Mapping[str, list[tuple[str, float, dict[str, Any]]]]
    asked: list[tuple[str, dict[str, Any], Any, Any]] = field(default_factory=list)

    async def collections(self) -> list[CollectionRef]:
        return self.served

    async def search(
        self,
        collection: str,
        query: Mapping[str, Any],
        *,
        k: int,
        filter: Mapping[str, Any] | None = None,
        mode: str | None = None,
    ) -> list[PriorArtHit]:
        self.asked.append((collection, dict(query), filter, mode))
        if "mesh_b64" in query and query.get("format") == "off" and collection == "broken":
            raise InvalidInput("query.mesh_b64", "cannot read this mesh")
        key = query.get("text") or query.get("word") or ("image" if "image_b64" in query else "")
        rows = self.answers.get(f"{collection}:{key}", [])
        return [PriorArtHit(collection, i, s, f) for i, s, f in rows][:k]


def test_an_invention_report_takes_the_best_hits_over_collections_and_the_worst_band(
    db: Db,
) -> None:
    application = invention(db, ["A frame with a hinge.", "A saddle <b>with</b> springs."])
    engine = StubEngine(
        served=[
            CollectionRef("patents", "text", 3),
            CollectionRef("old", "text", 2),
            CollectionRef("marks", "trademark", 9),
        ],
        answers={
            "patents:A frame with a hinge.": [("EP1", 0.95, {"title": "Hinged frame"})],
            "old:A frame with a hinge.": [("US9", 0.5, {}), ("US8", 0.2, {})],
            "patents:A saddle <b>with</b> springs.": [("EP2", 0.3, {"title": "Saddle"})],
        },
    )
    report = asyncio.run(assess(application, engine, db.attachments, T0))
    assert {c for c, *_ in engine.asked} == {"patents", "old"}  # text collections only
    assert len(engine.asked) == 3 * 2  # abstract + 2 claims, in each
    names = [e["element"] for e in report["elements"]]
    assert names == ["abstract", "claim 1", "claim 2"]
    claim1, claim2 = report["elements"][1], report["elements"][2]
    assert [(h["collection"], h["id"]) for h in claim1["hits"]] == [
        ("patents", "EP1"),
        ("old", "US9"),
        ("old", "US8"),
    ]
    assert claim1["hits"][0]["link"] == "/v1/collections/patents/documents/EP1"
    assert claim1["hits"][0]["title"] == "Hinged frame" and claim1["hits"][1]["title"] == "US9"
    assert claim1["verdict"] == Verdict.LIKELY_ANTICIPATED  # 0.95 >= TEXT.upper
    assert claim2["verdict"] == Verdict.NEEDS_REVIEW and claim2["field"] == "content.claims[1]"
    assert report["elements"][0]["verdict"] == Verdict.LIKELY_NOVEL  # searched, nothing found
    assert report["verdict"] == Verdict.LIKELY_ANTICIPATED and report["max_score"] == 0.95
    assert report["thresholds"] == {"text": {"lower": TEXT.lower, "upper": TEXT.upper,
                                             "calibrated": True}}  # fmt: skip
    assert report["application"]["id"] == application.id

    page = render(_done(application.id, report))
    assert "&lt;b&gt;with&lt;/b&gt;" in page and "<b>with</b>" not in page
    assert "<script" not in page and "@media print" in page
    assert 'href="/v1/collections/patents/documents/EP1"' in page
    assert "likely anticipated" in page


def test_without_a_collection_of_the_modality_the_verdict_is_needs_review(db: Db) -> None:
    application = invention(db, ["A frame with a hinge."])
    engine = StubEngine(served=[CollectionRef("marks", "trademark", 1)], answers={})
    report = asyncio.run(assess(application, engine, db.attachments, T0))
    assert engine.asked == []
    assert report["verdict"] == Verdict.NEEDS_REVIEW and report["max_score"] is None
    assert all(e["verdict"] is None and e["searched"] == [] for e in report["elements"])
    assert report["notes"] and "Nothing was searched" in report["notes"][0]


def test_a_trademark_is_searched_by_word_and_image_within_its_nice_classes(db: Db) -> None:
    image = db.attachments.put(PNG_1X1, "image/png", OWNER)
    body = {
        "kind": "trademark",
        "title": "PRO100",
        "applicant": APPLICANT,
        "content": {"word": "PRO100", "image": image.sha256, "nice_classes": [9, 42]},
    }
    application = db.applications.file(OWNER, parse_filing(body)).application
    engine = StubEngine(
        served=[CollectionRef("marks", "trademark", 2), CollectionRef("patents", "text", 1)],
        answers={
            "marks:PRO100": [("w1", 0.9, {"nice_classes": [9]})],
            "marks:image": [("f1", 0.4, {})],
        },
    )
    report = asyncio.run(assess(application, engine, db.attachments, T0))
    nice = {"nice_classes": {"in": [9, 42]}}
    assert sorted((c, f == nice, m) for c, _, f, m in engine.asked) == [
        ("marks", True, "all"),
        ("marks", True, "image"),
    ]
    word, picture = report["elements"]
    assert TRADEMARK.upper <= 0.9
    assert (word["element"], word["best_score"], word["verdict"]) == (
        "word",
        0.9,
        "likely_anticipated",
    )
    assert (picture["element"], picture["verdict"]) == ("image", "likely_novel")
    assert set(report["thresholds"]) == {"trademark_word", "trademark_image"}
    assert report["thresholds"]["trademark_image"] == {"lower": FIGURATIVE.lower,
                                                      "upper": FIGURATIVE.upper,
                                                      "calibrated": False}  # fmt: skip


def test_design_views_go_to_mesh_and_image_collections_and_rejections_are_recorded(
    db: Db,
) -> None:
    mesh = db.attachments.put(CUBE_OFF, None, OWNER)
    picture = db.attachments.put(PNG_1X1, None, OWNER)
    body = {
        "kind": "industrial_design",
        "title": "Box",
        "applicant": APPLICANT,
        "content": {"locarno": "09-03", "views": [mesh.sha256, picture.sha256]},
    }
    application = db.applications.file(OWNER, parse_filing(body)).application
    parts = elements_of(application, db.attachments)
    assert [(p.name, p.modality, p.query.get("format")) for p in parts] == [
        ("view 1", "mesh", "off"),
        ("view 2", "image", None),
    ]
    assert base64.b64decode(parts[0].query["mesh_b64"]) == CUBE_OFF
    engine = StubEngine(
        served=[CollectionRef("designs", "mesh", 5), CollectionRef("broken", "mesh", 5)],
        answers={},
    )
    report = asyncio.run(assess(application, engine, db.attachments, T0))
    view1, view2 = report["elements"]
    assert view1["searched"] == ["designs"]
    assert view1["errors"] == ["broken: query.mesh_b64: cannot read this mesh"]
    assert view1["verdict"] == "likely_novel"
    assert view2["searched"] == [] and view2["verdict"] is None  # no image collection


def _done(application_id: str, report: dict[str, Any]) -> Any:
    from ipsim.platform.filing.assessment import Job

    return Job("j1", application_id, DONE, 1, OWNER, T0, T0, T0, report, None)
