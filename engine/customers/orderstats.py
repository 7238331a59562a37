"""Each customer's order stats (first, last, count, spend) kept in step with their orders.

Churn, repurchase and referral need only a customer's first and last order; grouping three
million orders for them on every dashboard load took seconds (issue #25, docs/economics.md).
Whoever writes orders calls `refresh` with the customers touched: one INSERT … SELECT of their
orders grouped, upserted on the customer, so a repeated order, a later shipping time or a
second writer at once leaves the same row as a rebuild — nothing is added up incrementally
that could drift. `rebuild` (the migration's backfill, the benchmark's seed) does all at once.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Table, delete, func, select, true
from sqlalchemy.orm import Session

from engine.store.dialect import insert
from engine.store.models import CustomerOrderStats, Order

CHUNK = 1000  # customers per statement: IN lists stay moderate


def refresh(session: Session, customer_ids: Collection[int]) -> None:
    """Recompute the stats of these customers from their orders."""
    ids = sorted(set(customer_ids))  # a fixed order: two writers lock rows alike
    for start in range(0, len(ids), CHUNK):
        _upsert(session, Order.customer_id.in_(ids[start : start + CHUNK]))


def rebuild(session: Session) -> None:
    """Every customer's stats from scratch (the migration's backfill does the same in SQL)."""
    session.execute(delete(CustomerOrderStats))
    _upsert(session, true())


def _upsert(session: Session, which: Any) -> None:
    table: Table = CustomerOrderStats.__table__  # type: ignore[assignment]
    grouped = (
        select(
            Order.customer_id,
            func.min(Order.ordered_at),
            func.max(Order.ordered_at),
            func.count(),
            func.sum(Order.amount),
        )
        .where(which)  # SQLite needs a WHERE before an upsert's ON CONFLICT
        .group_by(Order.customer_id)
    )
    columns = ["customer_id", "first_order_at", "last_order_at", "order_count", "spend"]
    statement = insert(session, table).from_select(columns, grouped)
    excluded = statement.excluded
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["customer_id"],
            set_={name: excluded[name] for name in columns[1:]},
        )
    )
