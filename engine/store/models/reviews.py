"""The weekly and monthly reviews as built and mailed (R-4.2): one row per pack, kind, period."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Model


class ReviewRun(Model):
    """A review built for one period and queued to its recipients, with what they were sent.

    Unique per (pack, kind, period start): two schedulers building the same review race on
    the insert, and the loser sends nothing, so each period is mailed exactly once.
    """

    __tablename__ = "review_runs"
    __table_args__ = (
        UniqueConstraint("pack", "kind", "period_start", name="uq_review_runs_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # weekly | monthly
    period_start: Mapped[date]
    period_end: Mapped[date]  # the last day of the period, included
    built_at: Mapped[datetime]
    recipients: Mapped[list[Any]]
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
