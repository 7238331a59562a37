"""What customers did on their own (issue #23): each question the knowledge base answered before a
record was made, each hand-over to a person, each "was this helpful" vote.

One append-only row per outcome, so the figures a service manager is judged on (answered without
a record, per article and per question, per day) are a GROUP BY, and the rollup can re-read any day.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Model


class SelfServiceOutcome(Model):
    """`kind` happened on `source` at `at`: see engine.selfservice.outcomes for the vocabulary."""

    __tablename__ = "selfservice_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The pack whose portal it was (the shop); None when the portal serves no single pack.
    pack: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    # The customer's words with digits runs blanked (engine.selfservice.outcomes.clean_query).
    query: Mapped[str | None] = mapped_column(String(200))
    # The record a hand-over created, so the queue's record and the figure meet.
    record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"))
    at: Mapped[datetime] = mapped_column(index=True)
