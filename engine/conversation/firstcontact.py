"""A customer's message that belongs to no record opens one (issue #20), whatever its channel.

Mail and the gateways (SMS, WeChat, chat) share it: the pack's `intake.<channel>` names the
record type, priority and department; the customer is found by their address (a keyed hash,
as every contact lookup) or numbered from it on first contact, and the words go into the
intake's text field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.crypto import lookup_hash
from engine.errors import InvalidInput
from engine.records import intake
from engine.specs.pack import IntakeSpec, PackSpec, RecordTypeSpec
from engine.store.models import Customer, PackVersion, Record


@dataclass(frozen=True)
class FirstContact:
    """What the channel tells of the message: who sent it, their name if known, the words."""

    address: str
    name: str
    title: str  # a mail's subject; empty for SMS and chat
    text: str
    received_at: datetime
    external_id: str


def open_record(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    channel: str,
    contact: FirstContact,
    *,
    actor: str,
    now: datetime,
) -> Record:
    """The record `intake.<channel>` makes of the message; InvalidInput without that entry."""
    rule = pack.intake.get(channel)
    if rule is None:
        raise InvalidInput(
            f"pack {pack.name} says nothing about new messages on '{channel}': "
            f"add intake.{channel}",
            fields={"channel": channel},
        )
    rtype = pack.record_type(rule.record_type)
    new = intake.NewRecord(
        record_type=rule.record_type,
        fields=_fields(session, rtype, rule, contact),
        channel=channel,
        priority=rule.priority,
        received_at=contact.received_at,
        external_id=contact.external_id,
    )
    record = intake.create_record(session, pack, version, new, actor=actor, now=now)
    if rule.department is not None:
        record.department = rule.department
    return record


def _fields(
    session: Session, rtype: RecordTypeSpec, rule: IntakeSpec, contact: FirstContact
) -> dict[str, str]:
    """The customer by address (found, or numbered on first contact), the sender, the words."""
    values: dict[str, str] = {}
    parts = (contact.title, contact.text)
    values[rule.text_field] = "\n\n".join(part for part in parts if part) or "—"
    for field in rtype.fields.values():
        if field.type == "customer":
            values[field.id] = customer_number(session, contact.address)
        elif field.type == "contact" and contact.address:
            values[field.id] = contact.address
        elif field.mask == "name" and contact.name:
            values[field.id] = contact.name
    return values


def customer_number(session: Session, address: str) -> str:
    """The customer this address belongs to, else a number made from its keyed hash."""
    hashed = lookup_hash(address)
    found = session.scalar(select(Customer.number).where(Customer.contact_hash == hashed))
    return found or f"M-{(hashed or '')[:12].upper()}"
