"""daily rollup: the additive parts of the dashboard's figures per pack, day and group

The dashboard reads closed days from here and only the rest from the records
(engine/rollup.py writes it, engine/kpis.py reads it). `ix_records_updated` finds the
days whose records changed since they were rolled up.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-22 22:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = (
    "records",
    "closed",
    "solved",
    "solved_first",
    "response_met",
    "handling_met",
    "sla_decided",
    "sla_kept",
    "answers",
    "satisfied",
    "scored",
    "score_sum",
    "nps_answers",
    "promoters",
    "detractors",
)
SECONDS = ("resolution_seconds", "response_seconds", "handling_seconds")


def upgrade() -> None:
    op.create_table(
        "daily_rollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pack", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("record_type", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("department", sa.String(length=64), nullable=True),
        sa.Column("answer_day", sa.Date(), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        *(sa.Column(name, sa.Double(), nullable=False) for name in SECONDS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_rollup")),
    )
    op.create_index("ix_daily_rollup_day", "daily_rollup", ["pack", "day"], unique=False)
    op.create_table(
        "rollup_days",
        sa.Column("pack", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("response_target", sa.String(length=64), nullable=True),
        sa.Column("handling_target", sa.String(length=64), nullable=True),
        sa.Column("first_contact", sa.JSON(), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pack", "day", name=op.f("pk_rollup_days")),
    )
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_records_updated", ["updated_at", "pack", "received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_updated")
    op.drop_table("rollup_days")
    op.drop_index("ix_daily_rollup_day", table_name="daily_rollup")
    op.drop_table("daily_rollup")
