"""record attachments, and thread files kept in the disk store (issue #21, item 3)

A record's own files get a table; their bytes, and those of thread files from now on, live
encrypted in the content-addressed disk store (`engine.files.blobs`). Thread files stored
before keep their bytes in `thread_attachments.data` and are read from there, so nothing is
moved: `data` becomes optional and `address` names the stored file of new rows.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 02:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# thread_attachments as 0017 made it: SQLite rebuilds the table to make `data` optional, and
# with this copy it needs not reflect it (reflection would reach the records table, whose
# expression index it cannot read).
_THREAD_ATTACHMENTS = sa.Table(
    "thread_attachments",
    sa.MetaData(),
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("message_id", sa.Integer(), nullable=False),
    sa.Column("filename", sa.String(length=200), nullable=False),
    sa.Column("content_type", sa.String(length=127), nullable=False),
    sa.Column("size", sa.Integer(), nullable=False),
    sa.Column("data", sa.LargeBinary(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(
        ["message_id"],
        ["thread_messages.id"],
        name="fk_thread_attachments_message_id_thread_messages",
    ),
    sa.PrimaryKeyConstraint("id", name="pk_thread_attachments"),
    sa.Index("ix_thread_attachments_message", "message_id"),
)


def upgrade() -> None:
    op.create_table(
        "record_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("declared_type", sa.String(length=127), nullable=False),
        sa.Column("detected_type", sa.String(length=127), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("preview_address", sa.String(length=64), nullable=True),
        sa.Column("uploaded_by", sa.String(length=128), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_record_attachments_record_id_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_attachments")),
    )
    op.create_index("ix_record_attachments_record", "record_attachments", ["record_id", "id"])
    with op.batch_alter_table("thread_attachments", copy_from=_THREAD_ATTACHMENTS) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=64), nullable=True))
        batch_op.alter_column("data", existing_type=sa.LargeBinary(), nullable=True)


def _with_address() -> sa.Table:
    """thread_attachments as this revision leaves it, for the way back."""
    table = _THREAD_ATTACHMENTS.to_metadata(sa.MetaData())
    table.c.data.nullable = True
    table.append_column(sa.Column("address", sa.String(length=64), nullable=True))
    return table


def downgrade() -> None:
    # Thread files stored on disk since have no bytes in the table: they go with the column.
    op.execute("DELETE FROM thread_attachments WHERE data IS NULL")
    with op.batch_alter_table("thread_attachments", copy_from=_with_address()) as batch_op:
        batch_op.alter_column("data", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("address")
    op.drop_index("ix_record_attachments_record", table_name="record_attachments")
    op.drop_table("record_attachments")
