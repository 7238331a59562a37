"""Customer tiers computed in SQL from purchases, records and complaints (R-5.1, R-5.2).

One statement computes every customer's metrics (12-month spend and its
percentile by window function, growth, renewal, tenure, last contact, last
complaint) into a temporary table; the pack's tier rules become one CASE over
it. The changes then go into the customer's history with the rule that
matched, into `customer_tiers`, and into the queue order of their open
records, each as one set-based statement: no Python loop over customers.

A tier set by hand on the customer (`customers.tier`, from the desk, the API or an
import) wins over the computed one, and is entered as a computed tier is
(`handtiers.enter`): a `tier` event per pack that has the tier, ruled `BY_HAND`, so that
tier's entry task and welcome run once (R-5.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session

from engine.customers import loyalty
from engine.specs.care import TierRule
from engine.specs.pack import PackSpec
from engine.store.dialect import insert
from engine.store.models import Customer, CustomerEvent, CustomerTier, Order, Record
from engine.store.types import UTCDateTime
from engine.time.clock import require_aware

YEAR = timedelta(days=365)
FIRST_TIERS = ("vip", "high_value")  # served first where a pack declares no tiers
BY_HAND = "set by hand"  # the rule of a tier event a person caused, not the pack's rules

_results = Table(
    "tier_results",
    MetaData(),
    Column("customer_id", Integer, primary_key=True),
    Column("tier", String(32)),
    Column("rule", String(300)),
    Column("spend_percentile", Float),
    prefixes=["TEMPORARY"],
)


@dataclass(frozen=True)
class TierRun:
    customers: int
    changed: int


def tier_rank(pack: PackSpec, tier: str | None) -> int:
    """0 for customers served first within their priority, 1 for the others (R-2.6)."""
    if tier is None:
        return 1
    spec = pack.tiers.get(tier)
    if spec is not None:
        return 0 if spec.serve_first else 1
    return 0 if tier in FIRST_TIERS else 1


def computed_tier(session: Session, pack: str, customer_id: int) -> str | None:
    return session.scalar(
        select(CustomerTier.tier).where(
            CustomerTier.pack == pack, CustomerTier.customer_id == customer_id
        )
    )


def hand_tier(session: Session, number: str) -> str | None:
    """The tier set by hand on a customer (None for one not stored yet)."""
    return session.scalar(select(Customer.tier).where(Customer.number == number))


def recompute(
    session: Session, pack: PackSpec, now: datetime, customer_ids: Sequence[int] | None = None
) -> TierRun:
    """Recompute the pack's tiers for every customer, or for a few after an event changed them.

    For a few customers, the spend percentile is the one the last full run
    stored: ranking them needs everyone, which the scheduled full run does.
    """
    now = require_aware(now)
    if not any(t.rules for t in pack.tiers.values()):
        return TierRun(0, 0)
    bind = session.connection()
    _results.create(bind, checkfirst=True)
    try:
        session.execute(_results.delete())
        metrics = _metrics(pack, now, customer_ids)
        tier, rule = _classify(pack, metrics, now)
        session.execute(
            _results.insert().from_select(
                ["customer_id", "tier", "rule", "spend_percentile"],
                select(metrics.c.id, tier, rule, metrics.c.spend_percentile),
            )
        )
        counted = session.scalar(select(func.count()).select_from(_results)) or 0
        changed = _record_changes(session, pack, now)
        _store(session, pack, now)
        _reorder_queue(session, pack)
    finally:
        _results.drop(bind, checkfirst=True)
    return TierRun(counted, changed)


def _metrics(pack: PackSpec, now: datetime, customer_ids: Sequence[int] | None) -> Any:
    """Per customer: spend, orders, periods with a purchase, first/last order, contacts."""
    y1, y2, y3 = now - YEAR, now - 2 * YEAR, now - 3 * YEAR
    at = Order.ordered_at

    def bought(after: datetime, until: datetime) -> Any:
        return func.max(case((and_(at > after, at <= until), 1), else_=0))

    orders = select(
        Order.customer_id,
        func.sum(case((at > y1, Order.amount), else_=0.0)).label("spend_12m"),
        func.sum(case((and_(at > y2, at <= y1), Order.amount), else_=0.0)).label("spend_prev"),
        func.sum(case((at > y1, 1), else_=0)).label("orders_12m"),
        func.min(at).label("first_order"),
        func.max(at).label("last_order"),
        (bought(y1, now) + bought(y2, y1) + bought(y3, y2)).label("years_bought"),
    ).group_by(Order.customer_id)
    complaint = and_(Record.pack == pack.name, Record.category.in_(pack.complaint_categories))
    records = select(
        Record.customer_id,
        func.max(Record.received_at).label("last_record"),
        func.max(case((complaint, Record.received_at), else_=None)).label("last_complaint"),
    ).group_by(Record.customer_id)
    if customer_ids is not None:
        orders = orders.where(Order.customer_id.in_(customer_ids))
        records = records.where(Record.customer_id.in_(customer_ids))
    o, r = orders.subquery("o"), records.subquery("r")
    points = loyalty.balances(pack.name, now)
    spend = func.coalesce(o.c.spend_12m, 0.0)
    if customer_ids is None:
        percentile: Any = func.percent_rank().over(order_by=spend)
    else:
        percentile = func.coalesce(
            select(CustomerTier.spend_percentile)
            .where(CustomerTier.pack == pack.name, CustomerTier.customer_id == Customer.id)
            .scalar_subquery(),
            0.0,
        )
    base = (
        select(
            Customer.id,
            Customer.since,
            Customer.created_at,
            spend.label("spend_12m"),
            func.coalesce(o.c.spend_prev, 0.0).label("spend_prev"),
            func.coalesce(o.c.orders_12m, 0).label("orders_12m"),
            func.coalesce(o.c.years_bought, 0).label("years_bought"),
            o.c.first_order,
            o.c.last_order,
            r.c.last_record,
            r.c.last_complaint,
            percentile.label("spend_percentile"),
            func.coalesce(points.c.points, 0).label("loyalty_points"),
        )
        .select_from(Customer)
        .outerjoin(o, o.c.customer_id == Customer.id)
        .outerjoin(r, r.c.customer_id == Customer.id)
        .outerjoin(points, points.c.customer_id == Customer.id)
    )
    if customer_ids is not None:
        base = base.where(Customer.id.in_(customer_ids))
    return base.subquery("m")


def _classify(pack: PackSpec, m: Any, now: datetime) -> tuple[Any, Any]:
    """CASE expressions for the first tier whose rule holds, and that rule's text."""
    whens = [
        (_condition(rule, m, now), tier.id, f"{tier.id}: {rule.text}")
        for tier in pack.tiers.values()
        for rule in tier.rules
    ]
    tier = case(*[(cond, literal(tid)) for cond, tid, _ in whens], else_=None)
    rule = case(*[(cond, literal(text[:300])) for cond, _, text in whens], else_=None)
    return tier, rule


def _started_by(m: Any, bound: datetime) -> ColumnElement[bool]:
    """Customer since `bound` or before: their `since` date, else first order, else creation."""
    return or_(
        and_(m.c.since.is_not(None), m.c.since <= bound.date()),
        and_(m.c.since.is_(None), func.coalesce(m.c.first_order, m.c.created_at) <= bound),
    )


def _condition(rule: TierRule, m: Any, now: datetime) -> ColumnElement[bool]:
    y1, y2 = now - YEAR, now - 2 * YEAR
    parts: list[ColumnElement[bool]] = []
    periods = case((_started_by(m, y2), 3), (_started_by(m, y1), 2), else_=1)
    values = {
        "spend_percentile": m.c.spend_percentile,
        "spend_12m": m.c.spend_12m,
        "orders_12m": m.c.orders_12m,
        "renewal_rate": m.c.years_bought * 1.0 / periods,
        "loyalty_points": m.c.loyalty_points,  # unexpired; a loyalty level is its threshold
    }
    for metric, bounds in rule.ranges.items():
        if metric == "spend_growth":
            prev = m.c.spend_prev
            parts.append(prev > 0)
            if bounds.min is not None:
                parts.append(m.c.spend_12m >= prev * (1 + bounds.min))
            if bounds.max is not None:
                parts.append(m.c.spend_12m < prev * (1 + bounds.max))
            continue
        value = values[metric]
        if bounds.min is not None:
            parts.append(value >= bounds.min)
        if bounds.max is not None:
            parts.append(value < bounds.max)
    for metric, offset in rule.offsets.items():
        bound = offset.before(now)
        if metric == "tenure_at_least":
            parts.append(_started_by(m, bound))
        elif metric == "first_purchase_within":
            parts.append(m.c.first_order >= bound)
        elif metric == "complained_within":
            parts.append(m.c.last_complaint >= bound)
        else:  # inactive_for: nothing bought, no contact, and not new either
            parts += [
                or_(m.c.last_order.is_(None), m.c.last_order < bound),
                or_(m.c.last_record.is_(None), m.c.last_record < bound),
                _started_by(m, bound),
            ]
    return and_(true(), *parts) if parts else false()


def _record_changes(session: Session, pack: PackSpec, now: datetime) -> int:
    """One history row per customer whose tier changed, with the rule that matched."""
    res, ct = _results, CustomerTier
    old = (
        select(ct.tier)
        .where(ct.pack == pack.name, ct.customer_id == res.c.customer_id)
        .scalar_subquery()
    )
    changed = select(
        res.c.customer_id,
        literal(now, UTCDateTime()),
        literal("tier"),
        literal(pack.name),
        old,
        res.c.tier,
        res.c.rule,
    ).where(old.is_distinct_from(res.c.tier))
    written = session.execute(
        insert(session, CustomerEvent.__table__)
        .from_select(
            ["customer_id", "at", "kind", "pack", "old_value", "new_value", "rule"], changed
        )
        .returning(CustomerEvent.id)
    )
    return len(written.all())


def _store(session: Session, pack: PackSpec, now: datetime) -> None:
    """Upsert the results into customer_tiers; `changed_at` moves only when the tier does.

    Only rows that differ from what is stored are written: an hourly run over customers
    whose figures did not move rewrites nothing.
    """
    res = _results
    stored = CustomerTier.__table__.alias("stored")
    statement = insert(session, CustomerTier.__table__)
    source = (
        select(
            literal(pack.name),
            res.c.customer_id,
            res.c.tier,
            res.c.rule,
            res.c.spend_percentile,
            literal(now, UTCDateTime()),
        )
        .select_from(
            res.outerjoin(
                stored,
                and_(stored.c.pack == pack.name, stored.c.customer_id == res.c.customer_id),
            )
        )
        .where(  # (a WHERE also lets SQLite read ON CONFLICT after INSERT … SELECT … JOIN)
            or_(
                stored.c.customer_id.is_(None),
                stored.c.tier.is_distinct_from(res.c.tier),
                stored.c.rule.is_distinct_from(res.c.rule),
                stored.c.spend_percentile != res.c.spend_percentile,
            )
        )
    )
    excluded = statement.excluded
    session.execute(
        statement.from_select(
            ["pack", "customer_id", "tier", "rule", "spend_percentile", "changed_at"], source
        ).on_conflict_do_update(
            index_elements=["pack", "customer_id"],
            set_={
                "tier": excluded.tier,
                "rule": excluded.rule,
                "spend_percentile": excluded.spend_percentile,
                "changed_at": case(
                    (CustomerTier.tier.is_distinct_from(excluded.tier), excluded.changed_at),
                    else_=CustomerTier.changed_at,
                ),
            },
        )
    )


def _reorder_queue(session: Session, pack: PackSpec) -> None:
    """Open records of the pack take their customer's (new) place in the queue."""
    first = [t.id for t in pack.tiers.values() if t.serve_first]
    if not pack.tiers:
        first = list(FIRST_TIERS)
    tier = func.coalesce(
        select(Customer.tier).where(Customer.id == _results.c.customer_id).scalar_subquery(),
        _results.c.tier,
    )
    rank = case((tier.in_(first), 0), else_=1) if first else literal(1)
    wanted = (
        select(rank)
        .where(_results.c.customer_id == Record.customer_id)
        .correlate(Record)
        .scalar_subquery()
    )
    session.execute(
        update(Record)
        .where(
            Record.pack == pack.name,
            Record.is_open.is_(True),
            Record.customer_id.in_(select(_results.c.customer_id)),
            Record.tier_rank != wanted,
        )
        .values(tier_rank=wanted, row_version=Record.row_version + 1)
        .execution_options(synchronize_session=False)
    )
