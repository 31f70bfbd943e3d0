"""Expert-mode result sets: sets, their hits, tags and comments (issue 7).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "result_sets",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("owner", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(200)),
        sa.Column("search", sa.JSON, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "result_set_hits",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "set_pk",
            sa.Integer,
            sa.ForeignKey("result_sets.pk", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("collection", sa.String(63), nullable=False),
        sa.Column("doc_id", sa.String(512), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("data", sa.JSON, nullable=False),
        sa.UniqueConstraint("set_pk", "collection", "doc_id"),
    )
    op.create_table(
        "result_set_tags",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "set_pk",
            sa.Integer,
            sa.ForeignKey("result_sets.pk", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("hit_pk", sa.Integer, sa.ForeignKey("result_set_hits.pk", ondelete="CASCADE")),
        sa.Column("tag", sa.String(64), nullable=False),
    )
    op.create_index(
        "result_set_tags_unique",
        "result_set_tags",
        ["set_pk", sa.text("coalesce(hit_pk, 0)"), "tag"],
        unique=True,
    )
    op.create_index("result_set_tags_by_tag", "result_set_tags", ["tag"])
    op.create_table(
        "result_set_comments",
        sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "set_pk",
            sa.Integer,
            sa.ForeignKey("result_sets.pk", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("hit_pk", sa.Integer, sa.ForeignKey("result_set_hits.pk", ondelete="CASCADE")),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("result_set_comments")
    op.drop_index("result_set_tags_by_tag", "result_set_tags")
    op.drop_index("result_set_tags_unique", "result_set_tags")
    op.drop_table("result_set_tags")
    op.drop_table("result_set_hits")
    op.drop_table("result_sets")
