"""Correspondence: one thread of messages per application, and the deadlines it sets.

The office writes ``office_request`` (it asks for something, optionally by a ``deadline``)
and ``office_notice``; the applicant writes ``applicant_response`` (always ``in_reply_to``
an office request) and ``applicant_note``. Who may write which kind is the server's business
(:mod:`ipsim.server.routes.correspondence`); this module keeps the rules about the data.

A deadline is not a table of its own: it is an office request's ``deadline`` column, open
until the first applicant response to that request closes it (``answered_by`` /
``answered_at``, set in the response's transaction with a conditional update, so two
concurrent responses cannot both claim it). ``overdue`` is computed when read, against
today's UTC date — nothing has to wake up at midnight to flip it. A deadline is the last
day allowed: it is overdue from the day after.

Every message appends a ``message`` event to the application's log (the change feed and the
callback notifier follow it) in the same transaction as the message itself, so a message
and its event exist together or not at all.

Message ids are integers and serve as the thread's page cursor (``after``). A post locks
its application's row first (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has one writer
anyway), so within a thread ids are taken and committed in order and a reader paging with
``after`` cannot miss a message that commits late. (Row lock first, the event log's lock
last: the order :func:`~ipsim.platform.filing.applications.record_event` asks for.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from ipsim.engine.errors import InvalidInput, NotFound
from ipsim.platform.database import iso_utc, writer
from ipsim.platform.filing.applications import applications_table, record_event

OFFICE_KINDS = ("office_request", "office_notice")
APPLICANT_KINDS = ("applicant_response", "applicant_note")
KINDS = OFFICE_KINDS + APPLICANT_KINDS
MAX_SUBJECT_CHARS = 200
MAX_BODY_CHARS = 20_000
MAX_ATTACHMENTS = 20
MAX_DEADLINE_DAYS = 5 * 366
"""An office request's deadline is at most about five years ahead (a typo guard)."""
MAX_PAGE = 1000
MAX_IDENTITY_CHARS = 64
SHA256 = re.compile(r"[0-9a-f]{64}")

metadata = MetaData()

messages_table = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("application_id", String(17), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("author", String(MAX_IDENTITY_CHARS), nullable=False),
    Column("subject", String(MAX_SUBJECT_CHARS), nullable=False),
    Column("body", Text, nullable=False),
    Column("attachments", JSON, nullable=False),
    Column("deadline", Date),
    Column("in_reply_to", ForeignKey("messages.id", ondelete="SET NULL")),
    Column("answered_by", ForeignKey("messages.id", ondelete="SET NULL")),
    Column("answered_at", DateTime(timezone=True)),
    Column("created", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Message:
    """One message of a thread; times are ISO 8601 UTC, ``deadline`` ``YYYY-MM-DD``."""

    id: int
    application_id: str
    kind: str
    author: str
    subject: str
    body: str
    attachments: list[str]
    deadline: str | None
    in_reply_to: int | None
    answered_by: int | None
    """For an office request: the response that answered it."""
    created: str

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Deadline:
    """An office request's deadline: open until answered, overdue once past while open."""

    message_id: int
    subject: str
    due: str
    open: bool
    overdue: bool
    answered_by: int | None
    answered_at: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class NewMessage:
    """A message as a client sends it, before validation."""

    kind: object
    subject: object
    body: object
    attachments: object = ()
    deadline: object = None
    in_reply_to: object = None


class CorrespondenceStore:
    """Application threads and their deadlines in the platform database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    def post(self, application_id: str, author: str, message: NewMessage) -> Message:
        """Append ``message`` to the application's thread, with its ``message`` event.

        ``NotFound`` for an unknown application; ``InvalidInput`` naming the field for a bad
        message (``in_reply_to`` must be a message of this thread; an applicant response
        must answer an office request).
        """
        checked = _check(message)
        now = _now()
        with self._writer.begin() as db:
            if db.execute(_application(application_id)).first() is None:
                raise NotFound(f"application {application_id!r} does not exist")
            replied = _replied(db, application_id, checked)
            message_id: int = db.execute(
                insert(messages_table)
                .values(
                    application_id=application_id, author=author, created=now, **checked.__dict__
                )
                .returning(messages_table.c.id)
            ).scalar_one()
            if checked.kind == "applicant_response" and replied is not None:
                _close(db, replied, message_id, now)
            # Last in the transaction: on PostgreSQL the event append holds the log's lock.
            record_event(
                db, application_id, "message", author, _event_data(message_id, checked, replied)
            )
            return _message(_row(db, message_id))

    def thread(
        self, application_id: str, *, after: int = 0, limit: int = 100
    ) -> tuple[list[Message], bool]:
        """Messages with an id above ``after``, oldest first, and whether more follow."""
        if after < 0:
            raise InvalidInput("after", "must be 0 or more")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput("limit", f"must be from 1 to {MAX_PAGE}")
        with self._engine.connect() as db:
            rows = db.execute(
                select(messages_table)
                .where(
                    messages_table.c.application_id == application_id,
                    messages_table.c.id > after,
                )
                .order_by(messages_table.c.id)
                .limit(limit + 1)
            ).all()
        return [_message(row) for row in rows[:limit]], len(rows) > limit

    def deadlines(self, application_id: str, *, today: date | None = None) -> list[Deadline]:
        """The application's deadlines, open ones first, each group by due date."""
        today = today or _now().date()
        with self._engine.connect() as db:
            rows = db.execute(
                select(messages_table)
                .where(
                    messages_table.c.application_id == application_id,
                    messages_table.c.kind == "office_request",
                    messages_table.c.deadline.is_not(None),
                )
                .order_by(messages_table.c.deadline, messages_table.c.id)
            ).all()
        deadlines = [_deadline(row, today) for row in rows]
        return sorted(deadlines, key=lambda d: not d.open)  # stable: keeps the due order


# --- validation ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Checked:
    kind: str
    subject: str
    body: str
    attachments: list[str]
    deadline: date | None
    in_reply_to: int | None


def _check(message: NewMessage) -> _Checked:
    kind = message.kind
    if kind not in KINDS:
        raise InvalidInput("kind", f"must be one of {', '.join(KINDS)}")
    assert isinstance(kind, str)
    return _Checked(
        kind=kind,
        subject=_check_text(message.subject, "subject", MAX_SUBJECT_CHARS, single_line=True),
        body=_check_text(message.body, "body", MAX_BODY_CHARS, single_line=False),
        attachments=_check_attachments(message.attachments),
        deadline=_check_deadline(message.deadline, kind),
        in_reply_to=_check_reply(message.in_reply_to, kind),
    )


def _check_text(value: object, field: str, max_chars: int, *, single_line: bool) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, "must be a non-blank string")
    if len(value) > max_chars:
        raise InvalidInput(field, f"must be at most {max_chars} characters")
    allowed = "" if single_line else "\n\r\t"
    if any((ord(c) < 32 and c not in allowed) or ord(c) == 127 for c in value):
        what = "control characters or line breaks" if single_line else "control characters"
        raise InvalidInput(field, f"must not contain {what}")
    return value


def _check_attachments(value: object) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidInput("attachments", "must be a list of SHA-256 digests")
    if len(value) > MAX_ATTACHMENTS:
        raise InvalidInput("attachments", f"must hold at most {MAX_ATTACHMENTS} digests")
    for i, digest in enumerate(value):
        if not isinstance(digest, str) or not SHA256.fullmatch(digest):
            raise InvalidInput(f"attachments[{i}]", "must be 64 lower-case hex digits (SHA-256)")
    return list(dict.fromkeys(value))


def _check_deadline(value: object, kind: str) -> date | None:
    if value is None:
        return None
    if kind != "office_request":
        raise InvalidInput("deadline", "only an office_request sets a deadline")
    if isinstance(value, date) and not isinstance(value, datetime):
        due = value
    elif isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            due = date.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput("deadline", f"is not a calendar date ({exc})") from exc
    else:
        raise InvalidInput("deadline", "must be a date YYYY-MM-DD")
    today = _now().date()
    if due <= today:
        raise InvalidInput("deadline", f"must be after today ({today.isoformat()}, UTC)")
    if due > today + timedelta(days=MAX_DEADLINE_DAYS):
        raise InvalidInput("deadline", f"must be within {MAX_DEADLINE_DAYS} days")
    return due


def _check_reply(value: object, kind: str) -> int | None:
    if value is None:
        if kind == "applicant_response":
            raise InvalidInput("in_reply_to", "an applicant_response answers an office request")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput("in_reply_to", "must be a message id (a positive integer)")
    return value


def _replied(db: Connection, application_id: str, message: _Checked) -> Row[Any] | None:
    """The message replied to: one of this thread (an office request, for a response)."""
    if message.in_reply_to is None:
        return None
    row = db.execute(
        select(messages_table).where(
            messages_table.c.id == message.in_reply_to,
            messages_table.c.application_id == application_id,
        )
    ).first()
    if row is None:
        raise InvalidInput("in_reply_to", f"no message {message.in_reply_to} in this thread")
    if message.kind == "applicant_response" and row.kind != "office_request":
        raise InvalidInput("in_reply_to", f"message {row.id} is not an office request")
    return row


# --- queries ------------------------------------------------------------------------


def _application(application_id: str) -> Any:
    """The application's row, locked until commit (see the module docstring on ids)."""
    return (
        select(applications_table.c.id)
        .where(applications_table.c.id == application_id)
        .with_for_update()
    )


def _close(db: Connection, request: Row[Any], response_id: int, now: datetime) -> None:
    """Close the request's deadline unless an earlier response already did."""
    db.execute(
        update(messages_table)
        .where(messages_table.c.id == request.id, messages_table.c.answered_by.is_(None))
        .values(answered_by=response_id, answered_at=now)
    )


def _event_data(message_id: int, message: _Checked, replied: Row[Any] | None) -> dict[str, Any]:
    """What the change feed and the callback say about a message (not its body)."""
    data: dict[str, Any] = {
        "message_id": message_id,
        "message_kind": message.kind,
        "subject": message.subject,
    }
    if message.deadline is not None:
        data["deadline"] = message.deadline.isoformat()
    if replied is not None:
        data["in_reply_to"] = replied.id
    return data


def _row(db: Connection, message_id: int) -> Row[Any]:
    return db.execute(select(messages_table).where(messages_table.c.id == message_id)).one()


def _message(row: Row[Any]) -> Message:
    return Message(
        id=row.id,
        application_id=row.application_id,
        kind=row.kind,
        author=row.author,
        subject=row.subject,
        body=row.body,
        attachments=list(row.attachments),
        deadline=row.deadline.isoformat() if row.deadline else None,
        in_reply_to=row.in_reply_to,
        answered_by=row.answered_by,
        created=iso_utc(row.created),
    )


def _deadline(row: Row[Any], today: date) -> Deadline:
    is_open = row.answered_by is None
    return Deadline(
        message_id=row.id,
        subject=row.subject,
        due=row.deadline.isoformat(),
        open=is_open,
        overdue=is_open and row.deadline < today,
        answered_by=row.answered_by,
        answered_at=iso_utc(row.answered_at) if row.answered_at else None,
    )


def _now() -> datetime:
    return datetime.now(UTC)


__all__ = [
    "APPLICANT_KINDS",
    "KINDS",
    "MAX_PAGE",
    "OFFICE_KINDS",
    "CorrespondenceStore",
    "Deadline",
    "Message",
    "NewMessage",
    "messages_table",
]
