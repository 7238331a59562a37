"""What the queue's search reads: each record's non-personal text as segmented words.

A table of its own rather than a column on `records`: the hot table stays as narrow as the
queue index needs, and the words are written only when a record's text changes.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Model


class RecordSearchDoc(Model):
    """One record's searchable words: jieba's words of its non-personal text fields.

    `tokens` holds the words joined by spaces, as `SearchDoc` does for the knowledge base.
    SQLite matches them through the FTS5 table `search_fts_records` (rowid = record id, kept
    in step by triggers), PostgreSQL through a stored `search_vector` tsvector with a GIN
    index; both live only in migration 0025, as neither dialect can declare the other's.
    Personal fields (a contact, a masked name: `FieldSpec.is_personal`) never get here.
    """

    __tablename__ = "record_search_docs"

    record_id: Mapped[int] = mapped_column(
        ForeignKey("records.id"), primary_key=True, autoincrement=False
    )
    tokens: Mapped[str] = mapped_column(Text)
