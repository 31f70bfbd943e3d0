"""Re-index and rollback jobs: start one on a collection, follow its progress (admin scope).

Starting answers 202 with the job at once; the copy runs in the server
(:mod:`ipsim.engine.reindex`) and ``GET /v1/jobs/{id}`` follows it, across restarts too.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from ipsim.engine.reindex import Job
from ipsim.engine.types import IndexSpec
from ipsim.server.deps import ADMIN, EngineDep
from ipsim.server.schemas import IndexBody, error_responses

router = APIRouter(tags=["jobs"])
ERRORS = error_responses(400, 401, 403, 404, 409, 503)


class ReindexBody(BaseModel):
    """What to change: the model, the index, or neither (a rebuild); the rest is kept."""

    model_config = ConfigDict(extra="forbid")
    model: StrictStr | None = None
    index: IndexBody | None = None
    ray: StrictStr | StrictBool | None = Field(
        None,
        description="Encode on this Ray cluster's actors (`HOST:PORT`, `auto`, `ray://HOST:PORT`;"
        " `true`: the server's own `IPSIM_RAY_ADDRESS`); default: in the server.",
    )


class JobOut(BaseModel):
    id: str
    collection: str
    kind: str
    state: str
    done: int
    total: int
    copied: int
    started: str | None
    finished: str | None
    error: str | None
    from_version: int
    to_version: int
    model: str
    index: dict[str, Any]
    ray: str | None = Field(None, description="The Ray cluster encoding the copy, if any.")

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(**{name: getattr(job, name) for name in cls.model_fields})


class JobStartedOut(BaseModel):
    job: JobOut


class JobsOut(BaseModel):
    jobs: list[JobOut]


@router.post(
    "/v1/collections/{name}/reindex", status_code=202, dependencies=[ADMIN], responses=ERRORS
)
async def reindex(name: str, body: ReindexBody, engine: EngineDep) -> JobStartedOut:
    index = None
    if body.index is not None:
        index = IndexSpec(type=body.index.type, params=dict(body.index.model_extra or {}))
    job = await engine.jobs.reindex(name, body.model, index, ray=body.ray)
    return JobStartedOut(job=JobOut.of(job))


@router.post(
    "/v1/collections/{name}/rollback", status_code=202, dependencies=[ADMIN], responses=ERRORS
)
async def rollback(name: str, engine: EngineDep) -> JobStartedOut:
    return JobStartedOut(job=JobOut.of(await engine.jobs.rollback(name)))


@router.get("/v1/jobs", dependencies=[ADMIN], responses=ERRORS)
async def list_jobs(engine: EngineDep) -> JobsOut:
    return JobsOut(jobs=[JobOut.of(job) for job in engine.jobs.list()])


@router.get("/v1/jobs/{job_id}", dependencies=[ADMIN], responses=ERRORS)
async def get_job(job_id: str, engine: EngineDep) -> JobOut:
    return JobOut.of(engine.jobs.get(job_id))
