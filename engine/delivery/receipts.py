"""Delivery receipts from the team's gateways (issue #20): the SMS reached the phone, or not.

An outbox row is `sent` once the gateway has taken it; only the gateway knows whether it
reached the customer, and says so later by the message's stable id (`careloop-outbox-N`).
`delivered` is kept as the message's state; `failed` makes it a dead letter with the
gateway's reason, shown on the thread like a bounce, and never retried by us.
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from engine import bounds
from engine.errors import NotFound
from engine.store.models import OutboxMessage

OUR_KEY = re.compile(r"^careloop-outbox-(\d{1,18})$")
RECEIPT_STATES = {"delivered": "delivered", "failed": "dead"}


def take_receipt(
    session: Session, channel: str, key: str, status: str, reason: str | None
) -> OutboxMessage:
    """Mark the message `key` names delivered or failed; NotFound for a message we did not
    send on `channel` (a gateway reports only on its own messages)."""
    found = OUR_KEY.match(key)
    number = bounds.parse_id(found.group(1)) if found else None
    message = session.get(OutboxMessage, number) if number else None
    if message is None or message.channel != channel:
        raise NotFound(f"no message '{key}' was sent on {channel}")
    message.status = RECEIPT_STATES[status]
    if status == "failed":
        message.last_error = (reason or f"the {channel} gateway could not deliver it")[:500]
    return message
