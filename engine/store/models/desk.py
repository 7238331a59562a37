"""What the desk keeps per person: the queue views an agent saved, alone or for the team."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Model


class SavedView(Model):
    """A named filter set of the queue: the owner's own, or shown to a whole team (issue #21).

    The filters are kept as the queue's query string, so a view is exactly the page its
    owner saw and the parser that guards the queue's arguments guards the saved ones too.
    """

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(128), index=True)
    # None: only the owner sees it; a team: every member sees it (and its count).
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    query: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime]
