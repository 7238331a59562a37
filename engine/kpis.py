"""KPIs of a period (R-4.2, R-4.3), each one SQL aggregate over the records received in it.

CSAT (share of scores 4–5, in %), average score, NPS (−100…+100), first-contact resolution (%),
average response, handling and resolution hours, SLA attainment (%), volume per channel and per
category with shares (the top problems), volume and CSAT per day. The records of a period are
those received in it, so every figure of a review describes the same cohort.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, case, func, literal_column, select
from sqlalchemy.orm import Session

from engine.metrics import seconds_between
from engine.store.models import Record, RecordEvent, SatisfactionAnswer, SlaClock


@dataclass(frozen=True)
class KpiFilter:
    """Which records: received in [start, end), optionally of one pack, channel, team's department
    or category; `exclude_types` leaves out record types that are not service (warning flows)."""

    start: datetime
    end: datetime
    pack: str | None = None
    channel: str | None = None
    department: str | None = None
    category: str | None = None
    exclude_types: tuple[str, ...] = ()
    response_target: str | None = "respond"
    handling_target: str | None = "resolve"
    first_contact: tuple[str, ...] = ()
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class KpiReport:
    values: dict[str, float | None]
    volume: int
    answers: int
    channels: list[tuple[str, int]] = field(default_factory=list)
    categories: list[tuple[str, int, float]] = field(default_factory=list)
    daily: list[tuple[date, int]] = field(default_factory=list)
    daily_csat: list[tuple[date, float]] = field(default_factory=list)


def _where(f: KpiFilter) -> list[ColumnElement[bool]]:
    conditions = [Record.received_at >= f.start, Record.received_at < f.end]
    for name in ("pack", "channel", "department", "category"):
        value = getattr(f, name)
        if value is not None:
            conditions.append(getattr(Record, name) == value)
    if f.exclude_types:
        conditions.append(Record.record_type.not_in(f.exclude_types))
    return conditions


def report(session: Session, f: KpiFilter) -> KpiReport:
    """All the figures of a dashboard or review page: nine aggregate statements."""
    where = _where(f)
    values: dict[str, float | None] = {}
    volume = int(session.scalar(select(func.count(Record.id)).where(*where)) or 0)
    values["volume"] = float(volume)
    values.update(_satisfaction(session, where))
    answers = int(values.pop("answers") or 0)
    values["fcr"] = _fcr(session, where, f.first_contact)
    values["response_hours"] = _clock_hours(session, where, f.response_target)
    values["handling_hours"] = _clock_hours(session, where, f.handling_target)
    resolution = seconds_between(session, Record.received_at, Record.closed_at)
    values["resolution_hours"] = _hours(
        session.scalar(select(func.avg(resolution)).where(*where, Record.closed_at.is_not(None)))
    )
    values["sla_attainment"] = _sla_attainment(session, where)
    channels = [
        (str(c or "—"), int(n))
        for c, n in session.execute(
            select(Record.channel, func.count()).where(*where).group_by(Record.channel)
            .order_by(func.count().desc())
        )
    ]  # fmt: skip
    categories = [
        (str(c or "—"), int(n), n / volume if volume else 0.0)
        for c, n in session.execute(
            select(Record.category, func.count()).where(*where).group_by(Record.category)
            .order_by(func.count().desc())
        )
    ]  # fmt: skip
    day = _day(session, Record.received_at, f)
    daily = [
        (_as_date(d), int(n))
        for d, n in session.execute(
            select(day, func.count()).where(*where).group_by(day).order_by(day)
        )
    ]
    answer_day = _day(session, SatisfactionAnswer.answered_at, f)
    daily_csat = [
        (_as_date(d), float(v) * 100)
        for d, v in session.execute(
            _answers(select(answer_day, func.avg(_satisfied())), where)
            .group_by(answer_day).order_by(answer_day)
        )
    ]  # fmt: skip
    return KpiReport(values, volume, answers, channels, categories, daily, daily_csat)


def _satisfied() -> ColumnElement[Any]:
    return case((SatisfactionAnswer.score >= 4, 1.0), else_=0.0)


def _answers(statement: Select[Any], where: Sequence[ColumnElement[bool]]) -> Select[Any]:
    return (
        statement.select_from(Record)
        .join(SatisfactionAnswer, SatisfactionAnswer.record_id == Record.id)
        .where(*where)
    )


def _satisfaction(
    session: Session, where: Sequence[ColumnElement[bool]]
) -> dict[str, float | None]:
    promoters = case(
        (SatisfactionAnswer.nps >= 9, 1.0), (SatisfactionAnswer.nps.is_(None), None), else_=0.0
    )
    detractors = case(
        (SatisfactionAnswer.nps <= 6, 1.0), (SatisfactionAnswer.nps.is_(None), None), else_=0.0
    )
    row = session.execute(
        _answers(
            select(
                func.count(SatisfactionAnswer.id),
                func.avg(_satisfied()),
                func.avg(SatisfactionAnswer.score),
                func.avg(promoters),
                func.avg(detractors),
            ),
            where,
        )
    ).one()
    count, satisfied, score, promoted, detracted = row
    return {
        "answers": float(count or 0),
        "csat": float(satisfied) * 100 if satisfied is not None else None,
        "satisfaction_avg": float(score) if score is not None else None,
        "nps": (float(promoted) - float(detracted)) * 100 if promoted is not None else None,
    }


def _fcr(
    session: Session, where: Sequence[ColumnElement[bool]], transitions: tuple[str, ...]
) -> float | None:
    """Share (%) of solved records that were solved at the first contact."""
    if not transitions:
        return None
    first = select(RecordEvent.record_id).where(RecordEvent.transition.in_(transitions))
    at_once = case((Record.id.in_(first), 1.0), else_=0.0)
    solved = Record.stage_kind.in_(("resolved", "closed"))
    share = session.scalar(select(func.avg(at_once)).where(*where, solved))
    return float(share) * 100 if share is not None else None


def _clock_hours(
    session: Session, where: Sequence[ColumnElement[bool]], target: str | None
) -> float | None:
    if target is None:
        return None
    took = seconds_between(session, SlaClock.started_at, SlaClock.met_at)
    return _hours(
        session.scalar(
            select(func.avg(took))
            .select_from(Record)
            .join(SlaClock, SlaClock.record_id == Record.id)
            .where(*where, SlaClock.target == target, SlaClock.met_at.is_not(None))
        )
    )


def _sla_attainment(session: Session, where: Sequence[ColumnElement[bool]]) -> float | None:
    """Share (%) of decided SLA clocks (met or breached) met in time."""
    kept = case(
        (
            SlaClock.met_at.is_not(None)
            & SlaClock.breached_at.is_(None)
            & ((SlaClock.deadline.is_(None)) | (SlaClock.met_at <= SlaClock.deadline)),
            1.0,
        ),
        else_=0.0,
    )
    decided = SlaClock.met_at.is_not(None) | SlaClock.breached_at.is_not(None)
    share = session.scalar(
        select(func.avg(kept))
        .select_from(Record)
        .join(SlaClock, SlaClock.record_id == Record.id)
        .where(*where, decided)
    )
    return float(share) * 100 if share is not None else None


def _day(session: Session, column: Any, f: KpiFilter) -> ColumnElement[Any]:
    """The calendar day of a time in the pack's zone, computed by the database."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no zones: the zone's offset at the period's end (China keeps no DST).
        offset = f.end.astimezone(ZoneInfo(f.timezone)).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        return func.date(column, literal_column(f"'{minutes:+d} minutes'"))
    return func.date(func.timezone(f.timezone, column))


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _hours(seconds: Any) -> float | None:
    return float(seconds) / 3600 if seconds is not None else None
