"""/v1/applications/{id}/messages: the thread between the office and the applicant.

Who may write what: the office (an ``admin`` key) writes ``office_request`` and
``office_notice``; the application's owner (the key identity that filed it) writes
``applicant_response`` and ``applicant_note``. Reading the thread, like reading the
application, is for its owner and the office; to anyone else an application is as absent as
an unknown id (404), so a stranger learns nothing from guessing. The rules about the
messages themselves (lengths, deadlines, replies) live in
:mod:`ipsim.platform.filing.correspondence`.

``GET …/notifications`` shows the delivery state of the callbacks sent for the application
(:mod:`ipsim.platform.filing.notifications`), so an applicant can see why one did not arrive.

Handlers are plain functions: FastAPI runs them in its thread pool, so a database round
trip never blocks the event loop.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from ipsim.platform.filing.correspondence import (
    MAX_PAGE,
    OFFICE_KINDS,
    Message,
    NewMessage,
)
from ipsim.platform.filing.notifications import Delivery
from ipsim.server.auth import AuthError
from ipsim.server.deps import MAX_SQL_INT, READ, WRITE, CallerDep, PlatformDep
from ipsim.server.routes.applications import is_office, visible_application
from ipsim.server.schemas import error_responses

router = APIRouter(prefix="/v1/applications", tags=["correspondence"])
ERRORS = error_responses(400, 401, 403, 404, 503)

Kind = Literal["office_request", "office_notice", "applicant_response", "applicant_note"]


class MessageBody(BaseModel):
    """A message to append to the application's thread."""

    model_config = ConfigDict(extra="forbid")
    kind: Kind = Field(
        description="`office_request` / `office_notice` (the office: an admin key),"
        " `applicant_response` / `applicant_note` (the application's owner)."
    )
    subject: StrictStr = Field(description="One line, 1-200 characters.")
    body: StrictStr = Field(description="The text, 1-20000 characters.")
    attachments: list[StrictStr] = Field(
        default_factory=list, description="SHA-256 digests of uploaded attachments (at most 20)."
    )
    deadline: StrictStr | None = Field(
        None,
        description="`YYYY-MM-DD`, after today (UTC): the last day to answer an office request.",
    )
    in_reply_to: StrictInt | None = Field(
        None,
        description="A message of this thread; an `applicant_response` must answer an office"
        " request, and closes its deadline.",
    )

    def message(self) -> NewMessage:
        return NewMessage(**self.model_dump())


class MessageOut(BaseModel):
    id: int
    application_id: str
    kind: str
    author: str
    """The identity of the API key that wrote it."""
    subject: str
    body: str
    attachments: list[str]
    deadline: str | None
    in_reply_to: int | None
    answered_by: int | None
    """For an office request: the response that closed its deadline."""
    created: str

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        return cls(**message.to_json())


class MessagesOut(BaseModel):
    messages: list[MessageOut]
    """Oldest first."""
    next_after: int | None
    """Pass as `after` for the next page; null on the last page."""


class DeliveryOut(BaseModel):
    id: int
    """The event seq: also the `X-Ipsim-Notification-Id` the receiver dedupes on."""
    application_id: str
    url: str
    attempts: int
    next_attempt_at: str | None
    delivered_at: str | None
    last_error: str | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(**delivery.to_json())


class DeliveriesOut(BaseModel):
    notifications: list[DeliveryOut]


@router.post("/{application_id}/messages", status_code=201, dependencies=[WRITE], responses=ERRORS)
def post_message(
    application_id: str, body: MessageBody, platform: PlatformDep, caller: CallerDep
) -> MessageOut:
    """Append a message to the thread; an applicant response closes the request's deadline."""
    application = visible_application(platform.applications, caller, application_id)
    office = body.kind in OFFICE_KINDS
    if office and not is_office(caller):
        raise AuthError("permission_denied", f"{body.kind} messages are written by the office")
    if not office and caller.identity != application.owner:
        raise AuthError("permission_denied", f"{body.kind} messages are written by the applicant")
    return MessageOut.of(
        platform.correspondence.post(application_id, caller.identity, body.message())
    )


@router.get("/{application_id}/messages", dependencies=[READ], responses=ERRORS)
def list_messages(
    application_id: str,
    platform: PlatformDep,
    caller: CallerDep,
    after: Annotated[
        int, Query(ge=0, le=MAX_SQL_INT, description="Messages with an id above this.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> MessagesOut:
    """A page of the thread, oldest first."""
    visible_application(platform.applications, caller, application_id)
    messages, more = platform.correspondence.thread(application_id, after=after, limit=limit)
    return MessagesOut(
        messages=[MessageOut.of(m) for m in messages],
        next_after=messages[-1].id if more else None,
    )


@router.get("/{application_id}/notifications", dependencies=[READ], responses=ERRORS)
def list_notifications(
    application_id: str, platform: PlatformDep, caller: CallerDep
) -> DeliveriesOut:
    """The callbacks queued for this application and how their delivery went."""
    visible_application(platform.applications, caller, application_id)
    deliveries = platform.notifier.deliveries(application_id)
    return DeliveriesOut(notifications=[DeliveryOut.of(d) for d in deliveries])
