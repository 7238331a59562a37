"""What customers did on their own (issue #23): each question the knowledge base answered before a
record was made, each hand-over to a person, each "was this helpful" vote.

One append-only row per outcome, so the figures a service manager is judged on (answered without
a record, per article and per question, per day) are a GROUP BY, and the rollup can re-read any day.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
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


class SelfServiceDaily(Model):
    """One closed day's count of one outcome (kind, source, article, question) of one pack.

    Outcomes are append-only rows written at the engine's now, so a closed day never changes:
    it is rolled once (engine.selfservice.rollup) and the dashboard reads it from here, reading
    only the days since from `selfservice_outcomes` (issue #23 item 6).
    """

    __tablename__ = "selfservice_daily"
    __table_args__ = (Index("ix_selfservice_daily_day", "pack", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(String(64))
    day: Mapped[date]  # in the pack's reporting zone
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("kb_articles.id"))
    query: Mapped[str | None] = mapped_column(String(200))
    count: Mapped[int]


class SelfServiceRolled(Model):
    """How far a pack's self-service outcomes are rolled up, and in which zone its days were cut."""

    __tablename__ = "selfservice_rolled"

    pack: Mapped[str] = mapped_column(String(64), primary_key=True)
    through: Mapped[date]  # the last closed day rolled up
    timezone: Mapped[str] = mapped_column(String(64))
    rolled_at: Mapped[datetime]
