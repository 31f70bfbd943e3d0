"""Filing (issue 9): correspondence threads and callback notifications.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# An application event's seq (BIGSERIAL on PostgreSQL, the rowid on SQLite; see 0002).
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "application_id",
            sa.String(17),
            sa.ForeignKey("applications.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("attachments", sa.JSON, nullable=False),
        sa.Column("deadline", sa.Date),
        sa.Column("in_reply_to", sa.Integer, sa.ForeignKey("messages.id", ondelete="SET NULL")),
        sa.Column("answered_by", sa.Integer, sa.ForeignKey("messages.id", ondelete="SET NULL")),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("messages_by_application", "messages", ["application_id", "id"])
    op.create_table(
        "notifications",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=False),
        sa.Column(
            "application_id",
            sa.String(17),
            sa.ForeignKey("applications.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.String(500)),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("notifications_due", "notifications", ["next_attempt_at"])
    op.create_table(
        "notification_cursor",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("last_seq", _SEQ, nullable=False),
    )
    # Events already there when this revision runs are history, not news to send.
    op.execute(
        "INSERT INTO notification_cursor (name, last_seq)"
        " SELECT 'callbacks', COALESCE(MAX(seq), 0) FROM application_events"
    )


def downgrade() -> None:
    op.drop_table("notification_cursor")
    op.drop_index("notifications_due", "notifications")
    op.drop_table("notifications")
    op.drop_index("messages_by_application", "messages")
    op.drop_table("messages")
