"""A customer's data on request: all of it exported, or the person erased (R-8.3).

Erasure keeps what the service needs to count and to answer for itself: records stay with
their stages, times, SLA clocks, categories and satisfaction scores, history events stay,
the audit log stays (it never held values). What identifies the person (the name, contact,
birthday, their customer number, every personal field of their records, also in the
history) is replaced by a tombstone. Their files, the records' own and the threads', are
deleted, rows and stored bytes (`engine.files`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, delete, literal, or_, select, update
from sqlalchemy.orm import Session

from engine.access.crypto import lookup_hash
from engine.access.users import audit
from engine.customers import loyalty
from engine.errors import NotFound
from engine.files import records as files
from engine.records.personal import all_fields
from engine.store.models import (
    CampaignOccasion,
    Customer,
    Order,
    OutboxMessage,
    Record,
    RecordEvent,
    ThreadAttachment,
    ThreadMessage,
)

TOMBSTONE = "[已删除]"
# The personal fields of a record, by its type in its pack version.
PersonalFields = Callable[[Record], frozenset[str]]


def find_customer(session: Session, number_or_contact: str) -> Customer:
    """By customer number, else by contact (through its keyed hash: no decryption needed)."""
    customer = session.scalars(select(Customer).where(Customer.number == number_or_contact)).first()
    if customer is None:
        customer = session.scalars(
            select(Customer).where(Customer.contact_hash == lookup_hash(number_or_contact))
        ).first()
    if customer is None:
        raise NotFound(f"no customer with number or contact '{number_or_contact}'")
    return customer


def _records(session: Session, customer: Customer) -> list[Record]:
    return list(
        session.scalars(
            select(Record)
            .where(
                or_(
                    Record.customer_id == customer.id,
                    Record.fields["customer_no"].as_string() == customer.number,
                )
            )
            .order_by(Record.id)
        )
    )


def export(session: Session, customer: Customer) -> dict[str, Any]:
    """Everything stored about the customer, readable (JSON-ready)."""
    orders = session.scalars(select(Order).where(Order.customer_id == customer.id)).all()
    records = _records(session, customer)
    messages = _messages(session, [r.id for r in records])
    attached = files.names(session, [r.id for r in records])
    return {
        "number": customer.number,
        "name": customer.name,
        "contact": customer.contact,
        "contact_failing": {  # mail to the contact bounced (issue #20)
            "at": customer.contact_failing_at.isoformat(),
            "reason": customer.contact_failing_reason,
        }
        if customer.contact_failing_at
        else None,
        "tier": customer.tier,
        "birthday": customer.birthday.isoformat() if customer.birthday else None,
        "timezone": customer.timezone,
        "preferred_channel": customer.preferred_channel,
        "since": customer.since.isoformat() if customer.since else None,
        "consent": {
            "service": customer.consent_service,
            "marketing": customer.consent_marketing,
            "at": customer.consent_at.isoformat() if customer.consent_at else None,
            "source": customer.consent_source,
        },
        "created_at": customer.created_at.isoformat(),
        "orders": [
            {
                "external_id": o.external_id,
                "amount": o.amount,
                "currency": o.currency,
                "ordered_at": o.ordered_at.isoformat(),
                "items": o.items,
            }
            for o in orders
        ],
        "records": [
            {
                "id": r.id,
                "pack": r.pack,
                "type": r.record_type,
                "stage": r.stage,
                "received_at": r.received_at.isoformat(),
                "closed_at": r.closed_at.isoformat() if r.closed_at else None,
                "fields": all_fields(r),
                "messages": messages.get(r.id, []),
                "attachments": attached.get(r.id, []),  # the record's own files, by name
            }
            for r in records
        ],
        "loyalty": loyalty.export(session, customer.id),
    }


def _messages(session: Session, record_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each record's thread as the customer may ask for it (issue #20), files by name."""
    found: dict[int, list[dict[str, Any]]] = {}
    if not record_ids:
        return found
    names: dict[int, list[str]] = {}
    for message_id, filename in session.execute(
        select(ThreadAttachment.message_id, ThreadAttachment.filename)
        .join(ThreadMessage, ThreadMessage.id == ThreadAttachment.message_id)
        .where(ThreadMessage.record_id.in_(record_ids))
        .order_by(ThreadAttachment.id)
    ):
        names.setdefault(message_id, []).append(filename)
    for m in session.scalars(
        select(ThreadMessage)
        .where(ThreadMessage.record_id.in_(record_ids), ThreadMessage.direction != "note")
        .order_by(ThreadMessage.id)
    ):
        found.setdefault(m.record_id, []).append(
            {
                "direction": m.direction,
                "channel": m.channel,
                "subject": m.subject,
                "text": m.body,
                "at": m.created_at.isoformat(),
                "attachments": names.get(m.id, []),
            }
        )
    return found


@dataclass(frozen=True)
class Erased:
    """How many records were scrubbed, and the stored files their rows named (`blobs`): the
    caller discards those no other row names once the erasure is committed."""

    records: int
    files: frozenset[str]


def erase(
    session: Session, customer: Customer, personal: PersonalFields, actor: str, now: datetime
) -> Erased:
    """Replace the person by a tombstone, their files and conversation deleted."""
    erased_number = f"erased-{customer.id}"
    records = _records(session, customer)
    for record in records:
        names = personal(record) | {"customer_no"}

        def scrub(values: dict[str, Any], names: frozenset[str] = names) -> dict[str, Any]:
            return {
                k: (erased_number if k == "customer_no" else TOMBSTONE) if k in names and v else v
                for k, v in values.items()
            }

        # Both halves: the plain fields and the encrypted personal ones (issue #22 item 4); the
        # contact's hash goes too, so the erased person's number finds nothing any more.
        record.fields = scrub(record.fields)
        record.private_fields = scrub(record.private_fields) if record.private_fields else None
        record.contact_hash = None
        events = session.scalars(select(RecordEvent).where(RecordEvent.record_id == record.id))
        for event in events:
            if any(k in names for k in event.changes):
                changes = event.changes.items()
                event.changes = {k: _scrub(v) if k in names else v for k, v in changes}
    forgotten = files.forget(session, [r.id for r in records])
    _erase_threads(session, [r.id for r in records])
    occasions = select(CampaignOccasion.id).where(CampaignOccasion.customer_id == customer.id)
    for message in session.scalars(
        select(OutboxMessage).where(OutboxMessage.occasion_id.in_(occasions))
    ):
        message.recipient = TOMBSTONE
        if message.status == "pending":
            message.status = "dead"
            message.last_error = "customer erased"
    customer.number = erased_number
    customer.name = TOMBSTONE
    customer.contact = None
    customer.birthday = None
    customer.birth_md = None
    customer.timezone = None
    customer.preferred_channel = None
    customer.consent_service = False
    customer.consent_marketing = False
    customer.consent_at = now
    customer.consent_source = "erasure"
    audit(session, actor, "customer.erase", f"customer:{customer.id}", now, records=len(records))
    return Erased(len(records), frozenset(forgotten))


def _scrub(value: Any) -> Any:
    if isinstance(value, list):
        return [TOMBSTONE if v else v for v in value]
    return TOMBSTONE if value else value


def _erase_threads(session: Session, record_ids: list[int]) -> None:
    """The conversation goes too (issue #20): every text, file and address, set-based.

    A message keeps its place, direction, channel and time (the record's history still counts
    it); its channel id becomes a meaningless one, so a mail id naming the person's domain
    goes while the thread's uniqueness holds.
    """
    if not record_ids:
        return
    in_threads = ThreadMessage.record_id.in_(record_ids)
    messages = select(ThreadMessage.id).where(in_threads)
    session.execute(delete(ThreadAttachment).where(ThreadAttachment.message_id.in_(messages)))
    session.execute(
        update(ThreadMessage)
        .where(in_threads)
        .values(body=TOMBSTONE, subject=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(ThreadMessage)
        .where(in_threads, ThreadMessage.direction == "in")
        .values(author=TOMBSTONE)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(ThreadMessage)
        .where(in_threads, ThreadMessage.external_id.is_not(None))
        .values(external_id=literal("erased-") + cast(ThreadMessage.id, String))
        .execution_options(synchronize_session=False)
    )
    replies = select(ThreadMessage.outbox_id).where(
        in_threads, ThreadMessage.outbox_id.is_not(None)
    )
    for message in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(replies))):
        message.recipient, message.subject, message.body = TOMBSTONE, TOMBSTONE, TOMBSTONE
        if message.status == "pending":
            message.status, message.last_error = "dead", "customer erased"
