"""SLA clocks remember the term that set them (issue #25): conditional terms by channel,
category, priority, tier or type are re-chosen when the record changes, and only a change of
term re-plans the clock (so an extension granted under the same term is kept)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 05:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sla_clocks", sa.Column("term", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), as 0029 does: a batch copy would reflect
    # `records` through the foreign key and cannot carry its expression index.
    op.drop_column("sla_clocks", "term")
