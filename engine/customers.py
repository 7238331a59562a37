"""Customers, their orders and the one view of everything about them (R-1.7, R-5.3)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import require_aware
from engine.errors import InvalidInput, NotFound
from engine.queue import set_tier_rank
from engine.store.models import Customer, Order, Record

RECENT = 50
FIRST_TIERS = ("vip", "high_value")  # served first in the queue


def tier_rank(tier: str | None) -> int:
    return 0 if tier in FIRST_TIERS else 1


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
    for key in ("name", "contact", "tier", "dedicated_agent"):
        if key in values:
            setattr(customer, key, values[key])
    session.flush()
    if not created and tier_rank(customer.tier) != old_rank:
        set_tier_rank(session, customer.id, tier_rank(customer.tier))
    return customer, created


def add_order(
    session: Session, number: str, values: Mapping[str, Any], now: datetime
) -> tuple[Order, bool]:
    """Record a purchase once per external id; a repeat returns the stored one (False)."""
    customer = get_customer(session, number)
    ordered_at = require_aware(values["ordered_at"])
    if ordered_at > now:
        raise InvalidInput("ordered_at lies in the future", fields={"ordered_at": "in the future"})
    existing = session.scalars(
        select(Order).where(
            Order.customer_id == customer.id, Order.external_id == values["external_id"]
        )
    ).first()
    if existing is not None:
        return existing, False
    order = Order(
        customer_id=customer.id,
        external_id=values["external_id"],
        amount=values["amount"],
        currency=values.get("currency", "CNY"),
        ordered_at=ordered_at,
        items=list(values.get("items") or []),
        created_at=now,
    )
    session.add(order)
    session.flush()
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
