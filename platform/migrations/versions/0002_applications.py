"""Filing (issue 9): applications, their status events, idempotency keys and attachments.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite autoincrements only an INTEGER PRIMARY KEY (the rowid); PostgreSQL gets BIGSERIAL.
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.String(17), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("applicant", sa.JSON, nullable=False),
        sa.Column("applicant_folded", sa.String(500), nullable=False),
        sa.Column("representative", sa.JSON),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("applications_by_owner", "applications", ["owner", "created"])
    op.create_index("applications_by_status", "applications", ["status", "created"])
    op.create_index("applications_by_created", "applications", ["created"])
    op.create_table(
        "application_events",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column(
            "application_id",
            sa.String(17),
            sa.ForeignKey("applications.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(40)),
        sa.Column("to_status", sa.String(40)),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("data", sa.JSON),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        # The change feed's cursor must never be handed out twice: on SQLite a plain
        # rowid may reuse the largest value after a delete; AUTOINCREMENT never does.
        sqlite_autoincrement=True,
    )
    op.create_index(
        "application_events_by_application", "application_events", ["application_id", "seq"]
    )
    op.create_table(
        "application_fees",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "application_id",
            sa.String(17),
            sa.ForeignKey("applications.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("total", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("schedule_version", sa.String(64), nullable=False),
        sa.Column("quote", sa.JSON, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("owner", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column(
            "application_id",
            sa.String(17),
            sa.ForeignKey("applications.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "attachments",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("uploader", sa.String(64), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("attachments")
    op.drop_table("idempotency_keys")
    op.drop_table("application_fees")
    op.drop_index("application_events_by_application", "application_events")
    op.drop_table("application_events")
    op.drop_index("applications_by_created", "applications")
    op.drop_index("applications_by_status", "applications")
    op.drop_index("applications_by_owner", "applications")
    op.drop_table("applications")
