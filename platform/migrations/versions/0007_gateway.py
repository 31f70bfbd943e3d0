"""Issue 11: gateway partner offices and received packages.

``gateway_partners``: the foreign offices whose signed packages are accepted, each with its
Ed25519 public key (32 raw bytes, base64). ``gateway_packages``: the id of every package
imported, unique, so a replayed package is refused.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_partners",
        sa.Column("office", sa.String(2), primary_key=True),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("registered", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "gateway_packages",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("sender", sa.String(2), nullable=False),
        sa.Column("collection", sa.String(63), nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("received", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("gateway_packages")
    op.drop_table("gateway_partners")
