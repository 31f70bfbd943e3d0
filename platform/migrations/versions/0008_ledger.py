"""Issue 11: ledger parties entries and outbox.

The transparency log's entries and signed tree heads are append-only: a trigger aborts any
UPDATE or DELETE on them (and TRUNCATE on PostgreSQL), on both backends.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

GUARDED = ("ledger_entries", "ledger_tree_heads")
MESSAGE = "the ledger is append-only"


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("entry", sa.LargeBinary, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ledger_tree_heads",
        sa.Column("tree_size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root_hash", sa.String(44), nullable=False),
        sa.Column("timestamp", sa.String(32), nullable=False),
        sa.Column("signature", sa.String(88), nullable=False),
    )
    op.create_table(
        "ledger_outbox",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("index", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
        )
        for table in GUARDED:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
                " FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
                " FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()"
            )
        return
    for table in GUARDED:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table}"
                f" BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in GUARDED:
        names = ("append_only", "no_truncate") if postgresql else ("no_update", "no_delete")
        for name in names:
            on = f" ON {table}" if postgresql else ""
            op.execute(f"DROP TRIGGER {table}_{name}{on}")
    if postgresql:
        op.execute("DROP FUNCTION ledger_append_only()")
    op.drop_table("ledger_outbox")
    op.drop_table("ledger_tree_heads")
    op.drop_table("ledger_entries")
