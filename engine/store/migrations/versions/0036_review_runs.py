"""The weekly and monthly reviews as built and mailed, one row per pack, kind and period
(issue #25 item 4, R-4.2): the unique key is what makes each period's mail go out once

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


def downgrade() -> None:
    op.drop_table("review_runs")
