"""Which channel a customer is answered on (issue #20): the one they came by, where Careloop
can answer on it, else email when their contact is an address."""

from __future__ import annotations

from engine.specs.pack import PackSpec
from engine.store.models import Customer, Record


def answer_channel(pack: PackSpec, record: Record, customer: Customer | None) -> str:
    if record.channel == "email" or customer is None:
        return record.channel or "email"
    contact = (customer.contact or "").strip()
    return "email" if "@" in contact else (record.channel or "email")
