"""on PostgreSQL each sweep's claim reads its own partial index: the pending contacts and the
other pending timers, by due time; the contacts' claim had scanned the whole timers table every
batch, which made a catch-up quadratic in the table's size (issue #24 item 2). SQLite removes
an updated row's index entries at once: its claims stay on ix_timers_due

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07 17:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As engine/time/claims.py says them (a migration keeps its own copy); the models do not declare
# them (engine.store.migrate.DIALECT_ONLY).
PENDING = {
    "ix_timers_pending_contacts": "status = 'pending' AND kind = 'contact'",
    "ix_timers_pending_others": "status = 'pending' AND kind <> 'contact'",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, predicate in PENDING.items():
            op.execute(f"CREATE INDEX {name} ON timers (due_at, id) WHERE {predicate}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in PENDING:
            op.execute(f"DROP INDEX {name}")
