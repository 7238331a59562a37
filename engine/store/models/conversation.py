"""A record's thread: what the customer wrote, what was answered, and internal notes.

The text and the attached files are personal data and stored encrypted. An outbound
message's delivery state is not copied here: it is its outbox row's (queued, sent, failed),
read together with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Model
from engine.store.types import EncryptedBytes, EncryptedText


class ThreadMessage(Model):
    """One message of a record's thread: `in` from the customer, `out` to them, or a `note`."""

    __tablename__ = "thread_messages"
    __table_args__ = (
        Index("ix_thread_messages_record", "record_id", "id"),
        # The same channel message (an email's Message-ID) joins the thread once.
        UniqueConstraint("channel", "external_id", name="uq_thread_messages_external"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    direction: Mapped[str] = mapped_column(String(8))  # in, out, note
    channel: Mapped[str | None] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(EncryptedText())
    external_id: Mapped[str | None] = mapped_column(String(300))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id"))
    created_at: Mapped[datetime]


class ThreadAttachment(Model):
    """A file that came with a message (a photo of the fault) or that an agent attached.

    Only files within the size and type limits are stored (`engine.conversation.mail`); the
    name and type are kept plain so a thread lists them unopened. Since issue #21 the bytes
    live encrypted in the disk store (`engine.files.blobs`) at `address`; rows stored before
    keep theirs encrypted in `data`, and both are read.
    """

    __tablename__ = "thread_attachments"
    __table_args__ = (Index("ix_thread_attachments_message", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("thread_messages.id"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes | None] = mapped_column(EncryptedBytes())
    address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
