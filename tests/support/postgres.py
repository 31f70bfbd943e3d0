"""A real PostgreSQL server for the tests, started from the Debian ``postgresql`` package.

One throw-away cluster per test session (``initdb`` into a temporary folder, listening only
on a Unix socket in that folder, ``fsync`` off since the data is thrown away), and a fresh
database per test. PostgreSQL refuses to run as root, so under root the cluster belongs to
the package's ``postgres`` user (commands run through ``runuser``); otherwise to whoever runs
the tests. The superuser is always called ``postgres``.

``tools/system_deps.sh`` (run by ``make``) installs the package; without it the tests that
claim PostgreSQL fail with a message saying so rather than being skipped quietly.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

SUPERUSER = "postgres"
PORT = 5432  # only names the socket file: the cluster listens on no TCP port


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed: run tools/system_deps.sh (apt-get install postgresql)"
        )
    return Path(found[-1]).parent


class PostgresServer:
    """A running throw-away cluster; :meth:`database` hands out fresh databases."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self._bin = _bin_dir()
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if self._as:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            str(self._bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
            "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        options = f"-k {self.root} -h '' -p {PORT} -F -c max_connections=200"
        self._run(
            str(self._bin / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.root / "log"), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run(str(self._bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    def url(self, database: str = SUPERUSER) -> str:
        """A SQLAlchemy URL (psycopg 3 driver) for ``database`` over the socket."""
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.root}&port={PORT}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=str(self.root), port=PORT, user=SUPERUSER, dbname=SUPERUSER, autocommit=True
        )

    @contextmanager
    def database(self) -> Iterator[str]:
        """A new empty database for one test; dropped afterwards (connections and all)."""
        name = f"t_{secrets.token_hex(6)}"
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        try:
            yield self.url(name)
        finally:
            with self._admin() as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # type: ignore[arg-type]


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a cluster in a new folder under /tmp (pytest's own temporary folders are private
    to root, which the ``postgres`` user could not enter); stop and delete it afterwards."""
    root = Path(tempfile.mkdtemp(prefix="ipsim-pg-"))
    server = PostgresServer(root)
    try:
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # it never started
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
