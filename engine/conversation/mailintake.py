"""Mail into records (issue #20): a new mail makes a record, a reply joins its own.

A reply is known by its headers first — In-Reply-To or References naming a mail of the
thread or one Careloop sent — and only then by the `[CL-id]` in its subject, which counts
only when the sender is that record's customer: a guessed number lets nobody write into
another customer's record. Automatic mail (auto-replies, bounces, lists) makes nothing, so
an autoresponder answering our acknowledgement cannot start a loop. The same Message-ID is
taken once (the thread's unique channel id settles a race between two pollers).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import bounds
from engine.conversation import attachments, bounces, thread
from engine.conversation.firstcontact import FirstContact, open_record
from engine.conversation.mail import InboundMail
from engine.records import merge
from engine.specs.pack import PackSpec
from engine.store.models import OutboxMessage, PackVersion, Record, ThreadMessage

OUR_MESSAGE_ID = re.compile(r"^<careloop-outbox-(\d+)@careloop>$")
# Where a delivery report quotes the mail that failed (RFC 3464): our Message-ID, anywhere in it.
OURS_IN_REPORT = re.compile(rb"<careloop-outbox-(\d+)@careloop>")
# A mail's own date is believed only this far back (a wrong clock, a resent old mail).
TRUSTED_AGE = timedelta(days=7)


@dataclass(frozen=True)
class MailOutcome:
    """What became of one mail: created or joined a record, or why it made nothing."""

    action: str  # created, joined, duplicate, ignored, bounced
    record_id: int | None = None
    reason: str = ""


def take_mail(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    channel: str,
    mail: InboundMail,
    raw: bytes,
    *,
    spec_of: Callable[[Record], PackSpec],
    now: datetime,
) -> MailOutcome:
    """One mail on `channel` of `pack`: join its record, or make one as `intake.<channel>` says."""
    if mail.is_automatic:
        return _bounce(session, pack.name, mail, raw, now) or MailOutcome(
            "ignored", reason=mail.automatic_reason
        )
    mail_id = mail.message_id or _stand_in_id(raw)
    if thread.is_taken(session, channel, mail_id):
        return MailOutcome("duplicate", reason=f"{mail_id} was taken before")
    bounces.reachable(session, mail.sender_address)
    record = _record_of(session, pack.name, mail)
    if record is not None:  # a merged record's mail joins the record it was merged into
        record = merge.survivor_of(session, record)
    if record is None or not record.is_open:
        record = _new_record(session, pack, version, channel, mail, mail_id, now)
        action = "created"
    else:
        action = "joined"
    files, refused = attachments.by_content(mail.attachments)
    message = thread.receive(
        session,
        spec_of(record),
        record,
        mail.reply_text or mail.text or mail.subject or "（空邮件）",
        channel=channel,
        author=mail.sender_address or "customer",
        now=now,
        subject=mail.subject or None,
        external_id=mail_id,
        files=files,
        refused=[*mail.refused_attachments, *refused],
    )
    if message is None:  # another process committed it between our two looks (PostgreSQL)
        return MailOutcome("duplicate", reason=f"{mail_id} was taken meanwhile")
    return MailOutcome(action, record.id)


def _bounce(
    session: Session, pack: str, mail: InboundMail, raw: bytes, now: datetime
) -> MailOutcome | None:
    """A bounce of a mail we sent (R-3.2's contacts must reach the customer): its message is
    marked `bounced` on the thread, with the report's reason, and is not tried again; the
    address is failing (`bounces`), once however many reports come."""
    if not _is_bounce(mail):
        return None  # an auto-reply quoting our Message-ID is no failed delivery
    found = OURS_IN_REPORT.search(raw)
    if found is None:
        return None
    number = bounds.parse_id(found.group(1))
    message = session.get(OutboxMessage, number) if number else None
    if message is None or message.record_id is None:
        return None
    record = session.get(Record, message.record_id)
    if record is None or record.pack != pack:
        return None
    if message.status != "bounced":
        message.status = "bounced"
        message.last_error = (mail.reply_text or mail.text or mail.subject)[:500] or "bounced"
        bounces.bounced(session, message, now)
    return MailOutcome("bounced", record.id, reason=f"outbox message {message.id}")


def _is_bounce(mail: InboundMail) -> bool:
    """A delivery report (RFC 3464) or the mail system's own notice, not a person's auto-reply."""
    reason = mail.automatic_reason.lower()
    daemon = mail.sender_address.lower().startswith(("mailer-daemon@", "postmaster@"))
    return daemon or reason.startswith(("multipart/report", "return-path: <>"))


def _stand_in_id(raw: bytes) -> str:
    """A mail without a Message-ID is known by its bytes: the same mail twice is one."""
    return f"<sha256-{hashlib.sha256(raw).hexdigest()[:40]}@careloop.invalid>"


def _record_of(session: Session, pack: str, mail: InboundMail) -> Record | None:
    """The record this mail answers: by its headers, else by its subject's reference."""
    for mail_id in (mail.in_reply_to, *reversed(mail.references)):
        if mail_id and (record := _by_header(session, pack, mail_id)) is not None:
            return record
    if mail.record_reference is None:
        return None
    record = session.get(Record, mail.record_reference)
    if record is None or record.pack != pack or record.customer is None:
        return None
    customer_mail = (record.customer.contact or "").strip().lower()
    return record if customer_mail == mail.sender_address.strip().lower() else None


def _by_header(session: Session, pack: str, mail_id: str) -> Record | None:
    ours = OUR_MESSAGE_ID.match(mail_id)
    if ours is not None:
        number = bounds.parse_id(ours.group(1))  # a forged id past INTEGER finds nothing
        record_id = session.scalar(
            select(OutboxMessage.record_id).where(OutboxMessage.id == (number or 0))
        )
    else:
        record_id = session.scalar(
            select(ThreadMessage.record_id).where(ThreadMessage.external_id == mail_id).limit(1)
        )
    record = session.get(Record, record_id) if record_id is not None else None
    return record if record is not None and record.pack == pack else None


def _new_record(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    channel: str,
    mail: InboundMail,
    mail_id: str,
    now: datetime,
) -> Record:
    contact = FirstContact(
        address=mail.sender_address,
        name=mail.sender_name,
        title=mail.subject,
        text=mail.reply_text or mail.text,
        received_at=_received_at(mail, now),
        external_id=mail_id,
    )
    return open_record(session, pack, version, channel, contact, actor="mail", now=now)


def _received_at(mail: InboundMail, now: datetime) -> datetime:
    if mail.date is not None and now - TRUSTED_AGE <= mail.date <= now:
        return mail.date
    return now
