"""self-service outcomes: answered without a record, handed over, helpful votes (issue #23)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "selfservice_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pack", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("query", sa.String(length=200), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_selfservice_outcomes_article_id_kb_articles"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_selfservice_outcomes_record_id_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selfservice_outcomes")),
    )
    op.create_index(op.f("ix_selfservice_outcomes_pack"), "selfservice_outcomes", ["pack"])
    op.create_index(
        op.f("ix_selfservice_outcomes_article_id"), "selfservice_outcomes", ["article_id"]
    )
    op.create_index(op.f("ix_selfservice_outcomes_at"), "selfservice_outcomes", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_selfservice_outcomes_at"), table_name="selfservice_outcomes")
    op.drop_index(op.f("ix_selfservice_outcomes_article_id"), table_name="selfservice_outcomes")
    op.drop_index(op.f("ix_selfservice_outcomes_pack"), table_name="selfservice_outcomes")
    op.drop_table("selfservice_outcomes")
