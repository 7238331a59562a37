"""satisfaction answers, early warnings, improvement actions

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 19:53:52.472224
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "early_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pack", sa.String(length=64), nullable=False),
        sa.Column("monitor", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("reference", sa.Double(), nullable=True),
        sa.Column("raised_by", sa.String(length=128), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_early_warnings_record_id_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_early_warnings")),
    )
    with op.batch_alter_table("early_warnings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_early_warnings_opened_at"), ["opened_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_early_warnings_record_id"), ["record_id"], unique=False
        )
        batch_op.create_index(
            "uq_early_warnings_open",
            ["pack", "monitor", "scope"],
            unique=True,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )

    op.create_table(
        "satisfaction_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("nps", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_satisfaction_answers_record_id_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_satisfaction_answers")),
        sa.UniqueConstraint("record_id", name=op.f("uq_satisfaction_answers_record_id")),
    )
    with op.batch_alter_table("satisfaction_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_satisfaction_answers_answered_at"), ["answered_at"], unique=False
        )

    op.create_table(
        "improvement_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pack", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("value_before", sa.Double(), nullable=True),
        sa.Column("value_after", sa.Double(), nullable=True),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("warning_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["warning_id"],
            ["early_warnings.id"],
            name=op.f("fk_improvement_actions_warning_id_early_warnings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_improvement_actions")),
    )
    with op.batch_alter_table("improvement_actions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_improvement_actions_due", ["measured_at", "deadline"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_improvement_actions_warning_id"), ["warning_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("improvement_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_improvement_actions_warning_id"))
        batch_op.drop_index("ix_improvement_actions_due")

    op.drop_table("improvement_actions")
    with op.batch_alter_table("satisfaction_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_satisfaction_answers_answered_at"))

    op.drop_table("satisfaction_answers")
    with op.batch_alter_table("early_warnings", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_early_warnings_open",
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_early_warnings_record_id"))
        batch_op.drop_index(batch_op.f("ix_early_warnings_opened_at"))

    op.drop_table("early_warnings")
