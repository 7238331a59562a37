"""Outbound messages through an outbox: composed with the change, delivered later with retries.

A timer's effect writes its notification and, where the pack has a template
and a way to reach the audience, one outbox row per recipient, all in the
timer's transaction and under a unique constraint: a retried sweep cannot
queue a message twice. Delivery runs outside that transaction. A message is
leased while it is being sent; a failure backs off exponentially and, after
`MAX_ATTEMPTS`, the message becomes a dead letter for operators to see. A
sender that dies between sending and recording it may send once more after
the lease runs out, so every message carries a stable id receivers can
deduplicate on (the email Message-ID, the webhook's Idempotency-Key). A receiver that
refuses a message for good (no such mailbox) makes it `bounced` at once, without retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from engine.access.masking import masked_fields
from engine.records.personal import all_fields
from engine.records.rows import RecordView
from engine.specs.pack import PackSpec
from engine.store.models import Notification, OutboxMessage, Record

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=2)
LEASE = timedelta(minutes=5)


class Sender(Protocol):
    """An adapter that delivers one message or raises; the engine knows no SMTP or HTTP."""

    def send(self, message: OutboxMessage) -> None: ...


class PermanentFailure(Exception):
    """The receiver refused the message for good (an unknown mailbox): trying again cannot
    help. A sender raises it with the receiver's words; 4xx-like answers stay plain errors,
    retried with backoff."""


# What else a bounce means (the customer's address fails), in the bounce's transaction.
BounceHook = Callable[[Session, OutboxMessage, datetime], None]


def compose(
    session: Session, pack: PackSpec, record: Record, notification: Notification, now: datetime
) -> list[OutboxMessage]:
    """Queue the pack's message for this notification, one row per way to reach its audience."""
    rows = message_rows(
        pack, record, notification.audience, notification.subject, notification.detail, now
    )
    messages = [OutboxMessage(notification_id=notification.id, **row) for row in rows]
    session.add_all(messages)
    return messages


def message_rows(
    pack: PackSpec,
    record: RecordView,
    audience: str,
    subject: str,
    detail: Mapping[str, Any],
    now: datetime,
) -> list[dict[str, Any]]:
    """The outbox rows of a notification still to be written, without its id.

    Pure: rendered from the record as it stands now, so a batch can gather the rows
    of many notifications and insert them in one statement once their ids are known.
    """
    template = pack.message_for(subject)
    recipient = pack.recipients.get(audience)
    if template is None or recipient is None:
        return []
    context = _context(pack, record, audience, subject, detail)
    title = template.subject.render(context).strip()[:300]
    body = template.body.render(context)
    payload = {
        "record_id": record.id,
        "pack": record.pack,
        "subject": subject,
        "audience": audience,
        "title": title,
        "text": body,
    }
    targets = [("email", address) for address in recipient.emails]
    if recipient.webhook:
        targets.append(("webhook", audience))
    return [
        {
            "record_id": record.id,
            "channel": channel,
            "recipient": address,
            "subject": title,
            "body": body,
            "payload": payload,
            "created_at": now,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        }
        for channel, address in targets
    ]


def _context(
    pack: PackSpec, record: RecordView, audience: str, subject: str, detail: Mapping[str, Any]
) -> dict[str, Any]:
    rtype = pack.record_type(record.record_type)
    return {
        "record": {
            **masked_fields(rtype, all_fields(record)),
            "id": record.id,
            "stage": rtype.stages[record.stage].title if record.stage in rtype.stages else "",
            "priority": record.priority,
            "category": record.category,
            "department": record.department,
            "assignee": record.assignee,
        },
        "subject": subject,
        "audience": audience,
        "target": _target_title(pack, record, detail.get("target")),
        "deadline": _local(pack, detail.get("deadline")),
        "due_at": _local(pack, detail.get("due_at")),
        "title": detail.get("title", ""),
    }


def _target_title(pack: PackSpec, record: RecordView, target: str | None) -> str:
    sla = pack.record_type(record.record_type).sla
    if target is None or sla is None or target not in sla.targets:
        return target or ""
    return sla.targets[target].title


def _local(pack: PackSpec, moment: str | None) -> str:
    """An ISO time from a notification's detail, as people in the pack's zone read it."""
    return pack.local_minute(datetime.fromisoformat(moment) if moment else None)


@dataclass(frozen=True)
class Delivery:
    sent: int
    retried: int
    dead: int
    bounced: int = 0


def deliver_due(
    session_factory: sessionmaker[Session],
    senders: Mapping[str, Sender],
    now: datetime,
    *,
    batch_size: int = 50,
    on_bounce: BounceHook | None = None,
) -> Delivery:
    """Lease due messages, send each outside any transaction, then record the outcome."""
    with session_factory() as session:
        leased = _lease(session, now, batch_size, list(senders))
        session.commit()
    sent = retried = dead = bounced = 0
    for message in leased:
        try:
            senders[message.channel].send(message)
        except PermanentFailure as exc:
            _bounced(session_factory, message.id, now, exc, on_bounce)
            bounced += 1
        except Exception as exc:  # every adapter error is a failed attempt
            outcome = _failed(session_factory, message.id, now, exc)
            retried += outcome == "pending"
            dead += outcome == "dead"
        else:
            _sent(session_factory, message.id, now)
            sent += 1
    return Delivery(sent, retried, dead, bounced)


def _lease(session: Session, now: datetime, limit: int, channels: list[str]) -> list[OutboxMessage]:
    due = or_(
        (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.status == "sending") & (OutboxMessage.lease_until <= now),
    )
    messages = list(
        session.scalars(
            select(OutboxMessage)
            .where(due, OutboxMessage.channel.in_(channels))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for message in messages:
        message.status, message.lease_until = "sending", now + LEASE
        message.attempts += 1
    return messages


def _sent(session_factory: sessionmaker[Session], message_id: int, now: datetime) -> None:
    with session_factory() as session:
        message = session.get_one(OutboxMessage, message_id)
        if message.status == "sending":  # a gateway's receipt may have come in first
            message.status = "sent"
        message.sent_at, message.lease_until = now, None
        session.commit()


def _failed(
    session_factory: sessionmaker[Session], message_id: int, now: datetime, exc: Exception
) -> str:
    with session_factory() as session:
        message = session.get_one(OutboxMessage, message_id)
        message.last_error = f"{type(exc).__name__}: {exc}"[:500]
        message.lease_until = None
        if message.attempts >= MAX_ATTEMPTS:
            message.status = "dead"
            log.warning(
                "outbox message %s is a dead letter after %s attempts", message.id, message.attempts
            )
        else:
            message.status = "pending"
            message.next_attempt_at = now + backoff(message.attempts)
        session.commit()
        return message.status


def _bounced(
    session_factory: sessionmaker[Session],
    message_id: int,
    now: datetime,
    exc: PermanentFailure,
    on_bounce: BounceHook | None,
) -> None:
    """The bounce stands on its own: a hook that fails is logged, never a retry of the send."""
    with session_factory() as session:
        message = session.get_one(OutboxMessage, message_id)
        message.status, message.lease_until = "bounced", None
        message.last_error = (str(exc) or type(exc).__name__)[:500]
        session.commit()
        if on_bounce is None:
            return
        try:
            on_bounce(session, message, now)
            session.commit()
        except Exception:
            session.rollback()
            log.exception("outbox message %s bounced; marking what it means failed", message_id)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min … capped at 2 h."""
    delay: timedelta = BASE_BACKOFF * 2 ** max(attempts - 1, 0)
    return min(delay, MAX_BACKOFF)
