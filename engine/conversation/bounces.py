"""What a bounce of our mail means beyond its outbox row (issue #20, part 5).

A reply the customer's server refused at once (`outbox.PermanentFailure`) or bounced later
(a delivery report, `mailintake`) puts a line on the record's history and marks the
customer's address as failing, so the desk warns before the next email reply (R-3.2's
contacts must reach the customer). Only the address the mail went to is marked: a customer
whose contact changed since is not. The mark goes when the contact changes (the `Customer`
model) or when mail from that address arrives: whoever writes from it is reachable there.

The server's words are kept with any address in them masked (R-8.3): the history and the
customer's row are not encrypted, and the words are what the agent needs.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.access.crypto import lookup_hash
from engine.access.masking import mask_contact
from engine.events import ReplyDelivery
from engine.records.journal import add_event
from engine.store.models import Customer, OutboxMessage, Record, ThreadMessage

ADDRESS = re.compile(r"[^@\s<>\"',;:()\[\]]+@[^@\s<>\"',;:()\[\]]+")
# The line of a report or an answer that says why: an SMTP reply code such as 550 5.1.1.
WHY = re.compile(r"[^\n]*\b5\d\d\b[^\n]*")
MAX_REASON = 200


def masked_addresses(text: str) -> str:
    """`text` with every email address in it masked (a server's words often quote it)."""
    return ADDRESS.sub(lambda found: mask_contact(found.group()), text)


def bounced(session: Session, message: OutboxMessage, now: datetime) -> None:
    """Outbox row `message` is bounced (its status and `last_error` set): say so on its
    record's history if it is a reply on the thread, and mark the address as failing.

    `outbox.deliver_due`'s `on_bounce` hook, and what a delivery report does in mail intake.
    """
    record = session.get(Record, message.record_id) if message.record_id is not None else None
    if record is None or not _is_reply(message):
        return  # a notification to staff, a webhook: no customer's address
    reason = _reason(message.last_error or "bounced")
    # None for a row an agent's resend replaced since (a dead letter whose first try arrived).
    thread_message = session.scalar(
        select(ThreadMessage.id).where(ThreadMessage.outbox_id == message.id)
    )
    add_event(session, record, now, ReplyDelivery("bounced", thread_message, message.id, reason))
    customer: Customer | None = record.customer
    if customer is not None and customer.contact_hash == lookup_hash(message.recipient):
        customer.contact_failing_at, customer.contact_failing_reason = now, reason


def reachable(session: Session, address: str) -> None:
    """Mail from `address` arrived: a customer with it as contact is reachable again."""
    hashed = lookup_hash(address)
    if hashed is None:
        return
    session.execute(
        update(Customer)
        .where(Customer.contact_hash == hashed, Customer.contact_failing_at.is_not(None))
        .values(contact_failing_at=None, contact_failing_reason=None)
    )


def _reason(text: str) -> str:
    """The server's words, short: the line with its reply code if there is one."""
    found = WHY.search(text)
    words = " ".join((found.group() if found else text).split())
    return masked_addresses(words)[:MAX_REASON]


def _is_reply(message: OutboxMessage) -> bool:
    """A message of the record's thread, not one a notification, an event or a campaign made."""
    causes = (message.notification_id, message.event_id, message.occasion_id)
    return all(cause is None for cause in causes)
