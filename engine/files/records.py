"""A record's own files: attach one (checked, stored, a line in the history), list, open.

The bytes go to the disk store before the row is committed: a transaction that then fails
leaves an encrypted file no row names, harmless and never served. A file is opened only
through its record, so an id guessed in a URL opens nothing of another record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.events.base import Event
from engine.files import images
from engine.files.blobs import FileStore
from engine.files.checks import Checked
from engine.records.journal import add_event
from engine.store.models import (
    Record,
    RecordAttachment,
    RecordEvent,
    ThreadAttachment,
    ThreadMessage,
)

ERASED = "[已删除]"


@dataclass(frozen=True)
class FileAttached(Event):
    """Someone attached a file to the record: its shown name, size and detected type."""

    filename: str
    size: int
    content_type: str

    @property
    def kind(self) -> str:
        return "attachment.added"

    def changes(self) -> dict[str, Any]:
        return {"filename": self.filename, "size": self.size, "type": self.content_type}


@dataclass(frozen=True)
class OpenedFile:
    """A file's bytes with what serving them needs: its shown name and its detected type."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


def attach(
    session: Session,
    store: FileStore,
    record: Record,
    file: Checked,
    *,
    actor: str,
    now: datetime,
) -> RecordAttachment:
    """Store `file` (checked before, `checks.check`) on `record`; a picture gets a preview."""
    preview = images.preview(file.data) if file.detected_type in images.PREVIEWED else None
    row = RecordAttachment(
        record_id=record.id,
        filename=file.filename,
        declared_type=file.declared_type,
        detected_type=file.detected_type,
        size=file.size,
        address=store.put(file.data),
        preview_address=None if preview is None else store.put(preview),
        uploaded_by=actor,
        uploaded_at=now,
    )
    session.add(row)
    session.flush()
    add_event(
        session,
        record,
        now,
        FileAttached(file.filename, file.size, file.detected_type),
        actor=actor,
    )
    return row


def listed(session: Session, record_id: int) -> list[RecordAttachment]:
    """The record's files, oldest first (one query; the bytes stay on disk)."""
    return list(
        session.scalars(
            select(RecordAttachment)
            .where(RecordAttachment.record_id == record_id)
            .order_by(RecordAttachment.id)
        )
    )


def names(session: Session, record_ids: list[int]) -> dict[int, list[str]]:
    """Each record's own files by name, oldest first (a customer's data export, R-8.3)."""
    found: dict[int, list[str]] = {}
    if not record_ids:
        return found
    for record_id, filename in session.execute(
        select(RecordAttachment.record_id, RecordAttachment.filename)
        .where(RecordAttachment.record_id.in_(record_ids))
        .order_by(RecordAttachment.id)
    ):
        found.setdefault(record_id, []).append(filename)
    return found


def opened(
    session: Session, store: FileStore, record_id: int, attachment_id: int, *, preview: bool
) -> OpenedFile:
    """File `attachment_id` of record `record_id`, or its preview; NotFound alike for a file
    that does not exist, one of another record, and a preview of a file that has none."""
    row = session.scalar(
        select(RecordAttachment).where(
            RecordAttachment.id == attachment_id, RecordAttachment.record_id == record_id
        )
    )
    if row is None or (preview and row.preview_address is None):
        raise NotFound(f"record {record_id} has no attachment {attachment_id}")
    if preview and row.preview_address is not None:
        return OpenedFile(row.filename, images.PREVIEW_TYPE, store.get(row.preview_address))
    return OpenedFile(row.filename, row.detected_type, store.get(row.address))


def forget(session: Session, record_ids: list[int]) -> set[str]:
    """A customer erased (R-8.3): their records' files go, and their names from the history.

    Deletes the records' own files' rows and returns the addresses of every file of these
    records, their threads' included (whose rows the erasure deletes itself), so that the
    caller can discard those no other row names once the erasure is committed.
    """
    if not record_ids:
        return set()
    own = session.execute(
        select(RecordAttachment.address, RecordAttachment.preview_address).where(
            RecordAttachment.record_id.in_(record_ids)
        )
    ).all()
    threads = session.scalars(
        select(ThreadAttachment.address)
        .join(ThreadMessage, ThreadMessage.id == ThreadAttachment.message_id)
        .where(ThreadMessage.record_id.in_(record_ids), ThreadAttachment.address.is_not(None))
    ).all()
    session.execute(delete(RecordAttachment).where(RecordAttachment.record_id.in_(record_ids)))
    for event in session.scalars(
        select(RecordEvent).where(
            RecordEvent.record_id.in_(record_ids), RecordEvent.kind == "attachment.added"
        )
    ):
        event.changes = {**event.changes, "filename": ERASED}
    return {a for row in own for a in row if a} | {a for a in threads if a}


def unreferenced(session: Session, addresses: set[str]) -> set[str]:
    """Those of `addresses` that no row names any more (identical files share one)."""
    if not addresses:
        return set()
    columns = (
        RecordAttachment.address,
        RecordAttachment.preview_address,
        ThreadAttachment.address,
    )
    named: set[str | None] = set()
    for column in columns:
        named.update(session.scalars(select(column).where(column.in_(addresses))))
    return addresses - named
