"""notifications lose ix_notifications_pending (delivered_at, id): no query reads it (a
follower's unread notices are found by ix_notifications_user), and every notification a sweep
writes paid for its entry (issue #24 item 2)

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07 17:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_notifications_pending", table_name="notifications")


def downgrade() -> None:
    op.create_index("ix_notifications_pending", "notifications", ["delivered_at", "id"])
