"""saved views: the queue's named filter sets, personal or shared with a team (issue #21)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("query", sa.String(length=2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_saved_views_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
    )
    op.create_index(op.f("ix_saved_views_owner"), "saved_views", ["owner"])
    op.create_index(op.f("ix_saved_views_team_id"), "saved_views", ["team_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_saved_views_team_id"), table_name="saved_views")
    op.drop_index(op.f("ix_saved_views_owner"), table_name="saved_views")
    op.drop_table("saved_views")
