"""Customers, their orders and the one view of everything about them (R-1.7, R-5.3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import bounds
from engine.customers import orderstats
from engine.customers.tiers import FIRST_TIERS
from engine.errors import InvalidInput, NotFound
from engine.records.queue import set_tier_rank
from engine.store.models import (
    CampaignOccasion,
    Customer,
    CustomerEvent,
    CustomerTier,
    Order,
    Record,
)
from engine.time.clock import require_aware

RECENT = 50
PROFILE = (
    *("name", "contact", "tier", "dedicated_agent", "birthday", "timezone", "since"),
    "preferred_channel",
)
CONSENTS = ("consent_service", "consent_marketing")


def tier_rank(tier: str | None) -> int:
    """A tier set by hand serves first when it is one of the usual first tiers (R-2.6)."""
    return 0 if tier in FIRST_TIERS else 1


def birth_md(birthday: date | None) -> int | None:
    """month * 100 + day: what 'born today' looks up through an index."""
    return None if birthday is None else birthday.month * 100 + birthday.day


def get_customer(session: Session, number: str) -> Customer:
    customer = session.scalars(select(Customer).where(Customer.number == number)).first()
    if customer is None:
        raise NotFound(f"no customer with number '{number}'")
    return customer


def upsert_customer(
    session: Session, number: str, values: Mapping[str, Any], now: datetime
) -> tuple[Customer, bool]:
    """Create the customer or update the given attributes; True when it was created."""
    customer = session.scalars(select(Customer).where(Customer.number == number)).first()
    created = customer is None
    if customer is None:
        customer = Customer(number=number, created_at=now)
        session.add(customer)
    old_rank = tier_rank(customer.tier)
    if values.get("timezone"):
        _check_timezone(values["timezone"])
    for key in PROFILE:
        if key in values:
            setattr(customer, key, values[key])
    customer.birth_md = birth_md(customer.birthday)
    session.flush()
    _set_consent(session, customer, values, now)
    if not created and tier_rank(customer.tier) != old_rank:
        set_tier_rank(session, customer.id, tier_rank(customer.tier))
    return customer, created


def _check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone '{name}'", fields={"timezone": "an IANA name, e.g. Asia/Shanghai"}
        ) from None


def _set_consent(
    session: Session, customer: Customer, values: Mapping[str, Any], now: datetime
) -> None:
    """Consent per purpose with when and where it changed, kept in the customer's history."""
    source = values.get("consent_source") or "api"
    for key in CONSENTS:
        if key not in values or values[key] is None or values[key] == getattr(customer, key):
            continue
        setattr(customer, key, bool(values[key]))
        customer.consent_at, customer.consent_source = now, str(source)[:64]
        session.add(
            CustomerEvent(
                customer_id=customer.id,
                at=now,
                kind="consent",
                old_value=key.removeprefix("consent_"),
                new_value="granted" if values[key] else "withdrawn",
                rule=f"source: {source}"[:300],
            )
        )


def add_order(
    session: Session, number: str, values: Mapping[str, Any], now: datetime
) -> tuple[Order, bool]:
    """Record a purchase once per external id; a repeat returns the stored one (False)."""
    customer = get_customer(session, number)
    ordered_at = bounds.check_moment(require_aware(values["ordered_at"]), now, "ordered_at")
    if ordered_at > now:
        raise InvalidInput("ordered_at lies in the future", fields={"ordered_at": "in the future"})
    existing = session.scalars(
        select(Order).where(
            Order.customer_id == customer.id, Order.external_id == values["external_id"]
        )
    ).first()
    shipped_at = values.get("shipped_at")
    if shipped_at is not None:
        shipped_at = bounds.check_moment(require_aware(shipped_at), now, "shipped_at")
        if shipped_at > now:
            raise InvalidInput(
                "shipped_at lies in the future", fields={"shipped_at": "in the future"}
            )
    if existing is not None:  # a repeat may bring the shipping time, nothing else changes
        if shipped_at is not None and existing.shipped_at != shipped_at:
            existing.shipped_at = shipped_at
        return existing, False
    order = Order(
        customer_id=customer.id,
        external_id=values["external_id"],
        amount=values["amount"],
        currency=values.get("currency", "CNY"),
        ordered_at=ordered_at,
        shipped_at=shipped_at,
        items=list(values.get("items") or []),
        created_at=now,
    )
    session.add(order)
    session.flush()
    orderstats.refresh(session, [customer.id])
    return order, True


def customer_view(session: Session, number: str) -> tuple[Customer, list[Record], list[Order]]:
    """One customer, one view: the customer, recent records and orders (R-1.7)."""
    customer = get_customer(session, number)
    records = list(
        session.scalars(
            select(Record)
            .where(Record.customer_id == customer.id)
            .order_by(Record.id.desc())
            .limit(RECENT)
        )
    )
    orders = list(
        session.scalars(
            select(Order)
            .where(Order.customer_id == customer.id)
            .order_by(Order.ordered_at.desc())
            .limit(RECENT)
        )
    )
    return customer, records, orders


@dataclass(frozen=True)
class Care:
    """What care knows of a customer: their tier in each pack, history, campaign occasions."""

    tiers: list[CustomerTier]
    history: list[CustomerEvent]
    occasions: list[CampaignOccasion]


def customer_care(session: Session, customer: Customer) -> Care:
    def newest(query: Any) -> list[Any]:
        return list(session.scalars(query.limit(RECENT)))

    return Care(
        tiers=newest(
            select(CustomerTier)
            .where(CustomerTier.customer_id == customer.id, CustomerTier.tier.is_not(None))
            .order_by(CustomerTier.pack)
        ),
        history=newest(
            select(CustomerEvent)
            .where(CustomerEvent.customer_id == customer.id)
            .order_by(CustomerEvent.at.desc(), CustomerEvent.id.desc())
        ),
        occasions=newest(
            select(CampaignOccasion)
            .where(CampaignOccasion.customer_id == customer.id)
            .order_by(CampaignOccasion.due_at.desc(), CampaignOccasion.id.desc())
        ),
    )
