"""What people hang on a record beside its fields: tags and followers (issue #21, item 2).

Neither is part of the record's row, so tagging or following never makes another agent's
open form stale (`row_version`); each change still leaves a line in the record's history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Model


class RecordTag(Model):
    """One tag on one record; the queue's tag filter reads `ix_record_tags_tag`."""

    __tablename__ = "record_tags"
    __table_args__ = (Index("ix_record_tags_tag", "tag", "record_id"),)

    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime]


class RecordFollower(Model):
    """A staff user told of the record's changes (stage, owner, priority, customer messages)."""

    __tablename__ = "record_followers"

    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    created_at: Mapped[datetime]
