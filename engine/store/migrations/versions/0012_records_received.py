"""records received in a period: an index for dashboards, reviews and monitors

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 20:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_records_received",
            [
                "received_at",
                "pack",
                "record_type",
                "channel",
                "category",
                "department",
                "closed_at",
            ],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_received")
