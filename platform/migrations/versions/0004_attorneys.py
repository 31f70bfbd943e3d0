"""Filing (issue 9): the patent attorney register.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attorneys",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("registration_number", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        # casefolded in Python: SQLite's lower() leaves Cyrillic as it is
        sa.Column("name_folded", sa.String(200), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),  # ISO 3166-2:RU code
        sa.Column("specializations", sa.String(300), nullable=False),  # "|a|b|"
        sa.Column("languages", sa.String(200), nullable=False),  # "|ru|en|"
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column("phone", sa.String(32)),
        sa.Column("demo", sa.Boolean, nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_attorneys_name_folded", "attorneys", ["name_folded"])
    op.create_index("ix_attorneys_region", "attorneys", ["region"])
    op.create_index("ix_attorneys_status", "attorneys", ["status"])


def downgrade() -> None:
    op.drop_index("ix_attorneys_status", "attorneys")
    op.drop_index("ix_attorneys_region", "attorneys")
    op.drop_index("ix_attorneys_name_folded", "attorneys")
    op.drop_table("attorneys")
