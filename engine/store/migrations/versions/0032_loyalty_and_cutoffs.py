"""loyalty ledger, referrals, the satisfaction cut-offs a rolled-up day was read by, and each
customer's orders in time order (issue #25)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loyalty_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pack", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_loyalty_ledger_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_ledger")),
        sa.UniqueConstraint("pack", "source_ref", name="uq_loyalty_ledger_source"),
    )
    op.create_index(
        "ix_loyalty_ledger_balance", "loyalty_ledger", ["pack", "customer_id", "expires_at"]
    )
    op.create_table(
        "customer_referrals",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("referrer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_referrals_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["referrer_id"],
            ["customers.id"],
            name=op.f("fk_customer_referrals_referrer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_referrals")),
    )
    op.create_index(
        op.f("ix_customer_referrals_referrer_id"), "customer_referrals", ["referrer_id"]
    )
    op.add_column("rollup_days", sa.Column("cutoffs", sa.JSON(), nullable=True))
    op.create_index("ix_orders_customer_time", "orders", ["customer_id", "ordered_at"])


def downgrade() -> None:
    op.drop_index("ix_orders_customer_time", table_name="orders")
    with op.batch_alter_table("rollup_days") as batch_op:
        batch_op.drop_column("cutoffs")
    op.drop_index(op.f("ix_customer_referrals_referrer_id"), table_name="customer_referrals")
    op.drop_table("customer_referrals")
    op.drop_index("ix_loyalty_ledger_balance", table_name="loyalty_ledger")
    op.drop_table("loyalty_ledger")
