"""A record's thread: what the customer wrote, what was answered, and internal notes.

The text is personal data and stored encrypted. An outbound message's delivery state is
not copied here: it is its outbox row's (queued, sent, failed), read together with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Model
from engine.store.types import EncryptedText


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
