"""Inbound email read into plain values: who wrote, about which record, what is new, which files.

`read_mail` is pure (bytes in, an `InboundMail` out; no database, no network), so the IMAP
poller and `careloop mail-in` share it and tests feed it real messages (issue #20, R-1.1).
It leans on the stdlib `email` package with the modern policy; what it adds is what real
Chinese mail needs (see `mailtext`), safe text from HTML (`htmltext`), the new part of a
reply (`quoting`), attachment limits (`mailparts`) and the signs of mail no person wrote,
which must never open a record nor be answered, or two robots would write to each other
forever. The record reference in a subject has one format, kept here for both directions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.errors import MessageError
from email.message import EmailMessage
from email.policy import default as POLICY
from email.utils import getaddresses, parsedate_to_datetime

from engine.conversation.mailparts import Attachment, body_text, files_of
from engine.conversation.mailtext import clean, header, header_text
from engine.conversation.quoting import reply_part
from engine.errors import CareloopError

__all__ = [
    "ALLOWED_TYPES",
    "MAX_ATTACHMENT_BYTES",
    "REFERENCE",
    "Attachment",
    "InboundMail",
    "MailUnreadable",
    "read_mail",
    "reference_in",
    "subject_with_reference",
]

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
_OOXML = "application/vnd.openxmlformats-officedocument"
# What customers send a service desk: photos, scans, PDFs, office documents and text.
ALLOWED_TYPES = frozenset(
    {
        "image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/heic",
        "image/heif", "image/tiff", "application/pdf", "application/msword",
        f"{_OOXML}.wordprocessingml.document", "application/vnd.ms-excel",
        f"{_OOXML}.spreadsheetml.sheet", "application/vnd.ms-powerpoint",
        f"{_OOXML}.presentationml.presentation", "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet", "application/rtf",
        "text/plain", "text/csv",
    }
)  # fmt: skip
# The record reference in a subject: "[CL-123]" as we write it, "[#123]" as people type it.
REFERENCE = re.compile(r"\[\s*(?:CL-|#)\s*(\d{1,12})\s*\]", re.IGNORECASE)
REFERENCE_FORMAT = "[CL-{record_id}]"
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_AUTOMATIC_SENDERS = frozenset({"mailer-daemon", "postmaster"})
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})


class MailUnreadable(CareloopError, ValueError):
    """Bytes that are no email at all (no header fields), or that the stdlib parser chokes on.

    The poller keeps such a message aside for a person instead of retrying it forever.
    """


@dataclass(frozen=True)
class InboundMail:
    """One inbound email as values: every string clean text, never raw markup or bytes.

    `text` is the whole body as plain text; `reply_text` only the new part, quoted history
    trimmed. `is_automatic` says a machine wrote it (an autoreply, a bounce, a list), and
    `automatic_reason` which header or part says so. `record_reference` is the record id
    found in the subject, if any.
    """

    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    sender_address: str
    sender_name: str
    reply_to: tuple[str, ...]
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None
    text: str
    reply_text: str
    attachments: tuple[Attachment, ...]
    refused_attachments: tuple[tuple[str, str], ...]
    is_automatic: bool
    automatic_reason: str
    record_reference: int | None


def reference_in(subject: str) -> int | None:
    """The record id a subject refers to ("Re: 屏幕坏了 [CL-123]" gives 123), or None."""
    found = REFERENCE.search(subject)
    return int(found.group(1)) if found else None


def subject_with_reference(subject: str, record_id: int) -> str:
    """`subject` carrying record `record_id`'s reference once, at its end, for outbound mail."""
    bare = " ".join(REFERENCE.sub(" ", subject).split())
    tag = REFERENCE_FORMAT.format(record_id=record_id)
    return f"{bare} {tag}" if bare else tag


def _message_ids(message: EmailMessage, name: str) -> tuple[str, ...]:
    return tuple(_MESSAGE_ID.findall(header_text(message, name)))


def _addresses(message: EmailMessage, name: str) -> tuple[tuple[str, str], ...]:
    """(address, display name) pairs of an address header; unparseable entries left out."""
    found = header(message, name)
    if found is None:
        return ()
    if hasattr(found, "addresses"):
        pairs = tuple((a.addr_spec, a.display_name) for a in found.addresses)
    else:  # the structured parser failed on it: the lenient legacy one gets a try
        pairs = tuple((addr, name) for name, addr in getaddresses([str(found)]))
    cleaned = ((clean(addr).strip(), " ".join(clean(name).split())) for addr, name in pairs)
    return tuple((addr, name) for addr, name in cleaned if "@" in addr)


def _date(message: EmailMessage) -> datetime | None:
    """The Date header as an aware time; "-0000" (zone unknown) is taken as UTC."""
    raw = header_text(message, "date")
    try:
        parsed = parsedate_to_datetime(raw) if raw else None
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _automatic_reason(message: EmailMessage, sender: str) -> str:
    """Which sign says no person wrote this mail (RFC 3834, RFC 2369, RFC 3464), or ""."""
    submitted = header_text(message, "auto-submitted")
    if submitted and submitted.split(";")[0].strip().lower() != "no":
        return f"Auto-Submitted: {submitted}"
    for name in ("x-autoreply", "x-autorespond", "list-id", "list-unsubscribe"):
        if header(message, name) is not None:
            return f"{name.title()} header"
    precedence = header_text(message, "precedence").lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    if header_text(message, "return-path").replace(" ", "") == "<>":
        return "Return-Path: <> (a bounce)"
    if sender.split("@")[0].lower() in _AUTOMATIC_SENDERS:
        return f"sent by {sender}"
    if message.get_content_type() == "multipart/report":
        kind = clean(str(message.get_param("report-type") or "report"))
        return f"multipart/report ({kind})"
    return ""


def _parse(raw: bytes) -> EmailMessage:
    if not isinstance(raw, bytes | bytearray) or not raw.strip():
        raise MailUnreadable("the message is empty: give one RFC 5322 message as bytes")
    message = message_from_bytes(bytes(raw), policy=POLICY)
    if not isinstance(message, EmailMessage) or not message.keys():
        raise MailUnreadable("no header fields found: this is not an RFC 5322 message")
    return message


def _read(raw: bytes, max_attachment_bytes: int, allowed_types: frozenset[str]) -> InboundMail:
    message = _parse(raw)
    senders = _addresses(message, "from") or _addresses(message, "sender")
    sender, name = senders[0] if senders else ("", "")
    subject = header_text(message, "subject")
    text = body_text(message)
    files = files_of(message, max_attachment_bytes, allowed_types)
    reason = _automatic_reason(message, sender)
    ids = _message_ids(message, "message-id")
    replied = _message_ids(message, "in-reply-to")
    return InboundMail(
        message_id=ids[0] if ids else None,
        in_reply_to=replied[0] if replied else None,
        references=_message_ids(message, "references"),
        subject=subject,
        sender_address=sender,
        sender_name=name,
        reply_to=tuple(addr for addr, _ in _addresses(message, "reply-to")),
        to=tuple(addr for addr, _ in _addresses(message, "to")),
        cc=tuple(addr for addr, _ in _addresses(message, "cc")),
        date=_date(message),
        text=text,
        reply_text=reply_part(text),
        attachments=files.kept,
        refused_attachments=files.refused,
        is_automatic=bool(reason),
        automatic_reason=reason,
        record_reference=reference_in(subject),
    )


def read_mail(
    raw: bytes,
    *,
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES,
    allowed_types: frozenset[str] = ALLOWED_TYPES,
) -> InboundMail:
    """Read one RFC 5322 message (as an MTA pipes it, or IMAP fetches it) into values.

    Bad bytes become U+FFFD and odd structure is read as well as it can be; the only error
    is `MailUnreadable`, raised for input with no header fields or that the stdlib parser
    itself fails on (its failures are wrapped, so callers catch one exception).
    """
    try:
        return _read(raw, max_attachment_bytes, allowed_types)
    except MailUnreadable:
        raise
    except (MessageError, LookupError, ValueError, TypeError, AttributeError) as error:
        raise MailUnreadable(f"the message could not be parsed: {error}") from error
    except (UnicodeError, RecursionError, AssertionError) as error:
        raise MailUnreadable(f"the message could not be parsed: {error}") from error
