"""The weekly and monthly reviews as built and mailed, one row per pack, kind and period
(issue #25 item 4, R-4.2): the unique key is what makes each period's mail go out once;
improvement actions name their responsible department, one open per category (R-7.2)

Revision ID: 0036
Revises: 0033
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pack", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_runs")),
        sa.UniqueConstraint("pack", "kind", "period_start", name="uq_review_runs_period"),
    )
    op.add_column("improvement_actions", sa.Column("department", sa.String(length=64)))
    op.create_index(
        "uq_improvement_actions_open",
        "improvement_actions",
        ["pack", "department", "category"],
        unique=True,
        sqlite_where=sa.text("measured_at IS NULL AND department IS NOT NULL"),
        postgresql_where=sa.text("measured_at IS NULL AND department IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_improvement_actions_open", table_name="improvement_actions")
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), as 0033 does.
    op.drop_column("improvement_actions", "department")
    op.drop_table("review_runs")
