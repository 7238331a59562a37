"""How a pack's chat box answers on its own (issue #23, S0 7×24 order queries and common
questions): where a hand-over lands, what an order number looks like, which system knows orders.

Pack data, not settings: the shape of a shop's order numbers and the system that knows their
status are the shop's. A webhook URL is still checked against the outbound policy when it is
called (engine/delivery/outbound.py), so a pack cannot point the chat at the metadata address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Order numbers as most shops print them: letters optional, then at least six digits.
DEFAULT_ORDER_NUMBER = r"[A-Za-z]{0,4}-?\d{6,20}"
DEFAULT_TIMEOUT = 3.0
MAX_TIMEOUT = 10.0


@dataclass(frozen=True)
class OrderLookupSpec:
    """An HTTP endpoint the pack names that tells an order's status (POSTed JSON, JSON back)."""

    url: str
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class InstantAnswersSpec:
    """`instant_answers:` of a pack.

    `handover` is the channel whose `intake:` entry opens the record a hand-over creates;
    `order_number` finds an order number in a question; `order_lookup` (optional) is asked
    when Careloop holds no matching order itself.
    """

    handover: str
    order_number: re.Pattern[str] = re.compile(DEFAULT_ORDER_NUMBER)
    order_lookup: OrderLookupSpec | None = None
