"""pack versions' provenance (files or admin) and when files last held them (issue #22 item 3);
import jobs, the long CSV imports run by the scheduler (issue #22 item 5)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 02:30:00

Versions published before this revision: the admin wrote a `pack.publish` audit entry for
each of its publishes (subject the pack, detail `after` the version); every other version came
from `careloop publish`, that is from files.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pack_versions") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("files_at", sa.DateTime(timezone=True), nullable=True))
    _origins_of_old_versions()
    with op.batch_alter_table("pack_versions") as batch:
        batch.alter_column("origin", existing_type=sa.String(length=16), nullable=False)
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("good_rows", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=128), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("written", sa.Integer(), nullable=False),
        sa.Column("refused", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
    )
    op.create_index("ix_import_jobs_status", "import_jobs", ["status", "id"])


def _origins_of_old_versions() -> None:
    bind = op.get_bind()
    versions = sa.table(
        "pack_versions",
        sa.column("pack"),
        sa.column("version"),
        sa.column("origin"),
        sa.column("files_at"),
        sa.column("published_at"),
    )
    audit = sa.table("audit_log", sa.column("action"), sa.column("subject"), sa.column("detail"))
    admin = {
        (subject, detail.get("after"))
        for subject, detail in bind.execute(
            sa.select(audit.c.subject, sa.type_coerce(audit.c.detail, sa.JSON)).where(
                audit.c.action == "pack.publish"
            )
        )
        if isinstance(detail, dict)
    }
    for pack, version in admin:
        bind.execute(
            versions.update()
            .where(versions.c.pack == pack, versions.c.version == version)
            .values(origin="admin")
        )
    # From files, which held them when they were published.
    bind.execute(
        versions.update()
        .where(versions.c.origin.is_(None))
        .values(origin="files", files_at=versions.c.published_at)
    )


def downgrade() -> None:
    op.drop_index("ix_import_jobs_status", table_name="import_jobs")
    op.drop_table("import_jobs")
    with op.batch_alter_table("pack_versions") as batch:
        batch.drop_column("files_at")
        batch.drop_column("origin")
