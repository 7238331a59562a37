"""What reviews and dashboards read: early warnings, improvement actions, the daily rollup."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.store.models.base import Model

if TYPE_CHECKING:
    from engine.store.models.records import Record


class EarlyWarning(Model):
    """A warning a monitor or a member of staff raised (R-6.1, R-6.2), handled as a record (R-6.3).

    At most one open warning per pack, monitor and scope: a monitor that keeps firing raises
    the level of the open one instead of adding another.
    """

    __tablename__ = "early_warnings"
    __table_args__ = (
        Index(
            "uq_early_warnings_open",
            "pack",
            "monitor",
            "scope",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(String(64))
    monitor: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))  # monitor | staff
    level: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None]
    reference: Mapped[float | None]
    raised_by: Mapped[str] = mapped_column(String(128))
    opened_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    escalated_at: Mapped[datetime | None]
    notified_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"), index=True)

    record: Mapped[Record | None] = relationship()


class ImprovementAction(Model):
    """A change a department makes, the metric it should move, before and after (R-7)."""

    __tablename__ = "improvement_actions"
    __table_args__ = (
        Index("ix_improvement_actions_due", "measured_at", "deadline"),
        # A frequent problem becomes one action per department and category while it is
        # open (not yet measured): schedulers racing to raise it insert one row.
        Index(
            "uq_improvement_actions_open",
            "pack",
            "department",
            "category",
            unique=True,
            sqlite_where=text("measured_at IS NULL AND department IS NOT NULL"),
            postgresql_where=text("measured_at IS NULL AND department IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(128))
    deadline: Mapped[datetime]
    metric: Mapped[str] = mapped_column(String(64))
    window_days: Mapped[int]
    value_before: Mapped[float | None]
    value_after: Mapped[float | None]
    measured_at: Mapped[datetime | None]
    warning_id: Mapped[int | None] = mapped_column(ForeignKey("early_warnings.id"), index=True)
    category: Mapped[str | None] = mapped_column(String(64))
    # The responsible department (the pack's `departments`), for an action a frequent
    # problem raised; None for one a supervisor wrote with a free-text owner.
    department: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class DailyRollup(Model):
    """The additive parts of every dashboard figure for one pack, received day and group.

    Sums and counts, never averages, so any range of days and any grouping adds up to the
    figures `engine.insight.kpis.report` computes from the records themselves. A row holds
    the record
    parts (volume, closings, FCR), the SLA clock parts (clock hours, SLA attainment), or, with
    an `answer_day`, the parts of the answers given that day (the CSAT per day is by the day
    of the answer); the other columns are 0, so every column sums over all rows.
    Written by `engine.insight.rollup` for the days `RollupDay` lists; read together with them.
    """

    __tablename__ = "daily_rollup"
    __table_args__ = (Index("ix_daily_rollup_day", "pack", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(String(64))
    day: Mapped[date]  # the day the records were received, in the pack's reporting zone
    record_type: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(64))
    answer_day: Mapped[date | None]
    records: Mapped[int] = mapped_column(default=0)
    closed: Mapped[int] = mapped_column(default=0)
    resolution_seconds: Mapped[float] = mapped_column(default=0.0)
    solved: Mapped[int] = mapped_column(default=0)
    solved_first: Mapped[int] = mapped_column(default=0)
    response_met: Mapped[int] = mapped_column(default=0)
    response_seconds: Mapped[float] = mapped_column(default=0.0)
    handling_met: Mapped[int] = mapped_column(default=0)
    handling_seconds: Mapped[float] = mapped_column(default=0.0)
    sla_decided: Mapped[int] = mapped_column(default=0)
    sla_kept: Mapped[int] = mapped_column(default=0)
    answers: Mapped[int] = mapped_column(default=0)
    satisfied: Mapped[int] = mapped_column(default=0)
    scored: Mapped[int] = mapped_column(default=0)
    score_sum: Mapped[int] = mapped_column(default=0)
    nps_answers: Mapped[int] = mapped_column(default=0)
    promoters: Mapped[int] = mapped_column(default=0)
    detractors: Mapped[int] = mapped_column(default=0)


class RollupDay(Model):
    """One rolled-up day of a pack: when, and read how (zone, targets, first-contact transitions).

    A day with no records has a row here and none in `daily_rollup`; a day without a row here
    is read from the records. Locked while its rollup rows are replaced, so two schedulers
    rolling the same day take turns instead of writing it twice.
    """

    __tablename__ = "rollup_days"

    pack: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    response_target: Mapped[str | None] = mapped_column(String(64))
    handling_target: Mapped[str | None] = mapped_column(String(64))
    first_contact: Mapped[list[Any]]
    # The satisfaction cut-offs it counted by (satisfied, promoter, detractor); None: 4, 9, 6,
    # the fixed ones of days rolled up before they were pack data.
    cutoffs: Mapped[list[Any] | None]
    # The scheduler's time when it read the day: changes from then on make the day stale.
    rolled_at: Mapped[datetime]
