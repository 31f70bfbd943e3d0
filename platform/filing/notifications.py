"""Notifications to the applicant's callback URL: the application event log, pushed.

The notifier follows ``application_events`` (A's append-only log, ordered by ``seq``) and,
for each event the applicant cares about — a status ``transition``, an office message
(``office_request`` / ``office_notice``), an ``assessment``, ``fees`` — of an application
whose applicant gave a ``callback_url``, queues one notification in the ``notifications``
table and POSTs it::

    POST <callback_url>
    Content-Type: application/json
    X-Ipsim-Notification-Id: 42
    X-Ipsim-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>

    {"id": 42, "application_id": "A…", "event": "transition", "at": "…Z",
     "from_status": "received", "to_status": "formal_examination", "reason": null,
     "data": {…}, "link": "/v1/applications/A…"}

**Signature.** The key is the server's ``callback_secret`` setting (unset: a random key
made once and kept in ``DATA/callback-secret``, mode 0600, so a restart keeps it). A
receiver recomputes ``hmac.new(key, body, sha256).hexdigest()`` over the raw body and
compares in constant time. The body is stored as the exact bytes first signed, so every
retry sends the same bytes and the same signature.

**Delivery** is at least once: a 2xx answer marks the notification delivered; anything
else (a status, a timeout, a refused connection) is retried after ``backoff_s · 2^(n-1)``
seconds (at most ``max_backoff_s``) until ``max_attempts``, then given up (``last_error``
says why). A crash between the receiver's 2xx and the ``delivered_at`` write sends it
again, so receivers dedupe on ``id`` (the event's ``seq``: unique and increasing per
server database). Deliveries may arrive out of order after a retry; order by ``id``.
A notification is claimed by a conditional update (``attempts + 1``, ``next_attempt_at``
pushed past the request timeout) before it is sent, so two server processes on one
database never send it at once, and one that crashes mid-send leaves it due again once
the claim runs out. Redirects are not followed (a 3xx is a failure).

**The cursor** (``notification_cursor``, one row) is the last event ``seq`` queued; it moves
with a compare-and-set, so of two server processes on one database only one queues a stretch
of the log. It relies on the log's promise (:func:`~ipsim.platform.filing.applications.
record_event`) that events become visible in ``seq`` order, so nothing appears later below
the cursor. The revision that made the cursor set it to the newest event then: the log
before it is history, not news.

**SSRF guard.** A callback URL comes from an applicant, so the server must not be made to
POST into its own network: the host is resolved and every address must be global
(``ipaddress.is_global``: no loopback, private, link-local, CGNAT, multicast or reserved
ranges; IPv4-mapped IPv6 is checked as IPv4), and the request is then sent to the checked
address itself (``Host`` header and TLS SNI keep the name, so certificates still verify),
so a DNS answer that changes between check and connect cannot slip past. A refused URL is
given up at once. ``callback_allow_private`` turns the check off (tests, closed networks).
Proxies from the environment are not used.

The database work runs in worker threads (``asyncio.to_thread``) and the HTTP calls are
asynchronous, so the notifier never blocks the event loop that serves requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
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

from ipsim import __version__
from ipsim.config import Settings
from ipsim.platform.database import iso_utc, writer
from ipsim.platform.filing.applications import applications_table, events_table
from ipsim.platform.filing.correspondence import OFFICE_KINDS

log = logging.getLogger(__name__)

SECRET_FILE = "callback-secret"
SIGNATURE_HEADER = "X-Ipsim-Signature"
ID_HEADER = "X-Ipsim-Notification-Id"
CURSOR = "callbacks"
NOTIFIED_EVENTS = frozenset({"transition", "assessment", "fees"})
"""Event kinds always sent; a ``message`` event only for the office's messages."""
MAX_ERROR_CHARS = 500
CLAIM_MARGIN_S = 30.0

_SEQ = BigInteger().with_variant(Integer(), "sqlite")
metadata = MetaData()

notifications_table = Table(
    "notifications",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=False),
    Column("application_id", String(17), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("body", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    Column("last_error", String(MAX_ERROR_CHARS)),
    Column("created", DateTime(timezone=True), nullable=False),
)
cursor_table = Table(
    "notification_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_seq", _SEQ, nullable=False),
)


@dataclass(frozen=True)
class NotifierOptions:
    """How the notifier signs, checks, paces and retries."""

    secret: bytes
    allow_private: bool = False
    poll_s: float = 1.0
    timeout_s: float = 10.0
    backoff_s: float = 2.0
    max_backoff_s: float = 3600.0
    max_attempts: int = 12
    batch: int = 500
    concurrency: int = 8


@dataclass(frozen=True)
class Delivery:
    """A notification's delivery state; times ISO 8601 UTC."""

    id: int
    application_id: str
    url: str
    attempts: int
    next_attempt_at: str | None
    """None once delivered or given up."""
    delivered_at: str | None
    last_error: str | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Round:
    """What one :meth:`Notifier.run_once` did."""

    queued: int
    delivered: int
    failed: int


@dataclass(frozen=True)
class _Claimed:
    seq: int
    url: str
    body: str
    attempts: int


@dataclass(frozen=True)
class _Outcome:
    seq: int
    attempts: int
    error: str | None
    permanent: bool = False


class Refused(Exception):
    """The callback URL is one the server will not call (a private address, say)."""


def sign(secret: bytes, body: bytes) -> str:
    """The ``X-Ipsim-Signature`` value of ``body``: ``sha256=`` and the hex HMAC."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def load_secret(configured: str | None, data: Path) -> bytes:
    """The signing key: the setting, else ``DATA/callback-secret`` (made on first use)."""
    if configured:
        return configured.encode()
    path = data / SECRET_FILE
    with contextlib.suppress(FileExistsError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
            out.flush()
            os.fsync(out.fileno())
    return path.read_text().strip().encode()


def notifier_options(settings: Settings) -> NotifierOptions:
    """The notifier's options from the server settings (``callback_secret``,
    ``callback_allow_private``)."""
    secret = settings.callback_secret.get_secret_value() if settings.callback_secret else None
    return NotifierOptions(
        secret=load_secret(secret, settings.data),
        allow_private=settings.callback_allow_private,
    )


class Notifier:
    """Follows the application event log and delivers callbacks; see the module docstring."""

    def __init__(self, engine: Engine, options: NotifierOptions) -> None:
        self._engine = engine
        self._writer = writer(engine)
        self._options = options
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Poll every ``poll_s`` seconds in a background task until :meth:`close`."""
        if self._task is None:
            self._task = asyncio.create_task(self._run_forever(), name="callback-notifier")

    async def close(self) -> None:
        """Stop polling (an in-flight round is cancelled; its claims run out and retry)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run_once(self) -> Round:
        """Queue the events since the cursor, then send every notification that is due."""
        queued = await asyncio.to_thread(self._scan)
        claimed = await asyncio.to_thread(self._claim_due)
        limit = asyncio.Semaphore(self._options.concurrency)

        async def send(item: _Claimed) -> _Outcome:
            async with limit:
                return await self._send(item)

        outcomes = await asyncio.gather(*(send(item) for item in claimed))
        await asyncio.to_thread(self._record, outcomes)
        delivered = sum(outcome.error is None for outcome in outcomes)
        return Round(queued=queued, delivered=delivered, failed=len(outcomes) - delivered)

    def deliveries(self, application_id: str) -> list[Delivery]:
        """The application's notifications and their delivery state, oldest first."""
        table = notifications_table
        with self._engine.connect() as db:
            rows = db.execute(
                select(table).where(table.c.application_id == application_id).order_by(table.c.seq)
            ).all()
        return [_delivery(row) for row in rows]

    # --- the loop ---------------------------------------------------------------------

    async def _run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # a database hiccup must not end the notifier
                log.exception("callback notifier round failed; retrying")
            await asyncio.sleep(self._options.poll_s)

    # --- queuing ----------------------------------------------------------------------

    def _scan(self) -> int:
        """Queue a notification for each notifiable event past the cursor; move the cursor."""
        events = events_table
        with self._engine.connect() as db:
            cursor: int = db.execute(
                select(cursor_table.c.last_seq).where(cursor_table.c.name == CURSOR)
            ).scalar_one()
            rows = db.execute(
                select(events)
                .where(events.c.seq > cursor)
                .order_by(events.c.seq)
                .limit(self._options.batch)
            ).all()
            if not rows:
                return 0
            wanted = [row for row in rows if _notifiable(row)]
            urls = _callback_urls(db, {row.application_id for row in wanted})
        now = _now()
        new = [
            _notification(row, urls[row.application_id], now)
            for row in wanted
            if row.application_id in urls
        ]
        with self._writer.begin() as db:
            moved = db.execute(
                update(cursor_table)
                .where(cursor_table.c.name == CURSOR, cursor_table.c.last_seq == cursor)
                .values(last_seq=rows[-1].seq)
            ).rowcount
            if moved != 1:  # another server process queued this stretch first
                return 0
            if new:
                db.execute(insert(notifications_table), new)
            return len(new)

    # --- sending ----------------------------------------------------------------------

    def _claim_due(self) -> list[_Claimed]:
        """Take the due notifications: one attempt more, and not due again until it ends.

        The due ones are looked up first without the write lock (SQLite's is database-wide,
        and most rounds find nothing); the claim re-checks that each is still due.
        """
        table = notifications_table
        now = _now()
        with self._engine.connect() as db:
            due = list(
                db.execute(
                    select(table.c.seq)
                    .where(table.c.delivered_at.is_(None), table.c.next_attempt_at <= now)
                    .order_by(table.c.seq)
                    .limit(self._options.batch)
                ).scalars()
            )
        if not due:
            return []
        lease = now + timedelta(seconds=self._options.timeout_s + CLAIM_MARGIN_S)
        with self._writer.begin() as db:
            rows = db.execute(
                update(table)
                .where(
                    table.c.seq.in_(due),
                    table.c.delivered_at.is_(None),
                    table.c.next_attempt_at <= now,
                )
                .values(attempts=table.c.attempts + 1, next_attempt_at=lease)
                .returning(table.c.seq, table.c.url, table.c.body, table.c.attempts)
            ).all()
        return sorted(
            (_Claimed(row.seq, row.url, row.body, row.attempts) for row in rows),
            key=lambda item: item.seq,
        )

    async def _send(self, item: _Claimed) -> _Outcome:
        body = item.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"ipsim/{__version__}",
            ID_HEADER: str(item.seq),
            SIGNATURE_HEADER: sign(self._options.secret, body),
        }
        try:
            error = await self._post(item.url, body, headers)
        except Refused as exc:
            return _Outcome(item.seq, item.attempts, str(exc)[:MAX_ERROR_CHARS], permanent=True)
        return _Outcome(item.seq, item.attempts, error)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> str | None:
        """POST to each checked address of the URL's host in turn; None on a 2xx."""
        parsed = httpx.URL(url)
        try:
            addresses = await resolve_callback(parsed, self._options.allow_private)
        except OSError as exc:
            return f"cannot resolve {parsed.host}: {exc}"[:MAX_ERROR_CHARS]
        error = "no address"
        for address in addresses:
            pinned = parsed.copy_with(host=str(address))
            extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
            try:
                async with (
                    asyncio.timeout(self._options.timeout_s),
                    self._http().stream(
                        "POST",
                        pinned,
                        content=body,
                        headers={**headers, "Host": parsed.netloc.decode("ascii")},
                        extensions=extensions,
                    ) as response,
                ):
                    if response.is_success:
                        return None
                    return f"HTTP {response.status_code} {response.reason_phrase}".strip()
            except httpx.ConnectError as exc:  # try the host's next address
                error = _describe(exc)
            except TimeoutError:
                return f"no answer within {self._options.timeout_s:g} s"
            except httpx.HTTPError as exc:
                return _describe(exc)
        return error

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._options.timeout_s, follow_redirects=False, trust_env=False
            )
        return self._client

    def _record(self, outcomes: Sequence[_Outcome]) -> None:
        """Write each attempt's result: delivered, due again after a back-off, or given up."""
        table = notifications_table
        now = _now()
        options = self._options
        with self._writer.begin() as db:
            for outcome in outcomes:
                values: dict[str, Any]
                if outcome.error is None:
                    values = {"delivered_at": now, "next_attempt_at": None, "last_error": None}
                else:
                    give_up = outcome.permanent or outcome.attempts >= options.max_attempts
                    delay = min(
                        options.backoff_s * 2 ** (outcome.attempts - 1), options.max_backoff_s
                    )
                    values = {
                        "last_error": outcome.error,
                        "next_attempt_at": None if give_up else now + timedelta(seconds=delay),
                    }
                    if give_up:
                        log.warning("gave up on callback %s: %s", outcome.seq, outcome.error)
                db.execute(update(table).where(table.c.seq == outcome.seq).values(**values))


# --- helpers ------------------------------------------------------------------------


def _notifiable(event: Row[Any]) -> bool:
    if event.kind in NOTIFIED_EVENTS:
        return True
    data = event.data or {}
    return bool(event.kind == "message" and data.get("message_kind") in OFFICE_KINDS)


def _callback_urls(db: Any, application_ids: set[str]) -> dict[str, str]:
    """Application id → its applicant's callback URL, for those that gave one."""
    if not application_ids:
        return {}
    rows = db.execute(
        select(applications_table.c.id, applications_table.c.applicant).where(
            applications_table.c.id.in_(sorted(application_ids))
        )
    )
    urls = {row.id: (row.applicant or {}).get("callback_url") for row in rows}
    return {key: url for key, url in urls.items() if isinstance(url, str) and url}


def _notification(event: Row[Any], url: str, now: datetime) -> dict[str, Any]:
    payload = {
        "id": event.seq,
        "application_id": event.application_id,
        "event": event.kind,
        "at": iso_utc(event.at),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "reason": event.reason,
        "data": event.data or {},
        "link": f"/v1/applications/{event.application_id}",
    }
    return {
        "seq": event.seq,
        "application_id": event.application_id,
        "url": url,
        "body": json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        "attempts": 0,
        "next_attempt_at": now,
        "created": now,
    }


async def resolve_callback(
    url: httpx.URL, allow_private: bool
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses to POST to (IPv4 first): ``Refused`` unless every address of the host is
    global or private ones are allowed; ``OSError`` when the name does not resolve."""
    if url.scheme not in ("http", "https") or not url.host:
        raise Refused(f"not an http(s) URL: {url}")
    port = url.port or (443 if url.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
    found = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not allow_private:
        for address in found:
            mapped = getattr(address, "ipv4_mapped", None) or address
            if not mapped.is_global:
                raise Refused(
                    f"refused: {url.host} resolves to the non-public address {address}"
                    " (set callback_allow_private to allow it)"
                )
    return sorted(found, key=lambda address: address.version)


def _describe(exc: httpx.HTTPError) -> str:
    detail = str(exc)
    return (f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__)[:MAX_ERROR_CHARS]


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.seq,
        application_id=row.application_id,
        url=row.url,
        attempts=row.attempts,
        next_attempt_at=iso_utc(row.next_attempt_at) if row.next_attempt_at else None,
        delivered_at=iso_utc(row.delivered_at) if row.delivered_at else None,
        last_error=row.last_error,
    )


def _now() -> datetime:
    return datetime.now(UTC)


__all__ = [
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "Delivery",
    "Notifier",
    "NotifierOptions",
    "Refused",
    "Round",
    "load_secret",
    "notifications_table",
    "notifier_options",
    "resolve_callback",
    "sign",
]
