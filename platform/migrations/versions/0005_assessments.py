"""Filing (issue 9): preliminary novelty assessment jobs and reports.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "application_id",
            sa.String(17),
            sa.ForeignKey("applications.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("lease_owner", sa.String(36)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True)),
        sa.Column("finished", sa.DateTime(timezone=True)),
        sa.Column("report", sa.JSON),
        sa.Column("error", sa.Text),
    )
    op.create_index("assessments_by_application", "assessments", ["application_id", "created"])
    op.create_index("assessments_by_status", "assessments", ["status", "created"])
    # At most one queued or running assessment per application, even under racing requests.
    op.create_index(
        "assessments_one_active",
        "assessments",
        ["application_id"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("assessments_one_active", "assessments")
    op.drop_index("assessments_by_status", "assessments")
    op.drop_index("assessments_by_application", "assessments")
    op.drop_table("assessments")
