"""A record's thread (issue #20): the customer's messages, the answers, internal notes.

Each message is a row of its own (text encrypted) and a history line that names it. A reply
by email, or by SMS or WeChat through the team's gateway (`addressing`), goes out through the
outbox in the same transaction, addressed to the customer's contact, and needs their consent
to service messages; a reply by another channel records a contact the agent made outside
Careloop (a phone call). The first reply meets the SLA targets whose `met_by` says
`first_reply`; a customer's message takes the record type's `customer_reply` transition
where it can, which resumes clocks paused while waiting on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import bounds
from engine.conversation import addressing, attachments
from engine.conversation.attachments import AttachmentInfo
from engine.conversation.mail import Attachment, subject_with_reference
from engine.errors import InvalidInput
from engine.events import ThreadPosted
from engine.records import transitions
from engine.records.journal import add_event
from engine.specs.pack import PackSpec
from engine.store.models import Customer, OutboxMessage, Record, ThreadMessage
from engine.time import sla

MAX_TEXT = 20_000
# The author of what Careloop says by itself (the promised contacts): not an agent's reply.
SYSTEM_AUTHOR = "careloop"
# What the thread shows of an outbound message, by its outbox row's status.
OUTBOX_STATES = {
    "pending": "queued",
    "sending": "queued",
    "sent": "sent",
    "dead": "failed",
    "bounced": "bounced",
    "delivered": "delivered",  # the gateway's receipt says it reached the customer
}


@dataclass(frozen=True)
class Entry:
    """One message as the desk and the API show it, with its delivery state and its files."""

    message: ThreadMessage
    state: str  # received, internal, recorded (outside), queued, sent, delivered, failed, bounced
    error: str | None = None
    files: tuple[AttachmentInfo, ...] = field(default=())


def thread_of(session: Session, record_id: int) -> list[Entry]:
    """The record's messages, oldest first, each with its outbox row and its files' names."""
    return threads_of(session, [record_id])[record_id]


def threads_of(session: Session, record_ids: Iterable[int]) -> dict[int, list[Entry]]:
    """Each record's messages, oldest first, each with its outbox row and its files' names:
    two queries for all of them (the customer's 360° view), the files' bytes unread, where
    `thread_of` per record would cost two each. Every id asked for is a key, with an empty
    list when its thread is empty."""
    threads: dict[int, list[Entry]] = {record_id: [] for record_id in record_ids}
    if not threads:
        return threads
    rows = session.execute(
        select(ThreadMessage, OutboxMessage)
        .outerjoin(OutboxMessage, OutboxMessage.id == ThreadMessage.outbox_id)
        .where(ThreadMessage.record_id.in_(threads))
        .order_by(ThreadMessage.record_id, ThreadMessage.id)
    ).all()
    files = attachments.listed(session, [message.id for message, _outbox in rows])
    for message, outbox in rows:
        entry = _entry(message, outbox, tuple(files.get(message.id, ())))
        threads[message.record_id].append(entry)
    return threads


def _entry(
    message: ThreadMessage, outbox: OutboxMessage | None, files: tuple[AttachmentInfo, ...]
) -> Entry:
    if message.direction == "in":
        return Entry(message, "received", files=files)
    if message.direction == "note":
        return Entry(message, "internal", files=files)
    if outbox is None:
        return Entry(message, "recorded", files=files)
    state = OUTBOX_STATES.get(outbox.status, outbox.status)
    return Entry(
        message, state, outbox.last_error if state in ("failed", "bounced") else None, files
    )


def add_note(
    session: Session,
    record: Record,
    text: str,
    *,
    actor: str,
    now: datetime,
    files: Sequence[Attachment] = (),
) -> ThreadMessage:
    """An internal note: on the thread for colleagues, never sent to the customer."""
    message = _post(session, record, "note", None, _checked(text), actor=actor, now=now)
    attachments.attach(session, message, files, now)
    return message


def reply(
    session: Session,
    pack: PackSpec,
    record: Record,
    text: str,
    *,
    channel: str,
    actor: str,
    now: datetime,
    subject: str | None = None,
    files: Sequence[Attachment] = (),
    system: bool = False,
) -> ThreadMessage:
    """Answer the customer on `channel`; by email it is queued for delivery at once, on a
    gateway channel (SMS, WeChat) once the channel's quiet hours allow (`addressing`).

    Files are kept on the thread with the reply; by email they go out as its attachments.
    A `system` message (a promised contact, Careloop's own) keeps its subject as the pack
    wrote it and is nobody's first reply: the respond target waits for a person.
    """
    body = _checked(text)
    if pack.channels and channel not in pack.channels:
        raise InvalidInput(
            f"'{channel}' is not a channel of {pack.name}", fields={"channel": channel}
        )
    if channel == "email":
        outbox: OutboxMessage | None = _email(
            session, record, body, subject, now, own_subject=system
        )
    elif addressing.is_gateway(pack, channel):  # SMS, WeChat, chat: the team's gateway
        outbox = addressing.gateway_message(pack, record, body, channel, now)
    else:
        outbox = None
    first = not system and not _has_replied(session, record.id)
    message = _post(
        session, record, "out", channel, body, actor=actor, now=now, outbox=outbox, told=system
    )
    attachments.attach(session, message, files, now)
    if first:
        rtype = pack.record_type(record.record_type)
        sla.on_first_reply(session, pack, rtype, record, now, actor)
    return message


def receive(
    session: Session,
    pack: PackSpec,
    record: Record,
    text: str,
    *,
    channel: str,
    author: str,
    now: datetime,
    subject: str | None = None,
    external_id: str | None = None,
    files: Sequence[Attachment] = (),
    refused: Sequence[tuple[str, str]] = (),
) -> ThreadMessage | None:
    """The customer wrote: join the thread once per channel message, and move the record on.

    None when the same channel message (`external_id`) was taken before. `files` are stored
    with the message; `refused` ones (name, reason) are named in an internal note under it.
    """
    if external_id is not None and is_taken(session, channel, external_id):
        return None
    message = _post(
        session,
        record,
        "in",
        channel,
        _checked(text),
        actor=author,
        now=now,
        subject=subject,
        external_id=external_id,
    )
    attachments.attach(session, message, files, now)
    if (note := attachments.refused_note(refused)) is not None:
        _post(session, record, "note", None, note, actor="mail", now=now)
    rtype = pack.record_type(record.record_type)
    step = rtype.transitions.get(rtype.customer_reply or "")
    if step is not None and record.is_open and record.stage in step.sources:
        transitions.apply_transition(session, pack, record, step.id, {}, actor=author, now=now)
    return message


def _checked(text: str) -> str:
    body = text.strip()
    if not body:
        raise InvalidInput("the message is empty", fields={"text": "required"})
    if len(body) > MAX_TEXT:
        raise InvalidInput(
            f"the message is longer than {MAX_TEXT} characters", fields={"text": "too long"}
        )
    return body


def _email(
    session: Session,
    record: Record,
    body: str,
    subject: str | None,
    now: datetime,
    *,
    own_subject: bool = False,
) -> OutboxMessage:
    customer: Customer | None = record.customer
    address = (customer.contact or "").strip() if customer is not None else ""
    if customer is None or not addressing.EMAIL.match(address):
        raise InvalidInput(
            f"record {record.id} has no customer email address to answer",
            fields={"channel": "the customer has no email address"},
        )
    if not customer.consent_service:
        raise InvalidInput(
            f"customer {customer.number} has not agreed to service messages",
            fields={"channel": "no consent to service messages"},
        )
    earlier = _email_ids(session, record.id)
    return OutboxMessage(
        record_id=record.id,
        channel="email",
        recipient=address,
        subject=(
            subject_with_reference(subject or "", record.id)
            if own_subject
            else reply_subject(subject or _last_subject(session, record.id), record.id)
        ),
        body=body,
        # The customer's mail client threads the answer under their mail (RFC 5322 3.6.4).
        payload={"record": record.id, "in_reply_to": earlier[-1:], "references": earlier},
        created_at=now,
        next_attempt_at=now,
    )


def reply_subject(subject: str | None, record_id: int) -> str:
    """`Re: <their subject> [CL-id]`: the reference lets a reply without headers find its record."""
    text = (subject or "").strip()
    if text and not text.lower().startswith(("re:", "回复：", "回复:")):
        text = f"Re: {text}"
    return subject_with_reference(text, record_id)


def _email_ids(session: Session, record_id: int) -> list[str]:
    """The Message-IDs of the customer's mail on this thread, oldest first (at most 20)."""
    found = session.scalars(
        select(ThreadMessage.external_id)
        .where(
            ThreadMessage.record_id == record_id,
            ThreadMessage.channel == "email",
            ThreadMessage.direction == "in",
            ThreadMessage.external_id.is_not(None),
        )
        .order_by(ThreadMessage.id.desc())
        .limit(20)
    )
    return [mail_id for mail_id in found if mail_id is not None][::-1]


def _last_subject(session: Session, record_id: int) -> str | None:
    return session.scalar(
        select(ThreadMessage.subject)
        .where(ThreadMessage.record_id == record_id, ThreadMessage.subject.is_not(None))
        .order_by(ThreadMessage.id.desc())
        .limit(1)
    )


def _has_replied(session: Session, record_id: int) -> bool:
    found = session.scalar(
        select(ThreadMessage.id)
        .where(
            ThreadMessage.record_id == record_id,
            ThreadMessage.direction == "out",
            ThreadMessage.author != SYSTEM_AUTHOR,
        )
        .limit(1)
    )
    return found is not None


def is_taken(session: Session, channel: str, external_id: str) -> bool:
    """Whether this channel message (an email's Message-ID) is on a thread already."""
    found = session.scalar(
        select(ThreadMessage.id).where(
            ThreadMessage.channel == channel, ThreadMessage.external_id == external_id
        )
    )
    return found is not None


def _post(
    session: Session,
    record: Record,
    direction: str,
    channel: str | None,
    body: str,
    *,
    actor: str,
    now: datetime,
    subject: str | None = None,
    external_id: str | None = None,
    outbox: OutboxMessage | None = None,
    told: bool = False,
) -> ThreadMessage:
    """Write the message; its history line too, unless `told`: a promised contact's own line
    (`contact.sent`, written by `contacts`) names the message already."""
    if outbox is not None:
        session.add(outbox)
        session.flush()
    # Mail and gateways bring what customers' software wrote, NULs included: kept readable
    # (U+FFFD) rather than refused, since PostgreSQL's text cannot store them (issue #22).
    message = ThreadMessage(
        record_id=record.id,
        direction=direction,
        channel=channel,
        author=bounds.scrub(actor),
        subject=None if subject is None else bounds.scrub(subject),
        body=bounds.scrub(body),
        external_id=None if external_id is None else bounds.scrub(external_id),
        outbox_id=outbox.id if outbox is not None else None,
        created_at=now,
    )
    session.add(message)
    session.flush()
    if not told:
        add_event(session, record, now, ThreadPosted(direction, message.id, channel), actor=actor)
        # Careloop's own contacts leave the record as it was: a form an agent has open
        # stays current (`row_version`) when the acknowledgement goes out.
        record.updated_at = now
    return message
