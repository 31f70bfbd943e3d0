"""/v1/applications and /v1/attachments: online filing, status tracking and the change feed.

The route layer parses, works out who is calling and enforces who may do what; the rules of
the data (content per kind, the status machine, idempotency, fees) live in
:mod:`ipsim.platform.filing`.

Who may do what:

* filing (``POST /v1/applications``) needs ``write``; the key's identity becomes the owner;
* an application is visible to its owner and to the office (a key with ``admin``); to anyone
  else it does not exist (404), so an id reveals nothing;
* transitions: the office may make any the status machine allows; the owner may only
  withdraw (``{"to": "withdrawn"}``); anything else by the owner is 403;
* listing and the change feed show the caller's own applications, or everyone's to the office;
* attachments: uploading needs ``write``; reading one needs ``read`` and its sha256 (content
  addressing makes the hash the capability).

An ``Idempotency-Key`` replay answers 201 with the first answer's body, as Stripe does, and
adds ``Idempotent-Replayed: true``.

Handlers are plain functions (FastAPI runs them in its thread pool) except the upload, which
reads the body asynchronously and stores it in the thread pool: no database or disk round trip
blocks the event loop that serves searches.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool

from ipsim.platform.database import iso_utc
from ipsim.platform.filing.applications import (
    MAX_PAGE,
    Application,
    ApplicationStore,
    Event,
    parse_since,
)
from ipsim.platform.filing.attachments import AttachmentStore
from ipsim.platform.filing.content import parse_filing
from ipsim.platform.filing.states import WITHDRAWN, check_status
from ipsim.platform.services import Platform
from ipsim.server.auth import AuthError, Caller
from ipsim.server.deps import MAX_SQL_INT, READ, WRITE, CallerDep, PlatformDep, platform_of
from ipsim.server.schemas import error_responses

router = APIRouter(tags=["filing"])
PREFIX = "/v1/applications"
ERRORS = error_responses(400, 401, 403, 404, 409, 503)
UPLOAD_ERRORS = error_responses(400, 401, 403, 413, 415, 503)
REPLAYED_HEADER = "Idempotent-Replayed"


def get_store(request: Request) -> ApplicationStore:
    return platform_of(request).applications


def get_attachments(request: Request) -> AttachmentStore:
    return platform_of(request).attachments


StoreDep = Annotated[ApplicationStore, Depends(get_store)]
AttachmentsDep = Annotated[AttachmentStore, Depends(get_attachments)]


def is_office(caller: Caller) -> bool:
    """The office is any key with the ``admin`` scope."""
    return "admin" in caller.scopes


def visible_application(
    store: ApplicationStore, caller: Caller, application_id: str
) -> Application:
    """The application if the caller owns it or is the office; 404 otherwise (for every
    route under ``/v1/applications/{id}``)."""
    return store.get_visible(application_id, caller.identity, office=is_office(caller))


# --- bodies and answers ------------------------------------------------------------


class TransitionBody(BaseModel):
    """A status change: the status to move to and, optionally, why."""

    model_config = ConfigDict(extra="forbid")
    to: StrictStr = Field(description="The next status (see the status machine).")
    reason: StrictStr | None = Field(None, description="Why, 1-4000 characters; kept in history.")


class EventOut(BaseModel):
    """An entry of an application's log; in the change feed, `seq` is the cursor."""

    seq: int
    application_id: str
    kind: str
    """`filed`, `transition`, `message`, `assessment` or `fees`."""
    from_status: str | None
    to_status: str | None
    actor: str
    reason: str | None
    data: dict[str, Any] | None
    at: str

    @classmethod
    def of(cls, event: Event) -> EventOut:
        return cls(**event.to_json())


class ApplicationSummaryOut(BaseModel):
    id: str
    link: str
    kind: str
    title: str
    applicant: dict[str, Any]
    status: str
    owner: str
    created: str
    updated: str

    @classmethod
    def of(cls, application: Application) -> ApplicationSummaryOut:
        return cls(
            id=application.id,
            link=f"{PREFIX}/{application.id}",
            kind=application.kind,
            title=application.title,
            applicant=application.applicant,
            status=application.status,
            owner=application.owner,
            created=iso_utc(application.created),
            updated=iso_utc(application.updated),
        )


class ApplicationOut(ApplicationSummaryOut):
    """An application with its status history, fees and open deadlines."""

    representative: dict[str, Any] | None
    content: dict[str, Any]
    fields: dict[str, Any]
    allowed_transitions: list[str]
    """The statuses that may follow the current one."""
    history: list[EventOut]
    """Every event, oldest first."""
    fees: list[dict[str, Any]]
    """The fee quotes incurred (money as strings), oldest first."""
    deadlines: list[Any] = []
    """Office requests' deadlines, open ones first: `{message_id, subject, due, open, overdue,
    answered_by, answered_at}` (correspondence)."""


class ApplicationsOut(BaseModel):
    applications: list[ApplicationSummaryOut]
    """Newest first."""
    total: int


class ChangesOut(BaseModel):
    changes: list[EventOut]
    """Events with `seq` greater than `after`, in `seq` order."""
    next: int
    """The `after` of the next poll: the last `seq` returned (or `after` when none)."""


class AttachmentOut(BaseModel):
    sha256: str
    size: int
    media_type: str


def application_view(platform: Platform, application: Application) -> ApplicationOut:
    """The full answer for one application (GET, POST, transitions)."""
    store = platform.applications
    summary = ApplicationSummaryOut.of(application)
    return ApplicationOut(
        **summary.model_dump(),
        representative=application.representative,
        content=application.content,
        fields=application.fields,
        allowed_transitions=list(application.allowed),
        history=[EventOut.of(event) for event in store.history(application.id)],
        fees=[fee.to_json() for fee in store.fees(application.id)],
        deadlines=[d.to_json() for d in platform.correspondence.deadlines(application.id)],
    )


# --- applications ------------------------------------------------------------------


@router.post(PREFIX, status_code=201, dependencies=[WRITE], responses=ERRORS)
def file_application(
    body: Annotated[dict[str, Any], Body()],
    platform: PlatformDep,
    caller: CallerDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> ApplicationOut:
    """File an application: `{"kind", "title", "applicant", "representative"?, "content",
    "fields"?}` → 201 with `id`, `status` (`received`) and `fees` (the filing fee).

    - `kind`: `invention`, `utility_model`, `industrial_design` or `trademark`.
    - `applicant`: `{"name", "country" (ISO alpha-2), "type" (individual|sme|legal_entity),
      "email"?, "callback_url"?}`; `representative`: `{"registration_number", "name"}`.
    - `content` per kind: inventions and utility models `{"abstract", "claims": [...],
      "description"?, "ipc"?: [...]}`; designs `{"locarno", "views": [sha256...]}`; marks
      `{"word"?, "image"?: sha256, "nice_classes": [...], "vienna"?, "goods_services"?}`.
      Attachments are uploaded first (`POST /v1/attachments`) and referenced by sha256.

    With an `Idempotency-Key` header, a retry with the same body answers the first
    application (201 again, header `Idempotent-Replayed: true`); the same key with another
    body is 409.
    """
    filing = parse_filing(body)
    filed = platform.applications.file(caller.identity, filing, idempotency_key=idempotency_key)
    if filed.replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return application_view(platform, filed.application)


@router.get(PREFIX, dependencies=[READ], responses=ERRORS)
def list_applications(
    store: StoreDep,
    caller: CallerDep,
    status: Annotated[str | None, Query(description="Only applications in this status.")] = None,
    applicant: Annotated[
        str | None,
        Query(description="A case-insensitive substring of the applicant's name."),
    ] = None,
    kind: Annotated[str | None, Query(description="Only this kind.")] = None,
    since: Annotated[
        str | None,
        Query(description="Last status change at or after: YYYY-MM-DD or an ISO date-time."),
    ] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_SQL_INT)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> ApplicationsOut:
    """A page of applications, newest first, and how many match: the caller's own, or
    everyone's for the office."""
    found, total = store.find(
        owner=None if is_office(caller) else caller.identity,
        status=status,
        applicant=applicant,
        kind=kind,
        since=None if since is None else parse_since(since),
        offset=offset,
        limit=limit,
    )
    return ApplicationsOut(applications=[ApplicationSummaryOut.of(a) for a in found], total=total)


@router.get(f"{PREFIX}/changes", dependencies=[READ], responses=ERRORS)
def application_changes(
    store: StoreDep,
    caller: CallerDep,
    after: Annotated[
        int, Query(ge=0, le=MAX_SQL_INT, description="The last `seq` already seen.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> ChangesOut:
    """The change feed for external systems: events after `after`, in `seq` order.

    Poll with `after` = the previous answer's `next`; no event is ever skipped (events are
    committed in `seq` order). The office sees every application's events, others their own.
    """
    owner = None if is_office(caller) else caller.identity
    events = store.changes(after, limit, owner=owner)
    return ChangesOut(
        changes=[EventOut.of(e) for e in events], next=events[-1].seq if events else after
    )


@router.get(f"{PREFIX}/{{application_id}}", dependencies=[READ], responses=ERRORS)
def get_application(
    application_id: str, platform: PlatformDep, caller: CallerDep
) -> ApplicationOut:
    """The application with its status, allowed next statuses, history, fees and deadlines."""
    application = visible_application(platform.applications, caller, application_id)
    return application_view(platform, application)


@router.post(f"{PREFIX}/{{application_id}}/transitions", dependencies=[WRITE], responses=ERRORS)
def transition_application(
    application_id: str, body: TransitionBody, platform: PlatformDep, caller: CallerDep
) -> ApplicationOut:
    """Move the application to status `to` → the application in its new status.

    The office (admin key) may make any transition the status machine allows; the owner may
    only withdraw. A transition the machine forbids is 409 naming the current status and the
    allowed ones; an unknown status is 400.
    """
    store = platform.applications
    application = visible_application(store, caller, application_id)
    to = check_status(body.to, "to")
    if not is_office(caller) and to != WITHDRAWN:
        raise AuthError(
            "permission_denied", f"the applicant may only withdraw; {to!r} is for the office"
        )
    moved = store.transition(application.id, to, caller.identity, body.reason)
    return application_view(platform, moved)


# --- attachments -------------------------------------------------------------------


@router.post("/v1/attachments", status_code=201, dependencies=[WRITE], responses=UPLOAD_ERRORS)
async def upload_attachment(
    request: Request, attachments: AttachmentsDep, caller: CallerDep
) -> AttachmentOut:
    """Upload a file as the raw body, its type in `Content-Type` (or
    `application/octet-stream`: the bytes decide) → `{"sha256", "size", "media_type"}`.

    Accepted: PNG and JPEG images; meshes as STL, OBJ, PLY, OFF or binary glTF (`.glb`),
    recognised by their bytes. At most 20 MiB (413); another type is 415. The same bytes
    uploaded twice are stored once and answer the same sha256.
    """
    data = await request.body()
    stored = await run_in_threadpool(
        attachments.put, data, request.headers.get("content-type"), caller.identity
    )
    return AttachmentOut(sha256=stored.sha256, size=stored.size, media_type=stored.media_type)


@router.get("/v1/attachments/{sha256}", dependencies=[READ], responses=ERRORS)
def download_attachment(sha256: str, attachments: AttachmentsDep) -> FileResponse:
    """The file with this sha256, with its media type."""
    stored = attachments.get(sha256)
    return FileResponse(attachments.path(stored.sha256), media_type=stored.media_type)


__all__ = ["ApplicationOut", "application_view", "is_office", "router", "visible_application"]
