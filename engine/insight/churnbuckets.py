"""Churn and repurchase by how fast and how well customers were served (R-4.2).

The customers with records received in the period are put in buckets by the average
resolution time of their closed records, and apart from that by the average satisfaction
score they gave (the pack's `reviews` bounds: ≤24h, 24h–72h, >72h; ≤2, 2–3, >3 by default).
Each bucket shows its customers' churn and repurchase rate as `engine.insight.economics`
defines them at `now` (the pack's `economics` windows), so a table row reads "of customers
whose problems took over three days, 40% churned".

One statement per dimension: the records grouped per customer, joined to their orders
grouped per customer, then grouped by bucket. No Python loop over customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from engine.insight.kpis.cohort import KpiFilter, records_where
from engine.insight.metrics import seconds_between
from engine.specs.pack import PackSpec
from engine.store.models import Order, Record, SatisfactionAnswer

DIMENSIONS = ("resolution", "satisfaction")


@dataclass(frozen=True)
class Bucket:
    """One bucket: its label, its customers, and the counts both rates are ratios of."""

    label: str
    customers: int
    churn_base: int
    churned: int
    buyers: int
    repurchased: int

    @property
    def churn_rate(self) -> float | None:
        return self.churned / self.churn_base * 100 if self.churn_base else None

    @property
    def repurchase_rate(self) -> float | None:
        return self.repurchased / self.buyers * 100 if self.buyers else None


def buckets(
    session: Session, pack: PackSpec, f: KpiFilter, dimension: str, now: datetime
) -> list[Bucket]:
    """Every bucket of `dimension` (resolution or satisfaction), empty ones included."""
    reviews = pack.insight.reviews
    if dimension == "resolution":
        bounds: tuple[float, ...] = reviews.resolution_buckets
        labels = _labels([_hours(b) for b in bounds])
    elif dimension == "satisfaction":
        bounds = tuple(float(b) for b in reviews.score_buckets)
        labels = _labels([f"{b:g}" for b in bounds])
    else:
        raise ValueError(f"unknown dimension '{dimension}': one of {', '.join(DIMENSIONS)}")
    served = _served(session, f).subquery("served")
    orders = _orders(pack, now).subquery("orders")
    value = served.c.seconds if dimension == "resolution" else served.c.score
    bucket = case(*((value <= b, i) for i, b in enumerate(bounds)), else_=len(bounds))
    churn_cut = pack.insight.economics.churn_after.before(now)
    in_base = orders.c.first <= churn_cut
    bought = orders.c.last_in_window.is_not(None)
    statement = (
        select(
            bucket,
            func.count(),
            _count(in_base),
            _count(and_(in_base, orders.c.last <= churn_cut)),
            _count(bought),
            _count(and_(bought, orders.c.first < orders.c.last_in_window)),
        )
        .select_from(served)
        .outerjoin(orders, orders.c.customer_id == served.c.customer_id)
        .where(value.is_not(None))
        .group_by(bucket)
    )
    counts = {int(row[0]): [int(v or 0) for v in row[1:]] for row in session.execute(statement)}
    return [Bucket(label, *counts.get(i, [0, 0, 0, 0, 0])) for i, label in enumerate(labels)]


def _served(session: Session, f: KpiFilter) -> Any:
    """Per customer: the average resolution seconds of their closed records of the filter and
    the average score of the answers to them."""
    resolution = case(
        (
            Record.closed_at.is_not(None),
            seconds_between(session, Record.received_at, Record.closed_at),
        )
    )
    return (
        select(
            Record.customer_id.label("customer_id"),
            func.avg(resolution).label("seconds"),
            func.avg(SatisfactionAnswer.score).label("score"),
        )
        .outerjoin(SatisfactionAnswer, SatisfactionAnswer.record_id == Record.id)
        .where(*records_where(f), Record.customer_id.is_not(None))
        .group_by(Record.customer_id)
    )


def _orders(pack: PackSpec, now: datetime) -> Any:
    """Per customer: first and last order by `now`, and the last in the repurchase window."""
    at = Order.ordered_at
    window_start = pack.insight.economics.repurchase_window.before(now)
    in_window = and_(at > window_start, at <= now)
    return (
        select(
            Order.customer_id.label("customer_id"),
            func.min(at).label("first"),
            func.max(at).label("last"),
            func.max(case((in_window, at), else_=None)).label("last_in_window"),
        )
        .where(at <= now)
        .group_by(Order.customer_id)
    )


def _labels(bounds: list[str]) -> list[str]:
    """≤a, a–b, …, >z for the rising upper bounds a … z."""
    if not bounds:
        return ["*"]
    middle = [f"{a}–{b}" for a, b in zip(bounds, bounds[1:], strict=False)]
    return [f"≤{bounds[0]}", *middle, f">{bounds[-1]}"]


def _hours(seconds: float) -> str:
    days, rest = divmod(seconds, 86400)
    if days >= 2 and not rest:
        return f"{days:g}d"
    return f"{seconds / 3600:g}h"


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))
