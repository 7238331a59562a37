"""A record's own files (issue #21, item 3): a photo of the fault, a receipt, a signed form.

The bytes live encrypted in the disk store (`engine.files.blobs`), named by `address`; the row
says what a list shows without opening the file. `detected_type` is what the content is (and
what the file is served as); `declared_type` only what the uploader's browser claimed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Model


class RecordAttachment(Model):
    """One file attached to a record, with who uploaded it and when."""

    __tablename__ = "record_attachments"
    __table_args__ = (Index("ix_record_attachments_record", "record_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    filename: Mapped[str] = mapped_column(String(200))  # sanitised, shown only, never a path
    declared_type: Mapped[str] = mapped_column(String(127))
    detected_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(64))
    # A re-encoded preview of a picture (`engine.files.images`), None for other files.
    preview_address: Mapped[str | None] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(128))
    uploaded_at: Mapped[datetime]
