"""BI (issue 10): bibliographic records for the analytics (imported or synthetic).

One row per application: the applicant's country of residence, filing and publication
dates, IPC codes (a JSON list) and kind; ``synthetic`` marks generated demonstration rows.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bi_records",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(40)),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("filing_date", sa.Date, nullable=False),
        sa.Column("publication_date", sa.Date),
        sa.Column("ipc", sa.JSON, nullable=False),
        sa.Column("synthetic", sa.Boolean, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("bi_records_by_filing", "bi_records", ["filing_date"])
    op.create_index("bi_records_by_imported", "bi_records", ["imported_at"])


def downgrade() -> None:
    op.drop_index("bi_records_by_imported", "bi_records")
    op.drop_index("bi_records_by_filing", "bi_records")
    op.drop_table("bi_records")
