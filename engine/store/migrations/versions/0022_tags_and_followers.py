"""tags and followers of records, and a follower's own notifications (issue #21, item 2)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 00:00:00
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "record_tags",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_record_tags_record_id_records")
        ),
        sa.PrimaryKeyConstraint("record_id", "tag", name=op.f("pk_record_tags")),
    )
    op.create_index("ix_record_tags_tag", "record_tags", ["tag", "record_id"])
    op.create_table(
        "record_followers",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_record_followers_record_id_records")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_record_followers_user_id_users")
        ),
        sa.PrimaryKeyConstraint("record_id", "user_id", name=op.f("pk_record_followers")),
    )
    op.create_index(op.f("ix_record_followers_user_id"), "record_followers", ["user_id"])
    # With its reference in one ALTER TABLE, which SQLite does without copying the table
    # (Alembic's batch mode would copy every notification); PostgreSQL names the constraint.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE notifications ADD COLUMN user_id INTEGER REFERENCES users (id)")
    else:
        op.add_column("notifications", sa.Column("user_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_notifications_user_id_users"), "notifications", "users", ["user_id"], ["id"]
        )
    op.create_index("ix_notifications_user", "notifications", ["user_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_notifications_user", table_name="notifications")
    with warnings.catch_warnings():
        # SQLite copies notifications, reflecting the tables it refers to; the records table's
        # expression indexes (0025) cannot be reflected and play no part in that copy.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table("notifications", schema=None) as batch_op:
            if op.get_bind().dialect.name != "sqlite":  # SQLite's is unnamed (upgrade above)
                batch_op.drop_constraint(
                    batch_op.f("fk_notifications_user_id_users"), type_="foreignkey"
                )
            batch_op.drop_column("user_id")
    op.drop_index(op.f("ix_record_followers_user_id"), table_name="record_followers")
    op.drop_table("record_followers")
    op.drop_index("ix_record_tags_tag", table_name="record_tags")
    op.drop_table("record_tags")
