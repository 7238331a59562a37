"""An order's status for whoever knows its number and the phone on file (issue #23, S0 7×24).

The phone is compared through the customer's keyed lookup hash (engine/access/crypto.py), the
way every contact is found, so the clear number is never in a query, a log or an index. An
unknown order and a wrong phone give the same None: the chat box says "cannot find" for both,
so nobody learns that an order number exists by trying phones against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.crypto import lookup_hash
from engine.specs.instant import InstantAnswersSpec
from engine.store.models import Customer, Order

# Mainland mobile numbers, the phone customers leave with an order; spaces and dashes allowed.
PHONE: Final = re.compile(r"(?<!\d)1[3-9]\d(?:[ -]?\d){8}(?!\d)")
MAX_ORDER: Final = 128  # orders.external_id


@dataclass(frozen=True)
class OrderQuery:
    """What a question names: an order number and a phone, either possibly missing."""

    order: str | None
    phone: str | None

    @property
    def complete(self) -> bool:
        return self.order is not None and self.phone is not None


@dataclass(frozen=True)
class OrderStatus:
    """What the customer is told: shipped (with when), placed and not shipped, or the words
    of the pack's order system (`reported`)."""

    order: str
    state: str  # shipped, placed, reported
    ordered_at: datetime | None = None
    shipped_at: datetime | None = None
    text: str | None = None


def order_query(spec: InstantAnswersSpec, question: str) -> OrderQuery:
    """The phone first (a mobile number is digits an order pattern would also match), then
    the order number in what is left."""
    found = PHONE.search(question)
    phone = re.sub(r"[ -]", "", found.group()) if found else None
    rest = question if found is None else question[: found.start()] + " " + question[found.end() :]
    number = spec.order_number.search(rest)
    order = number.group().strip()[:MAX_ORDER] if number and number.group().strip() else None
    return OrderQuery(order, phone)


def find_order(session: Session, order: str, phone: str) -> OrderStatus | None:
    """The order of that number whose customer's contact is that phone; None otherwise."""
    hashed = lookup_hash(phone)
    if hashed is None:
        return None
    found = session.scalars(
        select(Order)
        .join(Customer, Customer.id == Order.customer_id)
        .where(Order.external_id.in_({order, order.upper()}), Customer.contact_hash == hashed)
        .order_by(Order.ordered_at.desc())
        .limit(1)
    ).first()
    if found is None:
        return None
    state = "shipped" if found.shipped_at is not None else "placed"
    return OrderStatus(found.external_id, state, found.ordered_at, found.shipped_at)
