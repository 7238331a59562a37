"""the work queue's index orders records without a deadline last on every database

SQLite's index order puts NULL first and cannot serve `NULLS LAST`, so a queue page sorted
a whole priority group in a temporary B-tree (40-150 ms at 1,000,000 open records); the
index now carries `next_deadline IS NULL` before the deadline, as the queue orders by it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22 23:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLAIN = ["is_open", "priority_rank", "tier_rank", "next_deadline", "id"]


def upgrade() -> None:
    op.drop_index("ix_records_queue", table_name="records")
    op.create_index(
        "ix_records_queue",
        "records",
        [
            "is_open",
            "priority_rank",
            "tier_rank",
            sa.text("(next_deadline IS NULL)"),
            "next_deadline",
            "id",
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_records_queue", table_name="records")
    op.create_index("ix_records_queue", "records", PLAIN)
