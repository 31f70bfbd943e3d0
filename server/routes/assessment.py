"""/v1/applications/{id}/assessment: the automated preliminary novelty assessment.

``POST`` queues a background job and answers 202 at once (a job already queued or running
for the application is answered instead of a second one); ``GET`` answers the newest job,
with its report once done, as JSON or as a printable HTML page (``?format=html`` or an
``Accept`` header preferring ``text/html``). The work itself is
:mod:`ipsim.platform.filing.assessment`; handlers are plain functions (FastAPI runs them in
its thread pool, so the database round trips never block the loop that serves searches).

Who: the application's owner (the key that filed it) or the office (an ``admin`` key); to
anyone else the application does not exist (404). An unknown application is 404, one with no
assessment yet too; a withdrawn one is 409 on ``POST`` (it left the procedure).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from ipsim.platform.filing.assessment import AssessmentService, Job
from ipsim.platform.filing.report_html import render
from ipsim.server.auth import Caller
from ipsim.server.deps import READ, WRITE, CallerDep, platform_of
from ipsim.server.schemas import error_responses

router = APIRouter(prefix="/v1/applications/{application_id}", tags=["filing"])
ERRORS = error_responses(400, 401, 403, 404, 409, 503)
OFFICE_SCOPE = "admin"
"""The office sees every application; anyone else only their own (others' are 404)."""


def get_service(request: Request) -> AssessmentService:
    return platform_of(request).assessments


ServiceDep = Annotated[AssessmentService, Depends(get_service)]


def _out(job: Job) -> dict[str, Any]:
    return job.to_json() | {"link": f"/v1/applications/{job.application_id}/assessment"}


@router.post("/assessment", status_code=202, dependencies=[WRITE], responses=ERRORS)
def request_assessment(application_id: str, service: ServiceDep, caller: CallerDep) -> JSONResponse:
    """Queue a preliminary novelty assessment: the engine is searched with the application's
    content (claims and abstract, design views, the mark's word and image within its Nice
    classes) in every collection of the matching modality.

    Answers 202 with the job (`id`, `status`: `queued` | `running` | `done` | `failed`); poll
    `GET` on the same path for the report. While a job is queued or running, a new request
    answers that job (200) instead of starting another.
    """
    job, created = service.request(application_id, caller.identity, office=_office(caller))
    return JSONResponse(_out(job), status_code=202 if created else 200)


@router.get("/assessment", dependencies=[READ], responses=ERRORS)
def get_assessment(
    application_id: str,
    request: Request,
    service: ServiceDep,
    caller: CallerDep,
    format: Annotated[
        Literal["json", "html"] | None,
        Query(description="`html`: a printable page; default JSON (or per the Accept header)."),
    ] = None,
) -> Response:
    """The newest assessment of the application, with its `report` once `status` is `done`:
    `verdict` (`likely_novel` | `needs_review` | `likely_anticipated`), `max_score`, and per
    element (claim, abstract, view, word, image) its nearest prior art with scores and links."""
    job = service.latest(application_id, caller.identity, office=_office(caller))
    if format == "html" or (format is None and _prefers_html(request)):
        return HTMLResponse(render(job))
    return JSONResponse(_out(job))


def _office(caller: Caller) -> bool:
    return OFFICE_SCOPE in caller.scopes


def _prefers_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    html = accept.find("text/html")
    json = accept.find("application/json")
    return html >= 0 and (json < 0 or html < json)
