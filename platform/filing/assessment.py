"""The automated preliminary novelty assessment: a job table, its worker, and the search.

``POST /v1/applications/{id}/assessment`` queues a job (:meth:`AssessmentStore.request`); a
worker inside the server process (:class:`AssessmentWorker`) polls the ``assessments`` table,
claims a job, searches the engine with the application's content and stores the report.

Why a job table and not Celery/Redis: the platform already has a transactional database on
both backends, and a job here is a few dozen searches, so a second broker would add a service
to run without adding anything the table cannot do. The rules that make it safe:

- **Claim by compare-and-set.** ``UPDATE … SET status='running', lease_owner=<worker>,
  lease_until=now+lease WHERE id=:id AND (status='queued' OR (status='running' AND
  lease_until < now))``: one statement, so of two workers (threads, processes, servers) on one
  database exactly one changes the row (SQLite serialises writers with ``BEGIN IMMEDIATE``;
  PostgreSQL's second UPDATE waits for the first and re-checks its WHERE).
- **A lease, renewed while working.** A worker renews its lease every third of its length;
  a job whose worker died (a killed server) has its lease run out and is claimed again by the
  next poll of any worker — so a job survives a restart. The report is written with a CAS on
  ``lease_owner`` too, so a worker that lost its lease (paused past it) cannot overwrite the
  report of the one that took over: each job gets exactly one report.
- **Bounded attempts.** ``attempts`` counts claims; a job that fails (or whose lease runs out)
  :data:`MAX_ATTEMPTS` times is ``failed`` with the error.
- **One active job per application.** A partial unique index on ``application_id`` where the
  status is queued or running: a second request while one is active answers that one, even
  when two requests race.

What is searched, per kind (every collection of the matching modality the engine serves):
inventions and utility models: the abstract and each claim in every ``text`` collection;
industrial designs: each mesh view in every ``mesh`` collection (image views in every
``image`` collection); trademarks: the word (mode ``all``) and the image (mode ``image``) in
every ``trademark`` collection, filtered to marks sharing a Nice class with the application.
Each element keeps its :data:`TOP_K` best hits over all collections; its verdict band comes
from its modality's thresholds (:mod:`ipsim.platform.filing.verdict`) and the worst element
decides the report's verdict. A search the engine rejects for this element (a view in a
format the mesh encoder cannot read) is recorded on the element, not retried; an engine that
is not ready fails the attempt (retried).

The tables are made by revision ``0005``; the table object here describes them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    and_,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from ipsim.engine.errors import Conflict, EngineError, InvalidInput, NotFound
from ipsim.platform.database import as_utc, iso_utc, writer
from ipsim.platform.filing.applications import Application, ApplicationStore, record_event
from ipsim.platform.filing.attachments import MESH_TYPES, AttachmentStore, family_of
from ipsim.platform.filing.facade import CollectionRef, PriorArtHit, SearchEngine
from ipsim.platform.filing.states import WITHDRAWN
from ipsim.platform.filing.verdict import THRESHOLDS, Verdict, worst

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
ACTIVE = (QUEUED, RUNNING)
MAX_ATTEMPTS = 3
LEASE_S = 60.0
POLL_S = 0.5
TOP_K = 5
"""Hits kept per element (each collection is asked for this many)."""
CONCURRENT_SEARCHES = 8
EXCERPT_CHARS = 300
ACTOR = "assessment"
"""The actor of the ``assessment`` events the worker records."""
PATENT_KINDS = ("invention", "utility_model")

metadata = MetaData()
assessments_table = Table(
    "assessments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "application_id",
        ForeignKey("applications.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("lease_owner", String(36)),
    Column("lease_until", DateTime(timezone=True)),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("started", DateTime(timezone=True)),
    Column("finished", DateTime(timezone=True)),
    Column("report", JSON),
    Column("error", Text),
)
Index("assessments_by_application", assessments_table.c.application_id, assessments_table.c.created)
Index("assessments_by_status", assessments_table.c.status, assessments_table.c.created)


# --- jobs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One assessment of one application; ``report`` is set when ``status`` is ``done``."""

    id: str
    application_id: str
    status: str
    attempts: int
    requested_by: str
    created: datetime
    started: datetime | None
    finished: datetime | None
    report: dict[str, Any] | None
    error: str | None
    lease_owner: str | None = None

    def to_json(self, *, with_report: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "application_id": self.application_id,
            "status": self.status,
            "attempts": self.attempts,
            "requested_by": self.requested_by,
            "created": _iso(self.created),
            "started": _iso(self.started),
            "finished": _iso(self.finished),
            "error": self.error,
        }
        if with_report:
            out["report"] = self.report
        return out


Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class AssessmentStore:
    """The ``assessments`` table: requests, claims, leases and results."""

    def __init__(
        self,
        engine: Engine,
        *,
        lease_s: float = LEASE_S,
        max_attempts: int = MAX_ATTEMPTS,
        clock: Clock = _now,
    ) -> None:
        self._engine = engine
        self._writer = writer(engine)
        self.lease = timedelta(seconds=lease_s)
        self.max_attempts = max_attempts
        self._clock = clock

    def request(self, application_id: str, requested_by: str) -> tuple[Job, bool]:
        """Queue an assessment; a job already queued or running is answered instead.

        Returns the job and whether it is new. The caller checks the application exists.
        """
        job_id = secrets.token_hex(16)
        row = {
            "id": job_id,
            "application_id": application_id,
            "status": QUEUED,
            "attempts": 0,
            "requested_by": requested_by,
            "created": self._clock(),
        }
        try:
            with self._writer.begin() as db:
                active = db.execute(_active(application_id)).first()
                if active is not None:
                    return _job(active), False
                db.execute(insert(assessments_table).values(**row))
        except IntegrityError:
            # Another request queued one between our check and insert (PostgreSQL): the
            # partial unique index stopped ours; answer theirs.
            with self._engine.connect() as db:
                active = db.execute(_active(application_id)).first()
            if active is None:
                raise
            return _job(active), False
        return self.get(job_id), True

    def get(self, job_id: str) -> Job:
        with self._engine.connect() as db:
            found = db.execute(
                select(assessments_table).where(assessments_table.c.id == job_id)
            ).first()
        if found is None:
            raise NotFound(f"assessment {job_id!r} does not exist")
        return _job(found)

    def latest(self, application_id: str) -> Job:
        """The application's newest assessment; ``NotFound`` when it has none."""
        t = assessments_table
        with self._engine.connect() as db:
            found = db.execute(
                select(t)
                .where(t.c.application_id == application_id)
                .order_by(t.c.created.desc(), t.c.id)
                .limit(1)
            ).first()
        if found is None:
            raise NotFound(f"application {application_id!r} has no assessment yet")
        return _job(found)

    def claim(self, owner: str) -> Job | None:
        """Take the oldest claimable job for ``owner`` (None: nothing to do).

        Claimable: queued, or running with an expired lease (its worker died). One that has
        used up its attempts is marked failed instead.
        """
        t = assessments_table
        now = self._clock()
        claimable = or_(t.c.status == QUEUED, and_(t.c.status == RUNNING, t.c.lease_until < now))
        with self._engine.connect() as db:
            candidates = db.execute(
                select(t.c.id, t.c.attempts).where(claimable).order_by(t.c.created).limit(16)
            ).all()
        for candidate in candidates:
            with self._writer.begin() as db:
                if candidate.attempts >= self.max_attempts:
                    db.execute(
                        update(t)
                        .where(t.c.id == candidate.id, claimable)
                        .values(
                            status=FAILED,
                            finished=now,
                            lease_owner=None,
                            lease_until=None,
                            error=f"gave up after {candidate.attempts} attempts "
                            "(the worker running it stopped)",
                        )
                    )
                    continue
                won = db.execute(
                    update(t)
                    .where(t.c.id == candidate.id, claimable)
                    .values(
                        status=RUNNING,
                        lease_owner=owner,
                        lease_until=now + self.lease,
                        attempts=t.c.attempts + 1,
                        started=now,
                    )
                ).rowcount
            if won == 1:
                return self.get(candidate.id)
        return None

    def renew(self, job_id: str, owner: str) -> bool:
        """Extend ``owner``'s lease; False when it no longer holds the job."""
        t = assessments_table
        with self._writer.begin() as db:
            changed = db.execute(
                update(t)
                .where(t.c.id == job_id, t.c.lease_owner == owner, t.c.status == RUNNING)
                .values(lease_until=self._clock() + self.lease)
            ).rowcount
        return changed == 1

    def finish(self, job: Job, owner: str, report: dict[str, Any]) -> bool:
        """Store the report and record an ``assessment`` event; False if the lease was lost."""
        summary: dict[str, Any] = {"assessment": job.id, "status": DONE}
        summary |= {key: report.get(key) for key in ("verdict", "max_score")}
        return self._close(job, owner, {"status": DONE, "report": report}, summary)

    def fail(self, job: Job, owner: str, error: str) -> bool:
        """Give the job back for another attempt, or fail it after the last one."""
        if job.attempts < self.max_attempts:
            t = assessments_table
            with self._writer.begin() as db:
                changed = db.execute(
                    update(t)
                    .where(t.c.id == job.id, t.c.lease_owner == owner, t.c.status == RUNNING)
                    .values(status=QUEUED, lease_owner=None, lease_until=None, error=error)
                ).rowcount
            return changed == 1
        summary = {"assessment": job.id, "status": FAILED, "error": error}
        return self._close(job, owner, {"status": FAILED, "error": error}, summary)

    def _close(self, job: Job, owner: str, values: dict[str, Any], event: dict[str, Any]) -> bool:
        t = assessments_table
        with self._writer.begin() as db:
            changed = db.execute(
                update(t)
                .where(t.c.id == job.id, t.c.lease_owner == owner, t.c.status == RUNNING)
                .values(finished=self._clock(), lease_owner=None, lease_until=None, **values)
            ).rowcount
            if changed != 1:
                return False
            record_event(db, job.application_id, "assessment", ACTOR, event)
        return True


def _active(application_id: str) -> Any:
    t = assessments_table
    return select(t).where(t.c.application_id == application_id, t.c.status.in_(ACTIVE))


def _job(row: Row[Any]) -> Job:
    return Job(
        id=row.id,
        application_id=row.application_id,
        status=row.status,
        attempts=row.attempts,
        requested_by=row.requested_by,
        created=_utc(row.created) or row.created,
        started=_utc(row.started),
        finished=_utc(row.finished),
        report=row.report,
        error=row.error,
        lease_owner=row.lease_owner,
    )


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)


# --- the search ---------------------------------------------------------------------


@dataclass(frozen=True)
class Element:
    """One part of an application searched on its own: a claim, a view, a mark's word."""

    name: str
    """How the report names it: ``claim 2``, ``view 1``, ``word``."""
    field: str
    """Where it is in the application: ``content.claims[1]``."""
    modality: str
    """The modality of the collections it is searched in."""
    query: dict[str, Any]
    scale: str = ""
    """Whose thresholds judge its scores (:data:`THRESHOLDS`); default: the modality's."""
    mode: str | None = None
    filter: dict[str, Any] | None = None
    excerpt: str | None = None
    problem: str | None = None
    """Why it cannot be searched at all (an attachment that is gone)."""


@dataclass
class ElementResult:
    element: Element
    hits: list[PriorArtHit] = field(default_factory=list)
    searched: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def elements_of(application: Application, attachments: AttachmentStore) -> list[Element]:
    """What to search for ``application``, per its kind (see the module docstring)."""
    content = application.content
    if application.kind in PATENT_KINDS:
        parts = [
            Element(
                "abstract",
                "content.abstract",
                "text",
                {"text": content["abstract"]},
                excerpt=_excerpt(content["abstract"]),
            )
        ]
        for i, claim in enumerate(content["claims"]):
            parts.append(
                Element(
                    f"claim {i + 1}",
                    f"content.claims[{i}]",
                    "text",
                    {"text": claim},
                    excerpt=_excerpt(claim),
                )
            )
        return parts
    if application.kind == "industrial_design":
        return [
            _view(attachments, sha, f"view {i + 1}", f"content.views[{i}]")
            for i, sha in enumerate(content["views"])
        ]
    if application.kind == "trademark":
        nice = {"nice_classes": {"in": list(content["nice_classes"])}}
        parts = []
        if "word" in content:
            parts.append(
                Element(
                    "word",
                    "content.word",
                    "trademark",
                    {"word": content["word"]},
                    scale="trademark_word",
                    mode="all",
                    filter=nice,
                    excerpt=content["word"],
                )
            )
        if "image" in content:
            image = _image_b64(attachments, content["image"])
            parts.append(
                Element(
                    "image",
                    "content.image",
                    "trademark",
                    {"image_b64": image or ""},
                    scale="trademark_image",
                    mode="image",
                    filter=nice,
                    excerpt=content["image"],
                    problem=None if image else "the attachment is missing",
                )
            )
        return parts
    raise InvalidInput("kind", f"cannot assess applications of kind {application.kind!r}")


def _view(attachments: AttachmentStore, sha: str, name: str, where: str) -> Element:
    try:
        stored = attachments.get(sha)
        data = attachments.path(sha).read_bytes()
    except (NotFound, OSError):
        return Element(name, where, "mesh", {}, excerpt=sha, problem="the attachment is missing")
    encoded = base64.b64encode(data).decode()
    if family_of(stored.media_type) == "image":
        return Element(name, where, "image", {"image_b64": encoded}, excerpt=sha)
    fmt = next(f for f, media in MESH_TYPES.items() if media == stored.media_type)
    return Element(name, where, "mesh", {"mesh_b64": encoded, "format": fmt}, excerpt=sha)


def _image_b64(attachments: AttachmentStore, sha: str) -> str | None:
    try:
        attachments.get(sha)
        return base64.b64encode(attachments.path(sha).read_bytes()).decode()
    except (NotFound, OSError):
        return None


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


async def search_elements(
    engine: SearchEngine, elements: Sequence[Element]
) -> tuple[list[ElementResult], list[CollectionRef]]:
    """Every element in every collection of its modality; the collections that were used."""
    collections = await engine.collections()
    wanted = {e.modality for e in elements}
    used = [c for c in collections if c.modality in wanted]
    results = [ElementResult(e) for e in elements]
    gate = asyncio.Semaphore(CONCURRENT_SEARCHES)

    async def one(result: ElementResult, collection: CollectionRef) -> None:
        e = result.element
        async with gate:
            try:
                hits = await engine.search(
                    collection.name, e.query, k=TOP_K, filter=e.filter, mode=e.mode
                )
            except (InvalidInput, NotFound) as exc:  # this element cannot run there
                result.errors.append(f"{collection.name}: {exc.message}")
                return
        result.searched.append(collection.name)
        result.hits.extend(hits)

    await asyncio.gather(
        *(
            one(result, collection)
            for result in results
            if result.element.problem is None
            for collection in used
            if collection.modality == result.element.modality
        )
    )
    for result in results:
        result.hits.sort(key=lambda h: (-h.score, h.collection, h.id))
        del result.hits[TOP_K:]
        result.searched.sort()
    return results, used


def build_report(
    application: Application,
    results: Sequence[ElementResult],
    collections: Sequence[CollectionRef],
    generated: datetime,
) -> dict[str, Any]:
    """The report as stored and answered (plain JSON)."""
    elements = [_element_json(r) for r in results]
    decided = [Verdict(e["verdict"]) for e in elements if e["verdict"] is not None]
    scores = [e["best_score"] for e in elements if e["best_score"] is not None]
    notes = []
    if not decided:
        notes.append(
            "Nothing was searched (no collection of the matching modality, or no element could "
            "be read): the verdict is needs_review, not evidence of novelty."
        )
    scales = sorted({_scale(r.element) for r in results})
    return {
        "application": {
            "id": application.id,
            "kind": application.kind,
            "title": application.title,
            "status": application.status,
        },
        "verdict": worst(decided).value,
        "max_score": max(scores) if scores else None,
        "elements": elements,
        "collections": [
            {"name": c.name, "modality": c.modality, "count": c.count} for c in collections
        ],
        "thresholds": {s: {**THRESHOLDS[s].__dict__} for s in scales if s in THRESHOLDS},
        "notes": notes,
        "generated": _iso(generated),
    }


def _scale(element: Element) -> str:
    return element.scale or element.modality


def _element_json(result: ElementResult) -> dict[str, Any]:
    e = result.element
    best = result.hits[0].score if result.hits else None
    thresholds = THRESHOLDS.get(_scale(e))
    verdict: str | None = None
    if result.searched and thresholds is not None:
        verdict = thresholds.band(best).value
    return {
        "element": e.name,
        "field": e.field,
        "modality": e.modality,
        "excerpt": e.excerpt,
        "filter": e.filter,
        "searched": result.searched,
        "best_score": best,
        "verdict": verdict,
        "hits": [_hit_json(h) for h in result.hits],
        "errors": ([e.problem] if e.problem else []) + result.errors,
    }


def _hit_json(hit: PriorArtHit) -> dict[str, Any]:
    fields = hit.fields
    title = fields.get("title") or fields.get("word") or fields.get("name") or hit.id
    return {
        "collection": hit.collection,
        "id": hit.id,
        "score": hit.score,
        "title": str(title),
        "fields": fields,
        "link": f"/v1/collections/{quote(hit.collection, safe='')}/documents/"
        f"{quote(hit.id, safe='')}",
    }


async def assess(
    application: Application, engine: SearchEngine, attachments: AttachmentStore, now: datetime
) -> dict[str, Any]:
    """Search for ``application`` and build its report."""
    elements = await asyncio.to_thread(elements_of, application, attachments)
    results, used = await search_elements(engine, elements)
    return build_report(application, results, used, now)


# --- the worker ---------------------------------------------------------------------


Assess = Callable[[Application], Awaitable[dict[str, Any]]]


class AssessmentWorker:
    """Polls the table and runs one job at a time in the server's event loop.

    Database calls run in worker threads; the searches are awaited on the loop (the engine
    is asyncio-native). ``assess`` builds a report for an application.
    """

    def __init__(
        self,
        store: AssessmentStore,
        applications: ApplicationStore,
        assess: Assess,
        *,
        poll_s: float = POLL_S,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.applications = applications
        self._assess = assess
        self.poll_s = poll_s
        self.owner = owner or str(uuid.uuid4())
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"assessment-worker-{self.owner}")

    async def stop(self) -> None:
        """Stop polling; a job in progress is abandoned (its lease runs out, another worker
        picks it up)."""
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                ran = await self.run_once()
            except Exception:  # a database hiccup: log it and poll again
                log.exception("assessment worker %s: polling failed", self.owner)
                ran = False
            if not ran:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.poll_s)

    async def run_once(self) -> bool:
        """Claim and run one job; False when there was none."""
        job = await asyncio.to_thread(self.store.claim, self.owner)
        if job is None:
            return False
        work = asyncio.create_task(self._report(job))
        renewer = asyncio.create_task(self._renew(job, work))
        try:
            report = await work
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if (current is not None and current.cancelling()) or not renewer.done():
                raise  # the worker is stopping
            log.warning("assessment %s: lease lost; another worker has it", job.id)
            return True
        except Exception as exc:  # the error is the job's, recorded on it
            log.warning("assessment %s failed (attempt %d): %s", job.id, job.attempts, exc)
            await asyncio.to_thread(self.store.fail, job, self.owner, _describe(exc))
            return True
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        await asyncio.to_thread(self.store.finish, job, self.owner, report)
        return True

    async def _report(self, job: Job) -> dict[str, Any]:
        application = await asyncio.to_thread(self.applications.get, job.application_id)
        return await self._assess(application)

    async def _renew(self, job: Job, work: asyncio.Task[dict[str, Any]]) -> None:
        interval = self.store.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            if not await asyncio.to_thread(self.store.renew, job.id, self.owner):
                work.cancel()
                return


def _describe(exc: BaseException) -> str:
    if isinstance(exc, EngineError):
        return f"{exc.code}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


# --- the service the server holds ---------------------------------------------------


class AssessmentService:
    """Requests and reports for the routes; the worker, once the engine is attached.

    Visibility follows the application: its owner and the office (``office=True``: an admin
    key) see it; to anyone else it does not exist (404, as for the application itself).
    """

    def __init__(
        self,
        database: Engine,
        applications: ApplicationStore,
        attachments: AttachmentStore,
        *,
        poll_s: float = POLL_S,
    ) -> None:
        self.store = AssessmentStore(database)
        self.applications = applications
        self.attachments = attachments
        self.poll_s = poll_s
        self.engine: SearchEngine | None = None
        self.worker: AssessmentWorker | None = None

    def request(self, application_id: str, caller: str, *, office: bool) -> tuple[Job, bool]:
        """Queue an assessment (or answer the active one) and whether it is new.

        ``NotFound`` for an unknown application; ``Conflict`` (409) for a withdrawn one: it
        left the procedure, so a prior-art search serves nobody.
        """
        application = self.applications.get_visible(application_id, caller, office=office)
        if application.status == WITHDRAWN:
            raise Conflict(f"application {application_id} is withdrawn: it cannot be assessed")
        return self.store.request(application_id, caller)

    def latest(self, application_id: str, caller: str, *, office: bool) -> Job:
        """The newest assessment; ``NotFound`` for an unknown application or none yet."""
        self.applications.get_visible(application_id, caller, office=office)
        return self.store.latest(application_id)

    def attach(self, engine: SearchEngine) -> None:
        """The engine the worker searches (``ipsim serve`` attaches it once it is up)."""
        self.engine = engine

    async def start(self) -> None:
        """Start the worker; without an engine jobs wait in the table for one that has it."""
        engine = self.engine
        if engine is None or self.worker is not None:
            return

        async def run(application: Application) -> dict[str, Any]:
            return await assess(application, engine, self.attachments, _now())

        self.worker = AssessmentWorker(self.store, self.applications, run, poll_s=self.poll_s)
        self.worker.start()

    async def close(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
            self.worker = None


__all__ = [
    "ACTIVE",
    "DONE",
    "FAILED",
    "MAX_ATTEMPTS",
    "QUEUED",
    "RUNNING",
    "TOP_K",
    "AssessmentService",
    "AssessmentStore",
    "AssessmentWorker",
    "Element",
    "ElementResult",
    "Job",
    "assess",
    "assessments_table",
    "build_report",
    "elements_of",
    "search_elements",
]
