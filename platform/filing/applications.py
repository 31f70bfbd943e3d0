"""Applications in SQL: filing (idempotent), status transitions, tracking and the change feed.

Tables (made by revision 0002, described here for the queries):

* ``applications``: one row per application; ``id`` is ``"A"`` + 16 random hex digits (a
  forwardable, unguessable reference); ``applicant_folded`` is the applicant's name
  case-folded, so the ``applicant`` filter is case-insensitive for every script on both
  backends (SQLite's ``lower()`` folds ASCII only).
* ``application_events``: the append-only log of everything that happens to an application
  (``filed``, ``transition``, ``message``, ``assessment``, ``fees``). Its ``seq`` is the change
  feed's cursor. Every helper appends through :func:`record_event`, inside its own transaction.
* ``application_fees``: the fee quotes incurred (filing, search, examination, grant), each
  computed with the schedule in force on the day of its event, so a new schedule version
  changes future events only.
* ``idempotency_keys``: ``(owner, key)`` → the application a keyed POST created and the
  fingerprint of its body.

**Idempotency.** A POST with an ``Idempotency-Key`` first looks the key up; if absent it
inserts the application and the key in one transaction. Two concurrent retries both miss
the lookup, and the primary key ``(owner, key)`` lets exactly one insert win: PostgreSQL
makes the second wait for the first to commit and then fails it with a unique violation,
SQLite serialises the two writers (``BEGIN IMMEDIATE``) and the second hits the key the first
committed. The loser catches the ``IntegrityError`` and answers the winner's application.
The same key with a different body (its normalised :meth:`Filing.fingerprint`) is a 409.

**Transitions** are a compare-and-set: ``UPDATE … SET status = :to WHERE id = :id AND
status = :from``, ``:from`` being the status the status machine was checked against. Of two
concurrent requests from the same status exactly one updates a row; the other gets a 409.

**The change feed must not skip events.** On PostgreSQL ``seq`` comes from a sequence, and
sequence values are handed out at insert time, not at commit: a transaction could take seq 7,
another seq 8 and commit first, and a reader that saw 8 and then asks for ``after=8`` would
never see 7. :func:`record_event` therefore takes a transaction-scoped advisory lock before
it inserts, so appenders commit in seq order: a transaction holding seq 7 blocks the next
appender until it commits or rolls back. (A time window — "only rows older than N seconds" —
would delay every reader and still fail for a transaction slower than N.) The cost is that
appending transactions are serialised from their append to their commit, which is why an
append should be the *last* thing a transaction does (it also keeps the lock order fixed:
row locks first, then the event lock, so no deadlock). SQLite already serialises writers.
B's notifier follows the same log by ``seq`` and relies on the same guarantee.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    Row,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from ipsim.engine.errors import Conflict, InvalidInput, NotFound
from ipsim.platform.database import as_utc, iso_utc, writer
from ipsim.platform.filing.attachments import AttachmentStore, family_of
from ipsim.platform.filing.content import Filing
from ipsim.platform.filing.fees import FeeSchedule, Quote, office_date
from ipsim.platform.filing.states import (
    FEE_EVENTS,
    INITIAL,
    KINDS,
    check_status,
    check_transition,
    forbidden_message,
    machine_for,
)

EVENT_KINDS = ("filed", "transition", "message", "assessment", "fees")
MAX_PAGE = 1000
MAX_REASON_CHARS = 4000
MAX_KEY_CHARS = 255
MAX_IDENTITY_CHARS = 64
_EVENT_LOCK = 0x1F5E_0002
"""The advisory lock key that orders appends to ``application_events`` (PostgreSQL)."""
_SEQ = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()
applications_table = Table(
    "applications",
    metadata,
    Column("id", String(17), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("title", String(500), nullable=False),
    Column("applicant", JSON, nullable=False),
    Column("applicant_folded", String(500), nullable=False),
    Column("representative", JSON),
    Column("content", JSON, nullable=False),
    Column("fields", JSON, nullable=False),
    Column("status", String(40), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
)
events_table = Table(
    "application_events",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column(
        "application_id",
        String(17),
        ForeignKey("applications.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(32), nullable=False),
    Column("from_status", String(40)),
    Column("to_status", String(40)),
    Column("actor", String(64), nullable=False),
    Column("reason", Text),
    Column("data", JSON),
    Column("at", DateTime(timezone=True), nullable=False),
)
fees_table = Table(
    "application_fees",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "application_id",
        String(17),
        ForeignKey("applications.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event", String(32), nullable=False),
    Column("total", Numeric(12, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("schedule_version", String(64), nullable=False),
    Column("quote", JSON, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
idempotency_table = Table(
    "idempotency_keys",
    metadata,
    Column("owner", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column(
        "application_id",
        String(17),
        ForeignKey("applications.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("created", DateTime(timezone=True), nullable=False),
)


# --- what the store answers ----------------------------------------------------------


@dataclass(frozen=True)
class Application:
    """One application as stored (``created``/``updated`` are UTC)."""

    id: str
    kind: str
    title: str
    applicant: dict[str, Any]
    representative: dict[str, Any] | None
    content: dict[str, Any]
    fields: dict[str, Any]
    status: str
    owner: str
    created: datetime
    updated: datetime

    @property
    def allowed(self) -> tuple[str, ...]:
        """The statuses that may follow the current one."""
        return machine_for(self.kind).allowed(self.status)


@dataclass(frozen=True)
class Event:
    """One entry of ``application_events``: a change feed item."""

    seq: int
    application_id: str
    kind: str
    from_status: str | None
    to_status: str | None
    actor: str
    reason: str | None
    data: dict[str, Any] | None
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "at": iso_utc(self.at)}


@dataclass(frozen=True)
class FeeRecord:
    """A fee incurred by an application: the quote as computed on the day of ``event``."""

    event: str
    total: Decimal
    currency: str
    schedule_version: str
    quote: dict[str, Any]
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {**self.quote, "event": self.event, "at": iso_utc(self.at)}


@dataclass(frozen=True)
class Filed:
    """The answer to a filing: the application, and whether it was a replay of a keyed POST."""

    application: Application
    replayed: bool


# --- the log every helper appends to ------------------------------------------------


def record_event(
    connection: Connection,
    application_id: str,
    kind: str,
    actor: str,
    data: Mapping[str, Any] | None,
    reason: str | None = None,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    at: datetime | None = None,
) -> int:
    """Append an event inside the caller's transaction and return its ``seq``.

    Call it last in the transaction: on PostgreSQL it holds a lock until commit so that the
    change feed sees events in ``seq`` order (see the module docstring).
    """
    if kind not in EVENT_KINDS:
        raise ValueError(f"event kind must be one of {', '.join(EVENT_KINDS)}, not {kind!r}")
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _EVENT_LOCK})
    seq: int = connection.execute(
        insert(events_table)
        .values(
            application_id=application_id,
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            reason=reason,
            data=None if data is None else dict(data),
            at=at or datetime.now(UTC),
        )
        .returning(events_table.c.seq)
    ).scalar_one()
    return seq


# --- the store ----------------------------------------------------------------------


class ApplicationStore:
    """Applications, their events and fees in the platform database.

    ``clock`` (UTC) dates events and picks the fee schedule version in force (by its UTC
    date); tests pass a fixed one.
    """

    def __init__(
        self,
        engine: Engine,
        attachments: AttachmentStore,
        fees: FeeSchedule,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._engine = engine
        self._writer = writer(engine)
        self._attachments = attachments
        self._fees = fees
        self._clock = clock or (lambda: datetime.now(UTC))

    def file(self, owner: str, filing: Filing, *, idempotency_key: str | None = None) -> Filed:
        """Store a new application in ``received`` with its filing fee.

        With ``idempotency_key``, a second call by the same owner with the same filing
        answers the first application (``replayed``); with a different filing, a Conflict.
        """
        owner = _check_identity(owner)
        key = None if idempotency_key is None else check_idempotency_key(idempotency_key)
        fingerprint = filing.fingerprint()
        if key is not None and (earlier := self._replay(owner, key, fingerprint)) is not None:
            return Filed(earlier, replayed=True)
        now = self._clock()
        quote = self._quote(
            filing.kind, filing.applicant, filing.content, "filing", office_date(now)
        )
        application_id = "A" + secrets.token_hex(8)
        try:
            with self._writer.begin() as db:
                self._check_attachments(db, filing)
                db.execute(
                    insert(applications_table).values(_row(application_id, owner, filing, now))
                )
                if key is not None:
                    db.execute(
                        insert(idempotency_table).values(
                            owner=owner,
                            key=key,
                            request_hash=fingerprint,
                            application_id=application_id,
                            created=now,
                        )
                    )
                record_event(
                    db,
                    application_id,
                    "filed",
                    owner,
                    {"kind": filing.kind},
                    to_status=INITIAL,
                    at=now,
                )
                _add_fee(db, application_id, "filing", quote, now, owner)
        except IntegrityError:
            # A concurrent retry with the same key committed first: answer its application.
            earlier = None if key is None else self._replay(owner, key, fingerprint)
            if earlier is None:
                raise
            return Filed(earlier, replayed=True)
        return Filed(self.get(application_id), replayed=False)

    def get(self, application_id: str) -> Application:
        """The application with this id; ``NotFound`` otherwise."""
        with self._engine.connect() as db:
            row = db.execute(
                select(applications_table).where(applications_table.c.id == application_id)
            ).first()
        if row is None:
            raise NotFound(f"application {application_id!r} does not exist")
        return _application(row)

    def get_visible(self, application_id: str, identity: str, *, office: bool) -> Application:
        """The application if ``identity`` owns it or is the office; else ``NotFound``.

        Strangers are told it does not exist rather than that it is not theirs: an id leaks
        nothing.
        """
        application = self.get(application_id)
        if not office and application.owner != identity:
            raise NotFound(f"application {application_id!r} does not exist")
        return application

    def transition(
        self, application_id: str, target: object, actor: str, reason: object = None
    ) -> Application:
        """Move the application to ``target`` if its status machine allows it, with the fee
        that status incurs; Conflict when forbidden or when another request moved it first."""
        note = _check_reason(reason)
        current = self.get(application_id)
        to = check_transition(current.kind, current.status, target)
        now = self._clock()
        fee_event = FEE_EVENTS.get(to)
        quote = (
            None
            if fee_event is None
            else self._quote(
                current.kind, current.applicant, current.content, fee_event, office_date(now)
            )
        )
        with self._writer.begin() as db:
            moved = db.execute(
                update(applications_table)
                .where(
                    applications_table.c.id == application_id,
                    applications_table.c.status == current.status,
                )
                .values(status=to, updated=now)
            ).rowcount
            if moved != 1:
                status = db.execute(
                    select(applications_table.c.status).where(
                        applications_table.c.id == application_id
                    )
                ).scalar_one()
                allowed = machine_for(current.kind).allowed(status)
                raise Conflict(forbidden_message(status, to, allowed) + " (it moved meanwhile)")
            record_event(
                db,
                application_id,
                "transition",
                actor,
                None,
                note,
                from_status=current.status,
                to_status=to,
                at=now,
            )
            if quote is not None and fee_event is not None:
                _add_fee(db, application_id, fee_event, quote, now, actor)
        return self.get(application_id)

    def history(self, application_id: str) -> list[Event]:
        """Every event of the application, oldest first."""
        with self._engine.connect() as db:
            rows = db.execute(
                select(events_table)
                .where(events_table.c.application_id == application_id)
                .order_by(events_table.c.seq)
            )
            return [_event(row) for row in rows]

    def fees(self, application_id: str) -> list[FeeRecord]:
        """The fees the application incurred, oldest first."""
        with self._engine.connect() as db:
            rows = db.execute(
                select(fees_table)
                .where(fees_table.c.application_id == application_id)
                .order_by(fees_table.c.pk)
            )
            return [
                FeeRecord(
                    row.event,
                    Decimal(row.total).quantize(Decimal("0.01")),
                    row.currency,
                    row.schedule_version,
                    row.quote,
                    as_utc(row.at),
                )
                for row in rows
            ]

    def find(
        self,
        *,
        owner: str | None = None,
        status: str | None = None,
        applicant: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[Application], int]:
        """A page of applications, newest first, and how many match.

        ``owner`` None: everyone's. ``applicant``: a case-insensitive substring of the
        applicant's name. ``since``: last status change at or after that moment.
        """
        table = applications_table
        conditions = []
        if owner is not None:
            conditions.append(table.c.owner == owner)
        if status is not None:
            conditions.append(table.c.status == check_status(status, "status"))
        if kind is not None:
            if kind not in KINDS:
                raise InvalidInput("kind", f"must be one of {', '.join(KINDS)}")
            conditions.append(table.c.kind == kind)
        if applicant is not None:
            if not applicant.strip() or len(applicant) > 500:
                raise InvalidInput("applicant", "must be 1-500 characters, not blank")
            conditions.append(
                table.c.applicant_folded.contains(applicant.casefold(), autoescape=True)
            )
        if since is not None:
            conditions.append(table.c.updated >= since)
        _check_page(offset, limit)
        with self._engine.connect() as db:
            total = db.execute(
                select(func.count()).select_from(table).where(*conditions)
            ).scalar_one()
            rows = db.execute(
                select(table)
                .where(*conditions)
                .order_by(table.c.created.desc(), table.c.id.desc())
                .offset(offset)
                .limit(limit)
            )
            return [_application(row) for row in rows], total

    def changes(self, after: int = 0, limit: int = 100, owner: str | None = None) -> list[Event]:
        """Events with ``seq > after``, in ``seq`` order (``owner``: only their applications)."""
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise InvalidInput("after", "must be a whole number >= 0 (the last seq seen)")
        _check_page(0, limit)
        query = select(events_table).where(events_table.c.seq > after)
        if owner is not None:
            query = query.join(
                applications_table, applications_table.c.id == events_table.c.application_id
            ).where(applications_table.c.owner == owner)
        with self._engine.connect() as db:
            rows = db.execute(query.order_by(events_table.c.seq).limit(limit))
            return [_event(row) for row in rows]

    # --- internals ------------------------------------------------------------------

    def _replay(self, owner: str, key: str, fingerprint: str) -> Application | None:
        with self._engine.connect() as db:
            row = db.execute(
                select(idempotency_table).where(
                    idempotency_table.c.owner == owner, idempotency_table.c.key == key
                )
            ).first()
        if row is None:
            return None
        if row.request_hash != fingerprint:
            raise Conflict(
                f"Idempotency-Key: {key!r} was already used for application {row.application_id}"
                " with a different request body; use a new key for a new filing"
            )
        return self.get(row.application_id)

    def _check_attachments(self, db: Connection, filing: Filing) -> None:
        uses = filing.attachment_refs()
        stored = self._attachments.media_types(db, (use.sha256 for use in uses))
        for use in uses:
            media_type = stored.get(use.sha256)
            if media_type is None:
                raise InvalidInput(use.field, f"no attachment {use.sha256} was uploaded")
            if family_of(media_type) not in use.allowed:
                wanted = " or ".join(sorted(use.allowed))
                raise InvalidInput(use.field, f"is {media_type}; it must be an {wanted}")

    def _quote(
        self,
        kind: str,
        applicant: Mapping[str, Any],
        content: Mapping[str, Any],
        event: str,
        on: date,
    ) -> Quote:
        return self._fees.quote(
            kind,
            [event],
            claims=len(content.get("claims", ())),
            classes=len(content.get("nice_classes", ())),
            designs=1,
            applicant_type=applicant["type"],
            on=on,
        )


# --- checks and conversions -----------------------------------------------------------


def check_idempotency_key(value: object) -> str:
    """An ``Idempotency-Key``: 1-255 printable ASCII characters."""
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_KEY_CHARS
        or not value.isascii()
        or not value.isprintable()
    ):
        raise InvalidInput(
            "Idempotency-Key", f"must be 1-{MAX_KEY_CHARS} printable ASCII characters"
        )
    return value


def parse_since(value: str, field: str = "since") -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO 8601 date-time (no zone: UTC) → aware UTC."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            field, f"{value!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _check_identity(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_IDENTITY_CHARS:
        raise InvalidInput("owner", f"must be 1-{MAX_IDENTITY_CHARS} characters")
    return value


def _check_reason(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_REASON_CHARS:
        raise InvalidInput("reason", f"must be 1-{MAX_REASON_CHARS} characters, not blank")
    return value


def _check_page(offset: int, limit: int) -> None:
    if offset < 0:
        raise InvalidInput("offset", "must be >= 0")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("limit", f"must be 1-{MAX_PAGE}")


def _row(application_id: str, owner: str, filing: Filing, now: datetime) -> dict[str, Any]:
    return {
        "id": application_id,
        "kind": filing.kind,
        "title": filing.title,
        "applicant": filing.applicant,
        "applicant_folded": filing.applicant["name"].casefold()[:500],
        "representative": filing.representative,
        "content": filing.content,
        "fields": filing.fields,
        "status": INITIAL,
        "owner": owner,
        "created": now,
        "updated": now,
    }


def _add_fee(
    db: Connection, application_id: str, event: str, quote: Quote, now: datetime, actor: str
) -> None:
    db.execute(
        insert(fees_table).values(
            application_id=application_id,
            event=event,
            total=quote.total,
            currency=quote.currency,
            schedule_version=quote.schedule_version,
            quote=quote.to_json(),
            at=now,
        )
    )
    summary = {
        "event": event,
        "total": str(quote.total),
        "currency": quote.currency,
        "schedule_version": quote.schedule_version,
    }
    record_event(db, application_id, "fees", actor, summary, at=now)


def _application(row: Row[Any]) -> Application:
    return Application(
        id=row.id,
        kind=row.kind,
        title=row.title,
        applicant=row.applicant,
        representative=row.representative,
        content=row.content,
        fields=row.fields,
        status=row.status,
        owner=row.owner,
        created=as_utc(row.created),
        updated=as_utc(row.updated),
    )


def _event(row: Row[Any]) -> Event:
    return Event(
        seq=row.seq,
        application_id=row.application_id,
        kind=row.kind,
        from_status=row.from_status,
        to_status=row.to_status,
        actor=row.actor,
        reason=row.reason,
        data=row.data,
        at=as_utc(row.at),
    )


__all__ = [
    "EVENT_KINDS",
    "MAX_PAGE",
    "Application",
    "ApplicationStore",
    "Event",
    "FeeRecord",
    "Filed",
    "applications_table",
    "check_idempotency_key",
    "events_table",
    "fees_table",
    "idempotency_table",
    "metadata",
    "parse_since",
    "record_event",
]
