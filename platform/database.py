"""The platform layer's one SQL database: a SQLAlchemy engine from a URL setting.

Embedded default: a SQLite file under the data directory (``sqlite:///DATA/platform.db``);
production points ``database_url`` (``IPSIM_DATABASE_URL``) at PostgreSQL
(``postgresql+psycopg://…``) and nothing above this module changes. The stores in this
room take an :class:`sqlalchemy.Engine` and speak SQLAlchemy Core, so the URL is the only
thing that differs between the two.

SQLite needs four things PostgreSQL does by itself, set on every new connection:
foreign keys on (``ON DELETE CASCADE`` relies on it), WAL journaling (readers do not block
the writer), ``synchronous = FULL`` (each commit is on disk before it is acknowledged) and
a busy timeout (a writer waits for another instead of failing at once).
A write transaction also begins ``IMMEDIATE``: a deferred one that reads and then writes
can fail with "database is locked" without waiting, when two writers upgrade their read
locks at the same time. :func:`writer` gives the engine whose transactions do that.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.sql.dml import Insert

DATABASE_FILE = "platform.db"
BUSY_TIMEOUT_MS = 10_000
_IMMEDIATE = "ipsim_immediate"


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime from one the database handed back: SQLite's come back naive,
    and every time this layer stores is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """``2025-01-31T12:00:00.000Z``: how the platform's answers write a stored time."""
    return as_utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def upsert_statement(table: Table, dialect: str, key: str, fixed: Sequence[str] = ()) -> Insert:
    """``INSERT … ON CONFLICT (key) DO UPDATE`` of every column but ``key`` and ``fixed``,
    in the dialect's own syntax (PostgreSQL or SQLite: both have it, with the same words)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    kept = {key, *fixed}
    return statement.on_conflict_do_update(
        index_elements=[table.c[key]],
        set_={c.name: statement.excluded[c.name] for c in table.c if c.name not in kept},
    )


def database_url(configured: str | None, data: Path) -> str:
    """The configured URL, or the embedded default: a SQLite file in the data directory."""
    if configured:
        return configured
    return f"sqlite:///{(data / DATABASE_FILE).resolve()}"


def open_database(url: str) -> Engine:
    """A SQLAlchemy engine for ``url``; ``ValueError`` names the setting when it is bad.

    No connection is made here; a SQLite file's folder is created so the first one succeeds.
    """
    try:
        parsed = make_url(url)
        sqlite = parsed.get_backend_name() == "sqlite"
        engine = create_engine(parsed) if sqlite else create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:  # a malformed URL, an unknown or absent driver
        raise ValueError(f"database_url: unusable: {exc}") from exc
    if sqlite:
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        _configure_sqlite(engine)
    return engine


def writer(engine: Engine) -> Engine:
    """The same engine (and pool) whose transactions take SQLite's write lock up front."""
    return engine.execution_options(**{_IMMEDIATE: True})


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below (the pysqlite
        # driver's own implicit BEGIN is always deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")  # an acknowledged write survives power loss
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


__all__ = [
    "DATABASE_FILE",
    "as_utc",
    "database_url",
    "iso_utc",
    "open_database",
    "upsert_statement",
    "writer",
]
