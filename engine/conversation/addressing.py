"""Where and when an answer to the customer goes (issue #20): the channel, the address, the hour.

The channel is the customer's own preferred one, else what the pack's `answering.by_channel`
maps the record's channel to (a caller is answered by SMS), else the record's channel. A reply
on a gateway channel (SMS, WeChat, a chat widget: `answering.gateways`) is queued in the
outbox for the team's gateway like an email for the SMTP server; a message due in the
channel's quiet hours waits till they end, so nobody's phone buzzes at night.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from engine.errors import InvalidInput
from engine.specs.pack import PackSpec
from engine.store.models import Customer, OutboxMessage, Record

# A phone number as customers and shops write it: +86 138-0013-8000, 13800138000.
PHONE = re.compile(r"^\+?\d[\d\s()-]{5,22}\d$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
REFERENCE_FORMAT = "CL-{record_id}"


def answer_channel(pack: PackSpec, record: Record, customer: Customer | None) -> str:
    """The channel to answer this record's customer on; "email" when nothing says otherwise."""
    if customer is not None and customer.preferred_channel:
        return customer.preferred_channel
    channel = record.channel or "email"
    chosen = pack.answering.by_channel.get(channel, channel)
    contact = (customer.contact or "").strip() if customer is not None else ""
    if is_gateway(pack, chosen) and not usable(chosen, contact) and EMAIL.match(contact):
        return "email"  # a caller who left an address, not a number: answered where they read
    return chosen


def is_gateway(pack: PackSpec, channel: str) -> bool:
    """Whether a reply on `channel` goes out through the team's gateway (else, for any channel
    but email, it is a contact the agent made outside Careloop)."""
    return channel in pack.answering.gateways


def send_after(pack: PackSpec, channel: str, now: datetime) -> datetime:
    """`now`, or the end of the channel's quiet hours (in the pack's timezone) when `now` is
    inside them: a message due at 22:00 with quiet hours 21:00-08:00 leaves at 08:00."""
    window = pack.answering.quiet_hours.get(channel)
    if window is None:
        return now
    local = now.astimezone(pack.timezone)
    if not window.holds(local.time()):
        return now
    end = datetime.combine(local.date(), window.end, tzinfo=pack.timezone)
    if end <= local:  # a window spanning midnight, entered this evening: it ends tomorrow
        end = datetime.combine(local.date() + timedelta(days=1), window.end, tzinfo=pack.timezone)
    return end.astimezone(now.tzinfo)


def gateway_message(
    pack: PackSpec, record: Record, body: str, channel: str, now: datetime
) -> OutboxMessage:
    """The outbox row of a reply on a gateway channel (`gateway_row`), as an object."""
    return OutboxMessage(**gateway_row(pack, record, body, channel, now))


def gateway_row(
    pack: PackSpec, record: Record, body: str, channel: str, now: datetime
) -> dict[str, Any]:
    """The outbox row of a reply on a gateway channel, to the customer's contact (their phone
    for SMS, the gateway's user id for WeChat or a chat), held past quiet hours.

    Refused, like an email, without an address the channel can use or without the customer's
    consent to service messages.
    """
    customer: Customer | None = record.customer
    address = (customer.contact or "").strip() if customer is not None else ""
    if customer is None or not usable(channel, address):
        what = "phone number" if channel == "sms" else f"{channel} user id"
        raise InvalidInput(
            f"record {record.id} has no customer {what} to answer on {channel}",
            fields={"channel": f"the customer has no {what}"},
        )
    if not customer.consent_service:
        raise InvalidInput(
            f"customer {customer.number} has not agreed to service messages",
            fields={"channel": "no consent to service messages"},
        )
    reference = REFERENCE_FORMAT.format(record_id=record.id)
    payload = {"record": record.id, "reference": reference, "pack": record.pack}
    leaves = send_after(pack, channel, now)
    return outbox_row(record.id, channel, address, reference, body, payload, now, leaves)


def outbox_row(
    record_id: int,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    payload: dict[str, Any],
    now: datetime,
    next_attempt_at: datetime,
) -> dict[str, Any]:
    """A pending message to the customer with every outbox column named, as the ORM's
    defaults would fill them: the rows of a batch go in one statement, which needs one shape."""
    return {
        "notification_id": None,
        "event_id": None,
        "occasion_id": None,
        "record_id": record_id,
        "channel": channel,
        "recipient": recipient,
        "subject": subject,
        "body": body,
        "payload": payload,
        "created_at": now,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": next_attempt_at,
        "lease_until": None,
        "sent_at": None,
        "last_error": None,
    }


def usable(channel: str, address: str) -> bool:
    """An SMS needs a phone number; another gateway takes the contact as its user id (a
    WeChat openid), but never an email address, which no such gateway could reach."""
    if channel == "sms":
        return PHONE.match(address) is not None
    return bool(address) and EMAIL.match(address) is None
