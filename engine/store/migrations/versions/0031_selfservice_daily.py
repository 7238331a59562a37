"""self-service figures rolled up per day: counts by kind, source, article and question (issue #23)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 05:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "selfservice_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pack", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("query", sa.String(length=200), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_selfservice_daily_article_id_kb_articles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selfservice_daily")),
    )
    op.create_index("ix_selfservice_daily_day", "selfservice_daily", ["pack", "day"])
    op.create_table(
        "selfservice_rolled",
        sa.Column("pack", sa.String(length=64), nullable=False),
        sa.Column("through", sa.Date(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pack", name=op.f("pk_selfservice_rolled")),
    )


def downgrade() -> None:
    op.drop_table("selfservice_rolled")
    op.drop_index("ix_selfservice_daily_day", table_name="selfservice_daily")
    op.drop_table("selfservice_daily")
