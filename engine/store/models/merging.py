"""What merging two records and two agents on one record leave behind (issue #21).

A merge is a row of its own rather than a column on `records`: the record keeps its history
untouched, the survivor's page finds what was merged into it by one indexed lookup, and the
big records table is not rewritten to add a column most rows never use. Presence is a row per
(record, person), refreshed by the record page's heartbeat and read only while it is fresh.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Model


class RecordMerge(Model):
    """Record `record_id` was closed as merged into `merged_into`, by `actor`, at `merged_at`.

    One row per merged record (it is the key): a record is merged once, as it is closed then.
    """

    __tablename__ = "record_merges"

    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), primary_key=True)
    merged_into: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    merged_at: Mapped[datetime]


class RecordViewer(Model):
    """Someone has the record's page open: `seen_at` is their page's last heartbeat."""

    __tablename__ = "record_viewers"

    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), primary_key=True)
    username: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[datetime]
