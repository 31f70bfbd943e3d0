"""The platform layer as one object: its database and the services over it.

The server opens a :class:`Platform` once (the database is migrated to the newest revision
first), hands it to the HTTP app, starts its background work after the engine is up and
closes it on the way out. Routes reach a service as ``request.app.state.platform.<name>``;
without a platform (tests of the engine's routes, say) they answer 503.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from ipsim.platform import migrate
from ipsim.platform.database import open_database
from ipsim.platform.result_sets import ResultSetStore


@dataclass
class Platform:
    """The platform database and every service over it."""

    database: Engine
    data: Path
    """The server's data directory (attachments and other files live under it)."""
    result_sets: ResultSetStore

    @classmethod
    def open(cls, url: str, data: Path) -> Platform:
        """Connect to ``url`` and migrate it to the newest revision."""
        database = open_database(url)
        try:
            migrate.upgrade(database)
        except BaseException:
            database.dispose()
            raise
        return cls(database=database, data=data, result_sets=ResultSetStore(database))

    async def start(self) -> None:
        """Start the background work (after the engine is serving)."""

    async def close(self) -> None:
        """Stop the background work and close the pooled connections."""
        self.database.dispose()


__all__ = ["Platform"]
