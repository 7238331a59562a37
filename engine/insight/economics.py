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

One statement: orders grouped per customer (first, last, last in the window, spend in the
CLTV window), then one aggregate over those groups. No Python loop over customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from engine.specs.economics import EconomicsSpec
from engine.specs.pack import PackSpec
from engine.store.models import Customer, CustomerReferral, CustomerTier, Order
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
    """The pack's customer economics at `now`, of every customer or of one tier's."""
    spec: EconomicsSpec = pack.insight.economics
    churn_cut = spec.churn_after.before(now)
    window_start = spec.repurchase_window.before(now)
    cltv_start = spec.cltv_window.before(now)
    at = Order.ordered_at
    in_window = and_(at > window_start, at <= now)
    in_cltv = and_(at > cltv_start, at <= now)
    per_customer = (
        select(
            Order.customer_id,
            func.min(at).label("first"),
            func.max(at).label("last"),
            func.max(case((in_window, at), else_=None)).label("last_in_window"),
            func.sum(case((in_cltv, Order.amount), else_=0.0)).label("spend"),
            func.sum(case((in_cltv, 1), else_=0)).label("orders"),
        )
        .where(at <= now)
        .group_by(Order.customer_id)
    )
    if tier is not None:
        per_customer = per_customer.where(Order.customer_id.in_(_of_tier(pack.name, tier)))
    c = per_customer.subquery("c")
    referred = CustomerReferral.customer_id.is_not(None)
    new = c.c.first > window_start
    statement = select(
        _count(c.c.first <= churn_cut),
        _count(and_(c.c.first <= churn_cut, c.c.last <= churn_cut)),
        _count(c.c.last_in_window.is_not(None)),
        _count(and_(c.c.last_in_window.is_not(None), c.c.first < c.c.last_in_window)),
        _count(new),
        _count(and_(new, referred)),
        _count(c.c.orders > 0),
        func.coalesce(func.sum(c.c.orders), 0),
        func.coalesce(func.sum(c.c.spend), 0.0),
    ).select_from(c.outerjoin(CustomerReferral, CustomerReferral.customer_id == c.c.customer_id))
    row = session.execute(statement).one()
    base, churned, buyers, again, new_buyers, was_referred, cltv_buyers, orders = (
        int(v or 0) for v in row[:8]
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
        cltv_spend=float(row[8] or 0.0),
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
