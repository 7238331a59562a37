"""dedicated agent

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 18:04:12.126134
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedicated_agent", sa.String(length=128), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("dedicated_agent")
