"""Ask the pack's order system for an order's status (issue #23): one POST, a short timeout.

The URL is pack data, so it goes through the outbound policy like every webhook: resolved,
every address checked, the connection pinned to the address checked (no DNS rebinding), no
redirects followed. Whatever goes wrong (refused, unreachable, slow, not JSON) is "not found"
for the customer, who is then offered a person; the log names the host and the failure, never
the phone or the order number.
"""

from __future__ import annotations

import http.client
import json
import logging
from typing import Any, Final
from urllib.parse import urlsplit

from engine.delivery import pinned
from engine.delivery.outbound import OutboundPolicy
from engine.selfservice.orders import OrderStatus
from engine.specs.instant import MAX_TIMEOUT, OrderLookupSpec

log = logging.getLogger(__name__)
MAX_ANSWER: Final = 64 * 1024  # an order status is a few lines; more is not read
MAX_STATUS: Final = 300


def ask(
    lookup: OrderLookupSpec, order: str, phone: str, *, policy: OutboundPolicy
) -> OrderStatus | None:
    """The status the order system reports, or None (not found, or it could not be asked)."""
    host = urlsplit(lookup.url).hostname or "?"
    try:
        answer = _post(lookup, {"order": order, "phone": phone}, policy)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        log.warning("order lookup at %s failed: %s", host, type(exc).__name__)
        return None
    if not isinstance(answer, dict) or answer.get("found") is not True:
        return None
    status = answer.get("status")
    if not isinstance(status, str) or not status.strip():
        log.warning("order lookup at %s answered found without a status", host)
        return None
    return OrderStatus(order, "reported", text=status.strip()[:MAX_STATUS])


def _post(lookup: OrderLookupSpec, body: dict[str, str], policy: OutboundPolicy) -> Any:
    # OutboundRefused is an InvalidInput: a ValueError
    status, data = pinned.exchange(
        lookup.url,
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "Accept": "application/json"},
        policy,
        min(lookup.timeout, MAX_TIMEOUT),
        read_at_most=MAX_ANSWER + 1,
    )
    if status == 404:
        return {"found": False}
    if status != 200 or len(data) > MAX_ANSWER:
        raise ValueError(f"answered {status}")
    return json.loads(data)
