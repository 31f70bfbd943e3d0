"""Alembic's environment: runs the revisions on the connection :mod:`ipsim.platform.migrate`
hands over (never one of its own, so the caller's lock and transaction hold)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
if connection is None:
    raise RuntimeError("run the platform migrations through ipsim.platform.migrate")
# Batch mode: SQLite cannot ALTER most things in place; Alembic copies the table instead.
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
