"""Platform migrations up and down, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from ipsim.platform import migrate
from ipsim.platform.database import open_database
from ipsim.platform.result_sets import metadata as result_set_metadata


def _tables(url: str) -> set[str]:
    engine = open_database(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_to_head_then_down_to_base_and_up_again(platform_url: str) -> None:
    engine = open_database(platform_url)
    try:
        assert migrate.current(engine) is None
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()
        assert {"result_sets", "result_set_hits"} <= _tables(platform_url)
        migrate.upgrade(engine)  # a second upgrade is a no-op
        assert migrate.current(engine) == migrate.head()
        migrate.downgrade(engine, "base")
        assert migrate.current(engine) is None
        assert _tables(platform_url) == set()
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()
    finally:
        engine.dispose()


def test_every_revision_goes_down_one_step_and_back(platform_url: str) -> None:
    engine = open_database(platform_url)
    try:
        migrate.upgrade(engine)
        revisions = migrate.revisions()
        for revision in reversed(revisions):
            before = _tables(platform_url)
            migrate.downgrade(engine, "-1")
            migrate.upgrade(engine, revision)
            assert _tables(platform_url) == before, revision
            migrate.downgrade(engine, "-1")
        assert migrate.current(engine) is None
    finally:
        engine.dispose()


def test_a_database_made_before_migrations_is_adopted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = open_database(url)
    try:
        result_set_metadata.create_all(engine)  # how issue 7 made its tables
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.head()
    finally:
        engine.dispose()
