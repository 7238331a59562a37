"""An agent's own canned responses (issue #21): texts only they insert from the reply box.

The pack's canned responses are pack data (`engine.specs.canned`); these are each agent's,
kept by username, with the same variables and the same sandbox checks when saved.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Model


class CannedResponse(Model):
    """One agent's canned text: a title to find it by and a body rendered for each record."""

    __tablename__ = "canned_responses"
    __table_args__ = (Index("ix_canned_responses_owner", "owner", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))  # the agent's username
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text())
    created_at: Mapped[datetime]
