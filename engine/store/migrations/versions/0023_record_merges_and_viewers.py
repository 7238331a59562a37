"""record merges and viewers: a record closed as merged into another, who has a record open

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "record_merges",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("merged_into", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_record_merges_record_id_records")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into"], ["records.id"], name=op.f("fk_record_merges_merged_into_records")
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_record_merges")),
    )
    op.create_index(op.f("ix_record_merges_merged_into"), "record_merges", ["merged_into"])
    op.create_table(
        "record_viewers",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_record_viewers_record_id_records")
        ),
        sa.PrimaryKeyConstraint("record_id", "username", name=op.f("pk_record_viewers")),
    )


def downgrade() -> None:
    op.drop_table("record_viewers")
    op.drop_index(op.f("ix_record_merges_merged_into"), table_name="record_merges")
    op.drop_table("record_merges")
