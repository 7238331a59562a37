"""Files on a record's thread (issue #20): a photo of the fault by mail, a manual an agent sends.

The same limits hold for every way in: what a mail brings was checked by the parser
(`mailparts`), what an agent uploads is checked here, both with `mail.ALLOWED_TYPES` and
`mail.MAX_ATTACHMENT_BYTES`. A file a mail brought but the limits refused is not stored; an
internal note under the customer's message names it and says why, so the agent can ask for it
another way. A file is read back only through its record (and, for the API, its message): an
id guessed in a URL opens nothing of another record.

Since issue #21 the bytes go to the disk store (`engine.files.blobs`), encrypted and
content-addressed like a record's own files; files stored before keep their encrypted bytes
in the row, and `_bytes` reads either. An agent's upload is also checked by its content
(`engine.files.checks.detect`): a page renamed `photo.jpg` is refused here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.conversation.mail import ALLOWED_TYPES, MAX_ATTACHMENT_BYTES, Attachment
from engine.conversation.mailparts import GENERIC_TYPES, mime_types, refusal, safe_filename
from engine.errors import InvalidInput, NotFound
from engine.files import blobs
from engine.files.checks import detect
from engine.store.models import ThreadAttachment, ThreadMessage

MAX_FILES = 10
# The parser's reasons (`mailparts.refusal`) in the words of the note an agent reads.
_REASON_WORDS = (
    ("type ", "类型不允许"),
    ("the file name's extension", "扩展名不允许"),
    ("too large", "超过 10 MB"),
)


@dataclass(frozen=True)
class AttachmentInfo:
    """What a thread lists of a file, without its bytes."""

    id: int
    message_id: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class StoredFile:
    """One stored file, opened: what a download serves."""

    id: int
    filename: str
    content_type: str
    size: int
    data: bytes = field(repr=False)


def upload(filename: str, declared_type: str, data: bytes, number: int = 1) -> Attachment:
    """An agent's file as an `Attachment`, or InvalidInput saying why it is refused.

    The browser's type is believed only where it names something; else the name's extension
    decides. The extension must agree with the allowed types too ("x.pdf.exe" is no PDF).
    """
    name = safe_filename(filename, declared_type, number)
    content_type = (declared_type or "").split(";", 1)[0].strip().lower()
    if content_type in GENERIC_TYPES:
        guessed, _ = mime_types().guess_type(name, strict=False)
        content_type = (guessed or "application/octet-stream").lower()
    reason = refusal(name, content_type, len(data), MAX_ATTACHMENT_BYTES, ALLOWED_TYPES)
    detected = detect(data)
    if reason is None and detected not in ALLOWED_TYPES:
        reason = "type of the content is not allowed"
    if reason is not None:
        hint = "file too large" if reason.startswith("too large") else "file type not allowed"
        raise InvalidInput(f"{name}: {reason}", fields={"attachments": hint})
    return Attachment(name, detected or content_type, len(data), data)


def by_content(
    files: Sequence[Attachment],
) -> tuple[list[Attachment], list[tuple[str, str]]]:
    """A mail's files the parser let through, checked by their content too: those whose bytes
    are of an allowed type (typed as they are), and (name, reason) for the others, so that a
    page sent as `photo.jpg` is named in the note, not stored."""
    kept: list[Attachment] = []
    refused: list[tuple[str, str]] = []
    for file in files:
        detected = detect(file.data)
        if detected in ALLOWED_TYPES:
            kept.append(Attachment(file.filename, detected, file.size, file.data))
        else:
            refused.append((file.filename, f"type {detected or 'unknown'} is not allowed"))
    return kept, refused


def attach(
    session: Session, message: ThreadMessage, files: Sequence[Attachment], now: datetime
) -> None:
    """Store `files` on `message` (checked before: by the parser or by `upload`)."""
    if len(files) > MAX_FILES:
        raise InvalidInput(
            f"at most {MAX_FILES} files on one message", fields={"attachments": "too many files"}
        )
    store = blobs.current()
    for file in files:
        session.add(
            ThreadAttachment(
                message_id=message.id,
                filename=file.filename,
                content_type=file.content_type,
                size=file.size,
                address=store.put(file.data),
                created_at=now,
            )
        )
    session.flush()


def refused_note(refused: Iterable[tuple[str, str]]) -> str | None:
    """The internal note naming what a mail brought but was not stored, or None for nothing."""
    lines = [f"附件未保存：{name}（{_reason_words(reason)}）" for name, reason in refused]
    if not lines:
        return None
    return "\n".join([*lines, "如需这些文件，请联系客户以其他格式或方式重新发送。"])


def _reason_words(reason: str) -> str:
    for start, words in _REASON_WORDS:
        if reason.startswith(start):
            return words
    return reason


def listed(session: Session, message_ids: Sequence[int]) -> dict[int, list[AttachmentInfo]]:
    """The files of these messages by message id, oldest first; their bytes stay unread."""
    found: dict[int, list[AttachmentInfo]] = {}
    if not message_ids:
        return found
    rows = session.execute(
        select(
            ThreadAttachment.id,
            ThreadAttachment.message_id,
            ThreadAttachment.filename,
            ThreadAttachment.content_type,
            ThreadAttachment.size,
        )
        .where(ThreadAttachment.message_id.in_(message_ids))
        .order_by(ThreadAttachment.id)
    ).all()
    for row in rows:
        found.setdefault(row.message_id, []).append(AttachmentInfo(*row))
    return found


def fetch(
    session: Session, record_id: int, attachment_id: int, message_id: int | None = None
) -> StoredFile:
    """File `attachment_id` of record `record_id` (and of message `message_id` if given).

    NotFound alike for a file that does not exist and one of another record or message.
    """
    query = (
        select(ThreadAttachment)
        .join(ThreadMessage, ThreadMessage.id == ThreadAttachment.message_id)
        .where(ThreadAttachment.id == attachment_id, ThreadMessage.record_id == record_id)
    )
    if message_id is not None:
        query = query.where(ThreadAttachment.message_id == message_id)
    found = session.scalar(query)
    if found is None:
        raise NotFound(f"record {record_id} has no attachment {attachment_id}")
    return StoredFile(found.id, found.filename, found.content_type, found.size, _bytes(found))


def outgoing(session: Session, outbox_id: int) -> list[StoredFile]:
    """The files of the reply outbox row `outbox_id` sends, opened, for the mail to carry.

    Found through the thread message that points to the row, so a resent reply carries its
    files again and a row without a message (a notification) carries none.
    """
    rows = session.scalars(
        select(ThreadAttachment)
        .join(ThreadMessage, ThreadMessage.id == ThreadAttachment.message_id)
        .where(ThreadMessage.outbox_id == outbox_id)
        .order_by(ThreadAttachment.id)
    )
    return [StoredFile(f.id, f.filename, f.content_type, f.size, _bytes(f)) for f in rows]


def _bytes(row: ThreadAttachment) -> bytes:
    """The file's bytes: from the disk store, or from the row for a file stored before it."""
    if row.address is not None:
        return blobs.current().get(row.address)
    return row.data or b""
