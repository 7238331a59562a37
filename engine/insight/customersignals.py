"""Signals from customers' behaviour (R-6.1): activity drop and repurchase drop.

Both compare the monitor's window ending now with the window before it, in one statement each
over orders (and, for activity, the pack's records), grouped set-based:

- `activity_drop` (everyone's) and `customer_activity_drop` (one warning per customer): orders
  plus the pack's records, the share by which the last window fell short of the one before
  (0: as active, 1: silent); it stands on the earlier window's count, so `min_count` keeps
  occasional buyers out;
- `repurchase_drop`: the repurchase rate — of the customers who ordered in a window, the
  share who had ordered before their last order in it (docs/economics.md) — the share by
  which the last window's fell short of the one before's; it stands on the earlier window's
  buyers.

Only scopes past the lowest level come back from the database, so a million customers do not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from engine.insight.metrics import ALL
from engine.specs.insight import MonitorSpec
from engine.specs.monitorchecks import DROPS
from engine.specs.pack import PackSpec
from engine.store.models import Customer, CustomerOrderStats, Order, Record

METRICS = DROPS


def measure(
    session: Session, pack: PackSpec, monitor: MonitorSpec, now: datetime
) -> dict[str, tuple[float, int]]:
    """{scope: (drop 0–1, what the earlier window counted)} past the monitor's lowest level."""
    if monitor.metric == "repurchase_drop":
        return _repurchase(session, monitor, now)
    return _activity(session, pack, monitor, now)


def _activity(
    session: Session, pack: PackSpec, monitor: MonitorSpec, now: datetime
) -> dict[str, tuple[float, int]]:
    split, start = now - monitor.window, now - 2 * monitor.window
    orders = select(Order.customer_id.label("customer_id"), Order.ordered_at.label("at")).where(
        Order.ordered_at >= start, Order.ordered_at < now
    )
    records = select(Record.customer_id, Record.received_at).where(
        Record.pack == pack.name,
        Record.customer_id.is_not(None),
        Record.received_at >= start,
        Record.received_at < now,
    )
    flow = pack.insight.warnings
    if flow is not None:  # a warning's own record is no customer's activity
        records = records.where(Record.record_type != flow.record_type)
    acts = union_all(orders, records).subquery("acts")
    before = func.sum(case((acts.c.at < split, 1), else_=0)).label("was")
    last = func.sum(case((acts.c.at >= split, 1), else_=0)).label("now_count")
    statement = select(literal(ALL).label("scope"), before, last).select_from(acts)
    if monitor.by == "customer":
        statement = (
            select(Customer.number.label("scope"), before, last)
            .select_from(acts.join(Customer, Customer.id == acts.c.customer_id))
            .group_by(Customer.number)
        )
    return _past_lowest(session, statement.subquery("per_scope"), monitor)


def _repurchase(
    session: Session, monitor: MonitorSpec, now: datetime
) -> dict[str, tuple[float, int]]:
    split, start = now - monitor.window, now - 2 * monitor.window
    at = Order.ordered_at
    per_customer = (
        select(
            Order.customer_id,
            func.max(case((at < split, at), else_=None)).label("last_before"),
            func.max(case((at >= split, at), else_=None)).label("last_now"),
        )
        .where(at >= start, at < now)
        .group_by(Order.customer_id)
        .subquery("c")
    )
    first = CustomerOrderStats.first_order_at  # a customer's first order of all (≤ now)

    def rate(last: Any) -> tuple[Any, Any]:
        bought = func.sum(case((last.is_not(None), 1), else_=0))
        again = func.sum(case((and_(last.is_not(None), first < last), 1), else_=0))
        return bought, again

    (bought_before, again_before), (bought_now, again_now) = (
        rate(per_customer.c.last_before),
        rate(per_customer.c.last_now),
    )
    statement = select(bought_before, again_before, bought_now, again_now).select_from(
        per_customer.join(
            CustomerOrderStats, CustomerOrderStats.customer_id == per_customer.c.customer_id
        )
    )
    row = session.execute(statement).one()
    buyers_before, was, buyers_now, now_again = (int(v or 0) for v in row)
    if buyers_before < monitor.min_count or not was:
        return {}
    current = now_again / buyers_now if buyers_now else 0.0
    drop = 1 - current / (was / buyers_before)
    return {ALL: (drop, buyers_before)} if drop > monitor.levels[0][1] else {}


def _past_lowest(
    session: Session, per_scope: Any, monitor: MonitorSpec
) -> dict[str, tuple[float, int]]:
    """The scopes of `per_scope` (scope, was, now_count) whose drop passes the lowest level,
    on enough earlier activity: the filter is SQL's, not a Python loop's."""
    lowest = monitor.levels[0][1]
    was, now_count = per_scope.c.was, per_scope.c.now_count
    statement = select(per_scope.c.scope, was, now_count).where(
        was >= max(monitor.min_count, 1), now_count < was * (1 - lowest)
    )
    return {
        str(scope): (1 - int(now) / int(before), int(before))
        for scope, before, now in session.execute(statement)
    }
