"""thread attachments: the files that came with a message or an agent attached (issue #20)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "thread_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),  # a Fernet token, never plain
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["thread_messages.id"],
            name=op.f("fk_thread_attachments_message_id_thread_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thread_attachments")),
    )
    op.create_index("ix_thread_attachments_message", "thread_attachments", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_thread_attachments_message", table_name="thread_attachments")
    op.drop_table("thread_attachments")
