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
from typing import Any

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
MAIL_IDS = 20  # an email's References name at most this many of the customer's mails
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
) -> ThreadMessage:
    """Answer the customer on `channel`; by email it is queued for delivery at once, on a
    gateway channel (SMS, WeChat) once the channel's quiet hours allow (`addressing`).

    Files are kept on the thread with the reply; by email they go out as its attachments.
    """
    body = _checked(text)
    _check_channel(pack, channel)
    if channel == "email":
        outbox: OutboxMessage | None = _email(session, record, body, subject, now)
    elif addressing.is_gateway(pack, channel):  # SMS, WeChat, chat: the team's gateway
        outbox = addressing.gateway_message(pack, record, body, channel, now)
    else:
        outbox = None
    first = not _has_replied(session, record.id)
    message = _post(session, record, "out", channel, body, actor=actor, now=now, outbox=outbox)
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


def _check_channel(pack: PackSpec, channel: str) -> None:
    if pack.channels and channel not in pack.channels:
        raise InvalidInput(
            f"'{channel}' is not a channel of {pack.name}", fields={"channel": channel}
        )


def system_rows(
    pack: PackSpec,
    record: Record,
    text: str,
    *,
    channel: str,
    subject: str,
    now: datetime,
    mail_ids: list[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Careloop's own message to the customer (a promised contact) as rows for a batch to
    write (`contactwrite`): its outbox row, and its thread row, whose `outbox_id` the batch
    fills in. Refused (InvalidInput) as `reply` refuses, before anything is written; only
    email and gateway channels, where it can be delivered. It keeps its subject as the pack
    wrote it, is nobody's first reply (the respond target waits for a person) and leaves the
    record as it was: its own history line (`contact.sent`) names the message.

    `mail_ids` are the Message-IDs of the customer's mail on the thread, oldest first."""
    body = _checked(text)
    _check_channel(pack, channel)
    if channel == "email":
        own = subject_with_reference(subject, record.id)
        outbox = email_row(record, body, own, now, mail_ids)
    else:
        outbox = addressing.gateway_row(pack, record, body, channel, now)
    message = {
        "record_id": record.id,
        "direction": "out",
        "channel": channel,
        "author": SYSTEM_AUTHOR,
        "subject": bounds.scrub(subject),
        "body": bounds.scrub(body),
        "external_id": None,
        "outbox_id": None,
        "created_at": now,
    }
    return outbox, message


def _email(
    session: Session, record: Record, body: str, subject: str | None, now: datetime
) -> OutboxMessage:
    subject = reply_subject(subject or _last_subject(session, record.id), record.id)
    return OutboxMessage(**email_row(record, body, subject, now, _email_ids(session, record.id)))


def email_row(
    record: Record, body: str, subject: str, now: datetime, mail_ids: list[str]
) -> dict[str, Any]:
    """The outbox row of an email to the record's customer, every column named (a batch's
    rows need one shape); refused without an address or their consent to service messages.
    It answers their mail (`mail_ids`, oldest first), so their client threads it under it
    (RFC 5322 3.6.4)."""
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
    payload = {"record": record.id, "in_reply_to": mail_ids[-1:], "references": mail_ids}
    return addressing.outbox_row(record.id, "email", address, subject, body, payload, now, now)


def reply_subject(subject: str | None, record_id: int) -> str:
    """`Re: <their subject> [CL-id]`: the reference lets a reply without headers find its record."""
    text = (subject or "").strip()
    if text and not text.lower().startswith(("re:", "回复：", "回复:")):
        text = f"Re: {text}"
    return subject_with_reference(text, record_id)


def _email_ids(session: Session, record_id: int) -> list[str]:
    """The Message-IDs of the customer's mail on this thread, oldest first (the newest
    `MAIL_IDS`)."""
    found = session.scalars(
        select(ThreadMessage.external_id)
        .where(
            ThreadMessage.record_id == record_id,
            ThreadMessage.channel == "email",
            ThreadMessage.direction == "in",
            ThreadMessage.external_id.is_not(None),
        )
        .order_by(ThreadMessage.id.desc())
        .limit(MAIL_IDS)
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
) -> ThreadMessage:
    """Write the message and its history line."""
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
    add_event(session, record, now, ThreadPosted(direction, message.id, channel), actor=actor)
    record.updated_at = now
    return message
