"""SMS, WeChat and chat messages into records (issue #20, R-1.1): the team's gateway pushes
each one, and it joins the record it belongs to or opens one.

A message joins, in this order: the record its text names (`CL-123`, `[CL-123]`, `[#123]`)
when it comes from that record's customer — a guessed number lets nobody write into another
customer's record, as with mail; else the sender's most recently updated open record in the
pack; else it opens a record as the pack's `intake.<channel>` says. The gateway's own message
id is taken once: a gateway retrying after a timeout adds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.crypto import lookup_hash
from engine.conversation import thread
from engine.conversation.firstcontact import FirstContact, open_record
from engine.conversation.mail import reference_in
from engine.records import merge
from engine.specs.pack import PackSpec
from engine.store.models import Customer, PackVersion, Record, ThreadMessage

# A reference as a customer types it into an SMS: CL-123, [CL-123], cl 123 is not one.
TEXT_REFERENCE = re.compile(r"(?<![A-Za-z0-9])CL-(\d{1,12})(?!\d)", re.IGNORECASE)
# A gateway's own time of receipt is believed only this far back (a wrong clock, a replay).
TRUSTED_AGE = timedelta(days=7)


@dataclass(frozen=True)
class GatewayMessage:
    """One message as the gateway pushes it: its id, the sender (phone, openid), the words."""

    id: str
    sender: str
    text: str
    received_at: datetime | None = None


@dataclass(frozen=True)
class GatewayOutcome:
    """Where the message went: a record `created` or `joined`, or a `duplicate` of one taken."""

    action: str
    record_id: int
    message_id: int


def take_message(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    channel: str,
    message: GatewayMessage,
    *,
    spec_of: Callable[[Record], PackSpec],
    now: datetime,
) -> GatewayOutcome | None:
    """Join the message to its record or open one; None when another process took it
    between our look and our write (the caller answers with the one it took)."""
    earlier = taken(session, channel, message.id)
    if earlier is not None:
        return GatewayOutcome("duplicate", earlier.record_id, earlier.id)
    record = _by_reference(session, pack.name, message) or _open_record_of(
        session, pack.name, message.sender
    )
    action = "joined"
    if record is None:
        contact = FirstContact(
            address=message.sender,
            name="",
            title="",
            text=message.text,
            received_at=_received_at(message, now),
            external_id=message.id,
        )
        record = open_record(session, pack, version, channel, contact, actor=channel, now=now)
        action = "created"
    posted = thread.receive(
        session,
        spec_of(record),
        record,
        message.text,
        channel=channel,
        author=message.sender,
        now=now,
        external_id=message.id,
    )
    return None if posted is None else GatewayOutcome(action, record.id, posted.id)


def taken(session: Session, channel: str, external_id: str) -> ThreadMessage | None:
    """The thread message this gateway message became, if it was taken before."""
    return session.scalars(
        select(ThreadMessage).where(
            ThreadMessage.channel == channel, ThreadMessage.external_id == external_id
        )
    ).first()


def _by_reference(session: Session, pack: str, message: GatewayMessage) -> Record | None:
    """The open record the text names, if the sender is its customer."""
    found = TEXT_REFERENCE.search(message.text)
    record_id = int(found.group(1)) if found else reference_in(message.text)
    if record_id is None:
        return None
    record = session.get(Record, record_id)
    if record is not None:  # a merged record's reference names the record it went into
        record = merge.survivor_of(session, record)
    if record is None or record.pack != pack or not record.is_open or record.customer is None:
        return None
    return record if record.customer.contact_hash == lookup_hash(message.sender) else None


def _open_record_of(session: Session, pack: str, sender: str) -> Record | None:
    """The sender's open record in the pack that moved last: the conversation they are in."""
    customers = select(Customer.id).where(Customer.contact_hash == lookup_hash(sender))
    return session.scalars(
        select(Record)
        .where(Record.customer_id.in_(customers), Record.pack == pack, Record.is_open)
        .order_by(Record.updated_at.desc(), Record.id.desc())
        .limit(1)
    ).first()


def _received_at(message: GatewayMessage, now: datetime) -> datetime:
    moment = message.received_at
    if moment is not None and now - TRUSTED_AGE <= moment <= now:
        return moment
    return now
