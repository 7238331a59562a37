"""timer effects unique, scheduler heartbeats

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 17:23:06.144704
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "scheduler_heartbeats",
        sa.Column("worker", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sweep_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_fired", sa.Integer(), nullable=False),
        sa.Column("last_failed", sa.Integer(), nullable=False),
        sa.Column("last_duration_ms", sa.Double(), nullable=False),
        sa.Column("total_fired", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("worker", name=op.f("pk_scheduler_heartbeats")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timer_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            "uq_notifications_timer_audience", ["timer_id", "audience"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_timer_id_timers"), "timers", ["timer_id"], ["id"]
        )

    with op.batch_alter_table("record_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timer_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_record_events_timer_id"), ["timer_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_record_events_timer_id_timers"), "timers", ["timer_id"], ["id"]
        )


def downgrade() -> None:

    with op.batch_alter_table("record_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_record_events_timer_id_timers"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_record_events_timer_id"), type_="unique")
        batch_op.drop_column("timer_id")

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_notifications_timer_id_timers"), type_="foreignkey")
        batch_op.drop_constraint("uq_notifications_timer_audience", type_="unique")
        batch_op.drop_column("timer_id")

    op.drop_table("scheduler_heartbeats")
