"""The loyalty programme (R-5.4): points in an append-only ledger, balances and levels in SQL.

Points are awarded by three `INSERT … SELECT` statements per pack (orders, satisfaction
answers, referrals), each for the sources not yet in the ledger; the unique (pack, source_ref)
key makes a rerun, or two schedulers at once, insert nothing twice. Entries are never updated
or deleted: a balance is the sum of the entries not yet expired at the moment asked, and a
level the highest whose threshold that balance reaches, so tier rules and campaign audiences
read both with one grouped subquery and no Python loop over customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from engine.specs.economics import LoyaltySpec
from engine.specs.pack import PackSpec
from engine.store.dialect import insert
from engine.store.models import (
    Customer,
    CustomerReferral,
    LoyaltyEntry,
    Order,
    Record,
    SatisfactionAnswer,
)
from engine.store.types import UTCDateTime
from engine.time.durations import Offset

RECENT = 50
COLUMNS = ["pack", "customer_id", "points", "reason", "source_ref", "at", "expires_at"]


@dataclass(frozen=True)
class Standing:
    """A customer's unexpired points and level in one pack."""

    pack: str
    points: int
    level: str | None
    title: str | None = None  # the level's title in the pack


def award(session: Session, pack: PackSpec, now: datetime) -> int:
    """Award the points the pack's programme gives and the ledger lacks; the entries added."""
    spec = pack.insight.loyalty
    if spec is None:
        return 0
    added = 0
    for source in _sources(session, pack.name, spec):
        rows = _unawarded(session, pack.name, spec, source, now)
        statement = insert(session, LoyaltyEntry.__table__).from_select(COLUMNS, rows)
        result = session.execute(
            statement.on_conflict_do_nothing().returning(LoyaltyEntry.__table__.c.id)
        )
        added += len(result.all())
    return added


@dataclass(frozen=True)
class _Source:
    """One kind of thing that earns points: its reason, ledger key, customer, points, time,
    and the conditions that make a row of it count (the joins follow from these)."""

    reason: str
    ref: ColumnElement[Any]
    customer: Any
    points: ColumnElement[Any]
    at: Any
    where: tuple[ColumnElement[bool], ...] = ()


def _sources(session: Session, pack: str, spec: LoyaltySpec) -> list[_Source]:
    """The kinds of source the programme pays for."""
    found = []
    if spec.per_spend > 0:
        points = _whole(session, Order.amount * spec.per_spend)
        found.append(
            _Source("order", _ref("order:", Order.id), Order.customer_id, points, Order.ordered_at)
        )
    if spec.per_answer > 0:
        found.append(
            _Source(
                "answer",
                _ref("answer:", SatisfactionAnswer.record_id),
                Record.customer_id,
                literal(spec.per_answer, Integer()),
                SatisfactionAnswer.answered_at,
                (
                    Record.id == SatisfactionAnswer.record_id,
                    Record.pack == pack,
                    Record.customer_id.is_not(None),
                ),
            )
        )
    if spec.per_referral > 0:
        # A referral earns its points once the referred customer first bought.
        first = (
            select(func.min(Order.ordered_at))
            .where(Order.customer_id == CustomerReferral.customer_id)
            .scalar_subquery()
        )
        found.append(
            _Source(
                "referral",
                _ref("referral:", CustomerReferral.customer_id),
                CustomerReferral.referrer_id,
                literal(spec.per_referral, Integer()),
                first,
                (first.is_not(None),),
            )
        )
    return found


def _unawarded(
    session: Session, pack: str, spec: LoyaltySpec, source: _Source, now: datetime
) -> Any:
    """The source's rows earned by now, not expired yet, and not in the ledger."""
    earliest = spec.expire_after.before(now) if spec.expire_after else None
    return select(
        literal(pack, String()),
        source.customer,
        source.points,
        literal(source.reason, String()),
        source.ref,
        source.at,
        _plus(session, source.at, spec.expire_after),
    ).where(
        *source.where,
        source.at <= now,
        *([source.at > earliest] if earliest else []),
        ~select(LoyaltyEntry.id)
        .where(LoyaltyEntry.pack == pack, LoyaltyEntry.source_ref == source.ref)
        .exists(),
    )


def _ref(prefix: str, column: Any) -> ColumnElement[Any]:
    return literal(prefix, String()) + cast(column, String())


def _whole(session: Session, amount: Any) -> ColumnElement[Any]:
    """Whole points, rounded down (PostgreSQL's CAST rounds, SQLite's truncates)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(amount), Integer())
    return cast(amount, Integer())


def _plus(session: Session, at: Any, offset: Offset | None) -> Any:
    """`at` + the expiry offset, as the database adds calendar months and seconds."""
    if offset is None:
        return null()
    if session.get_bind().dialect.name == "postgresql":
        return at + func.make_interval(0, offset.months, 0, 0, 0, 0, offset.seconds)
    text = func.strftime(
        "%Y-%m-%d %H:%M:%f", at, f"+{offset.months} months", f"+{offset.seconds} seconds"
    )
    return type_coerce(text, UTCDateTime())  # CAST would give SQLite text a numeric affinity


def balances(pack: str, now: datetime) -> Any:
    """Per customer of the pack's ledger: unexpired points (a subquery, `customer_id, points`)."""
    return (
        select(LoyaltyEntry.customer_id, func.sum(LoyaltyEntry.points).label("points"))
        .where(
            LoyaltyEntry.pack == pack,
            or_(LoyaltyEntry.expires_at.is_(None), LoyaltyEntry.expires_at > now),
        )
        .group_by(LoyaltyEntry.customer_id)
        .subquery("loyalty")
    )


def points_of(
    session: Session, pack: str, customer_ids: Sequence[int], now: datetime
) -> dict[int, int]:
    """Unexpired points of a batch of customers, in one grouped statement (campaign audiences)."""
    rows = session.execute(
        select(LoyaltyEntry.customer_id, func.sum(LoyaltyEntry.points))
        .where(
            LoyaltyEntry.pack == pack,
            LoyaltyEntry.customer_id.in_(sorted(set(customer_ids))),
            or_(LoyaltyEntry.expires_at.is_(None), LoyaltyEntry.expires_at > now),
        )
        .group_by(LoyaltyEntry.customer_id)
    )
    return {customer_id: int(points or 0) for customer_id, points in rows}


def level_of(spec: LoyaltySpec | None, points: Any) -> ColumnElement[Any]:
    """The highest level whose threshold the balance reaches, as SQL (NULL: none)."""
    if spec is None or not spec.levels:
        return null()
    whens = [(points >= threshold, literal(level)) for level, threshold in reversed(spec.levels)]
    return case(*whens, else_=null())


def level_for(spec: LoyaltySpec | None, points: int) -> str | None:
    """The same as `level_of`, for one balance already read."""
    found = None
    for level, threshold in spec.levels if spec else ():
        if points >= threshold:
            found = level
    return found


def standing(session: Session, pack: PackSpec, customer_id: int, now: datetime) -> Standing:
    """One customer's unexpired points and level in the pack (the 360° view, the API)."""
    points = session.scalar(
        select(func.coalesce(func.sum(LoyaltyEntry.points), 0)).where(
            LoyaltyEntry.pack == pack.name,
            LoyaltyEntry.customer_id == customer_id,
            or_(LoyaltyEntry.expires_at.is_(None), LoyaltyEntry.expires_at > now),
        )
    )
    total = int(points or 0)
    spec = pack.insight.loyalty
    level = level_for(spec, total)
    title = spec.titles.get(level, level) if spec and level else None
    return Standing(pack.name, total, level, title)


def standings(
    session: Session, packs: Sequence[PackSpec], customer_id: int, now: datetime
) -> list[Standing]:
    """The customer's standing in each pack that has a programme (a handful of packs)."""
    return [
        standing(session, pack, customer_id, now)
        for pack in packs
        if pack.insight.loyalty is not None
    ]


def entries(session: Session, customer_id: int) -> list[LoyaltyEntry]:
    """The customer's newest ledger entries, every pack."""
    return list(
        session.scalars(
            select(LoyaltyEntry)
            .where(LoyaltyEntry.customer_id == customer_id)
            .order_by(LoyaltyEntry.at.desc(), LoyaltyEntry.id.desc())
            .limit(RECENT)
        )
    )


def export(session: Session, customer_id: int) -> dict[str, Any]:
    """Who referred the customer and every ledger entry of theirs, for a request of theirs
    (R-8.3): what the programme keeps about them, whole."""
    referrer = session.scalar(
        select(Customer.number)
        .join(CustomerReferral, CustomerReferral.referrer_id == Customer.id)
        .where(CustomerReferral.customer_id == customer_id)
    )
    rows = session.scalars(
        select(LoyaltyEntry)
        .where(LoyaltyEntry.customer_id == customer_id)
        .order_by(LoyaltyEntry.at, LoyaltyEntry.id)
    )
    return {
        "referred_by": referrer,
        "ledger": [
            {
                "pack": e.pack,
                "points": e.points,
                "reason": e.reason,
                "source": e.source_ref,
                "at": e.at.isoformat(),
                "expires_at": e.expires_at.isoformat() if e.expires_at else None,
            }
            for e in rows
        ],
    }


def refer(session: Session, customer_id: int, referrer_id: int, now: datetime) -> None:
    """Note who referred the customer; the first referral given stands."""
    session.execute(
        insert(session, CustomerReferral.__table__)
        .values(customer_id=customer_id, referrer_id=referrer_id, created_at=now)
        .on_conflict_do_nothing()
    )
