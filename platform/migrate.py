"""Schema migrations of the platform database, run by Alembic from inside the program.

Every table of ``ipsim.platform`` is created and changed by a revision in
``migrations/versions`` (one linear chain, ``0001_…``, ``0002_…``), never by
``metadata.create_all``: a production PostgreSQL database and the embedded SQLite file go
through the same steps, and a step can be undone (``downgrade``). The server upgrades to
the newest revision when it starts (:func:`upgrade`); ``alembic`` itself is not needed on
the command line.

Two programs starting at once on one database must not both run a revision: on PostgreSQL
the upgrade holds a transaction-scoped advisory lock, on SQLite the write lock taken by
``BEGIN IMMEDIATE`` (:func:`ipsim.platform.database.writer`).

A database made before migrations existed (the result-set tables made by ``create_all``)
is *adopted*: it is stamped at the first revision, whose tables it already has, and
upgraded from there.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from ipsim.platform.database import writer

MIGRATIONS = Path(__file__).with_name("migrations")
FIRST_REVISION = "0001"
_ADVISORY_LOCK = 0x1F5E_0001  # any constant that no other program on the database uses
_PRE_MIGRATION_TABLE = "result_sets"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this program knows."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None, "the migrations folder has no revisions"
    return revision


def revisions() -> list[str]:
    """Every revision this program knows, oldest first."""
    script = ScriptDirectory.from_config(_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: not migrated yet)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database up to ``revision`` (default: the newest)."""
    with writer(engine).begin() as connection:
        _lock(connection)
        config = _config(connection)
        if _needs_adoption(connection):
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo revisions down to ``revision`` (``"base"``: an empty database)."""
    with writer(engine).begin() as connection:
        _lock(connection)
        command.downgrade(_config(connection), revision)


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})


def _needs_adoption(connection: Connection) -> bool:
    if MigrationContext.configure(connection).get_current_revision() is not None:
        return False
    return inspect(connection).has_table(_PRE_MIGRATION_TABLE)


__all__ = ["FIRST_REVISION", "MIGRATIONS", "current", "downgrade", "head", "revisions", "upgrade"]
