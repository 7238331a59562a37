"""Churn, repurchase, referral and customer lifetime value from orders (R-4.3, R-4.4, R-5.4).

The definitions, with their windows in the pack's `economics` key (docs/economics.md):

- churn rate: of the customers who ordered before `churn_after` ago, the share with no order
  since;
- repurchase rate: of the customers who ordered in `repurchase_window`, the share who had
  ordered before their last order in it;
- referral rate: of the customers whose first order falls in `repurchase_window`, the share
  referred by another customer;
- CLTV: average order value × orders per buyer per year × `lifespan_years`, from the orders
  in `cltv_window` — which comes to spend per buyer per year × lifespan.

Two statements, no Python loop over customers: one aggregate over each customer's order stats
(first and last order, kept as orders arrive: engine/customers/orderstats.py), and the CLTV
window's orders counted and summed by their time index; for a past period, a third aggregate
over the customers who ordered since. `from_orders` keeps the definitions
as one statement over orders grouped per customer — three seconds and more at three million
orders (issue #25) — and is what the stats are checked against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from engine.specs.economics import EconomicsSpec
from engine.specs.pack import PackSpec
from engine.store.models import (
    Customer,
    CustomerOrderStats,
    CustomerReferral,
    CustomerTier,
    Order,
)
from engine.time.durations import Offset

YEAR = timedelta(days=365)
NAMES = ("churn_rate", "repurchase_rate", "referral_rate", "cltv")


@dataclass(frozen=True)
class Economics:
    """The counts each figure is a ratio of, and the figures (None: nobody to count)."""

    churn_base: int = 0
    churned: int = 0
    buyers: int = 0
    repurchased: int = 0
    new_buyers: int = 0
    referred: int = 0
    cltv_buyers: int = 0
    cltv_orders: int = 0
    cltv_spend: float = 0.0
    cltv_years: float = 1.0
    lifespan_years: float = 3.0

    @property
    def values(self) -> dict[str, float | None]:
        return {
            "churn_rate": _share(self.churned, self.churn_base),
            "repurchase_rate": _share(self.repurchased, self.buyers),
            "referral_rate": _share(self.referred, self.new_buyers),
            "cltv": self.cltv_spend / self.cltv_buyers / self.cltv_years * self.lifespan_years
            if self.cltv_buyers
            else None,
        }


def years(offset: Offset) -> float:
    """A window in years: months count twelve to a year, seconds 365 days to a year."""
    return offset.months / 12 + offset.seconds / YEAR.total_seconds()


def figures(session: Session, pack: PackSpec, now: datetime, tier: str | None = None) -> Economics:
    """The pack's customer economics at `now`, of every customer or of one tier's.

    Reads one stats row per customer (first and last order, kept as orders arrive), in a
    scan of them all (an index over most rows would only cost), and the CLTV window's orders
    by their time index. A customer with an order after `now` (the
    dashboard of a past period) has their last order up to `now` looked up in their orders
    instead, so the figures are those of `from_orders` at any moment.
    """
    spec: EconomicsSpec = pack.insight.economics
    of_tier = None if tier is None else _of_tier(pack.name, tier)
    cltv_start = spec.cltv_window.before(now)
    in_cltv = select(func.count(), func.coalesce(func.sum(Order.amount), 0.0)).where(
        Order.ordered_at > cltv_start, Order.ordered_at <= now
    )
    if of_tier is not None:
        in_cltv = in_cltv.where(Order.customer_id.in_(of_tier))
    window_start = spec.repurchase_window.before(now)
    counts = [0] * 7
    for c in _first_and_last(session, now, of_tier):
        in_window = c.c.last > window_start
        statement = _counted(
            c, spec.churn_after.before(now), window_start, in_window, c.c.first < c.c.last
        ).add_columns(_count(c.c.last > cltv_start))
        row = session.execute(statement).one()
        counts = [total + int(value or 0) for total, value in zip(counts, row, strict=True)]
    cltv_orders, cltv_spend = session.execute(in_cltv).one()
    return _economics(spec, [*counts, cltv_orders], cltv_spend)


def _first_and_last(session: Session, now: datetime, of_tier: Any) -> list[Any]:
    """Customers' (customer_id, first, last) order up to `now`, in parts counted apart.

    Now, one part: every stats row as it is. At a past moment, when some ordered since, two
    disjoint parts whose counts add up: the rows as they are, and those customers with their
    last order up to `now` looked up. Apart, because in one statement (a UNION) the lookups'
    correlated subquery kept PostgreSQL from scanning the first part in parallel, as it does
    for the dashboard now (docs/economics.md).
    """
    s = CustomerOrderStats
    rows: Any = select(
        s.customer_id, s.first_order_at.label("first"), s.last_order_at.label("last")
    )
    if of_tier is not None:
        rows = rows.where(s.customer_id.in_(of_tier))
    if session.scalar(select(s.customer_id).where(s.last_order_at > now).limit(1)) is None:
        return [rows.subquery("c")]
    # Their first order is still the stats' (it was before `now`), their last one up to `now`
    # one backward step of the (customer, time) index each; materialized, so that the lookup
    # runs once per customer, not once per count that reads it (PostgreSQL and SQLite both
    # inline a plain subquery into the aggregate).
    last_by_now = (
        select(func.max(Order.ordered_at))
        .where(Order.customer_id == s.customer_id, Order.ordered_at <= now)
        .scalar_subquery()
    )
    later: Any = select(
        s.customer_id, s.first_order_at.label("first"), last_by_now.label("last")
    ).where(s.last_order_at > now, s.first_order_at <= now)
    if of_tier is not None:
        later = later.where(s.customer_id.in_(of_tier))
    # An expression, not the bare column: nearly every row qualifies, so a scan beats the
    # last-order index, which SQLite would otherwise walk (2.9 s at 250,000, not 0.8).
    kept = rows.where(func.coalesce(s.last_order_at, s.first_order_at) <= now)
    return [kept.subquery("c"), later.cte("c").prefix_with("MATERIALIZED")]


def from_orders(
    session: Session, pack: PackSpec, now: datetime, tier: str | None = None
) -> Economics:
    """The same figures straight from orders, grouped per customer: the definitions as one
    statement, which the stats must agree with (tests, bench/bench_economics.py)."""
    spec: EconomicsSpec = pack.insight.economics
    window_start = spec.repurchase_window.before(now)
    cltv_start = spec.cltv_window.before(now)
    at = Order.ordered_at
    in_cltv = and_(at > cltv_start, at <= now)
    per_customer = (
        select(
            Order.customer_id,
            func.min(at).label("first"),
            func.max(at).label("last"),
            func.max(case((and_(at > window_start, at <= now), at), else_=None)).label("seen"),
            func.sum(case((in_cltv, Order.amount), else_=0.0)).label("spend"),
            func.sum(case((in_cltv, 1), else_=0)).label("orders"),
        )
        .where(at <= now)
        .group_by(Order.customer_id)
    )
    if tier is not None:
        per_customer = per_customer.where(Order.customer_id.in_(_of_tier(pack.name, tier)))
    c = per_customer.subquery("c")
    seen = c.c.seen.is_not(None)
    statement = _counted(
        c, spec.churn_after.before(now), window_start, seen, c.c.first < c.c.seen
    ).add_columns(
        _count(c.c.orders > 0),
        func.coalesce(func.sum(c.c.orders), 0),
        func.coalesce(func.sum(c.c.spend), 0.0),
    )
    row = session.execute(statement).one()
    return _economics(spec, row[:8], row[8])


def _counted(
    c: Any, churn_cut: datetime, window_start: datetime, in_window: Any, again: Any
) -> Any:
    """Churn, repurchase and referral counts over customers' (first, last) rows `c`."""
    new = c.c.first > window_start
    referred = CustomerReferral.customer_id.is_not(None)
    return select(
        _count(c.c.first <= churn_cut),
        _count(and_(c.c.first <= churn_cut, c.c.last <= churn_cut)),
        _count(in_window),
        _count(and_(in_window, again)),
        _count(new),
        _count(and_(new, referred)),
    ).select_from(c.outerjoin(CustomerReferral, CustomerReferral.customer_id == c.c.customer_id))


def _economics(spec: EconomicsSpec, counts: Sequence[Any], spend: Any) -> Economics:
    base, churned, buyers, again, new_buyers, was_referred, cltv_buyers, orders = (
        int(v or 0) for v in counts
    )
    return Economics(
        base,
        churned,
        buyers,
        again,
        new_buyers,
        was_referred,
        cltv_buyers,
        orders,
        cltv_spend=float(spend or 0.0),
        cltv_years=years(spec.cltv_window) or 1.0,
        lifespan_years=spec.lifespan_years,
    )


def _of_tier(pack: str, tier: str) -> Any:
    """Customers of a tier in the pack: set by hand, else as the pack's rules computed it."""
    computed = (
        select(CustomerTier.tier)
        .where(CustomerTier.pack == pack, CustomerTier.customer_id == Customer.id)
        .scalar_subquery()
    )
    return select(Customer.id).where(func.coalesce(Customer.tier, computed) == tier)


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _share(part: int, whole: int) -> float | None:
    return part / whole * 100 if whole else None
