"""each customer's order stats (first and last order, count, spend), backfilled from orders:
churn, repurchase and referral read them instead of grouping every order; orders' time index
carries the amount, so CLTV's window is read from the index alone (issue #25)

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07 06:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_order_stats",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("first_order_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_order_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("order_count", sa.Integer(), nullable=False),
        sa.Column("spend", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_order_stats_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_order_stats")),
    )
    # The orders already stored, in one statement: what engine/customers/orderstats.rebuild does.
    op.execute(
        "INSERT INTO customer_order_stats "
        "(customer_id, first_order_at, last_order_at, order_count, spend) "
        "SELECT customer_id, min(ordered_at), max(ordered_at), count(*), sum(amount) "
        "FROM orders GROUP BY customer_id"
    )
    op.create_index(
        op.f("ix_customer_order_stats_last_order_at"), "customer_order_stats", ["last_order_at"]
    )
    # Orders by time with their amount: CLTV's window read from the index alone; it serves
    # whatever the time index served.
    op.create_index("ix_orders_time_amount", "orders", ["ordered_at", "amount"])
    op.drop_index("ix_orders_ordered_at", table_name="orders")


def downgrade() -> None:
    op.create_index("ix_orders_ordered_at", "orders", ["ordered_at"])
    op.drop_index("ix_orders_time_amount", table_name="orders")
    op.drop_index(op.f("ix_customer_order_stats_last_order_at"), table_name="customer_order_stats")
    op.drop_table("customer_order_stats")
