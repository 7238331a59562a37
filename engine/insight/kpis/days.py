"""Calendar days of a reporting zone: their UTC spans, offsets, runs, and the database's day.

A KPI range is cut into the pack zone's days: whole ones may come from the rollup, and the
rest are read from the records. China keeps no DST, but other zones' days last 23 or 25 hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, literal_column
from sqlalchemy.orm import Session

from engine.insight.kpis.cohort import KpiFilter


def day_span(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in a zone, as UTC instants (23 or 25 hours across DST)."""
    start = datetime.combine(day, time(), zone).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)


def whole_days(f: KpiFilter, zone: ZoneInfo) -> list[date]:
    """The days of the zone that lie wholly inside [start, end)."""
    days: list[date] = []
    day = f.start.astimezone(zone).date()
    while True:
        start, end = day_span(day, zone)
        if end > f.end:
            return days
        if start >= f.start:
            days.append(day)
        day += timedelta(days=1)


def fixed_offset(day: date, zone: ZoneInfo) -> timedelta | None:
    """The zone's offset through the day, or None on a day it changes (DST)."""
    start, end = day_span(day, zone)
    first = start.astimezone(zone).utcoffset()
    last = (end - timedelta(microseconds=1)).astimezone(zone).utcoffset()
    return first if last == first else None


def runs(days: Sequence[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs: a year of rolled days is one range."""
    found: list[tuple[date, date]] = []
    for day in sorted(days):
        if found and found[-1][1] + timedelta(days=1) == day:
            found[-1] = (found[-1][0], day)
        else:
            found.append((day, day))
    return found


def filter_day(session: Session, column: Any, f: KpiFilter) -> ColumnElement[Any]:
    """The day of a time as the filter reads it: in its zone, as of the end of its range."""
    return day_of(session, column, f.timezone, f.end)


def day_of(session: Session, column: Any, timezone: str, at: datetime) -> ColumnElement[Any]:
    """The calendar day of a time in the pack's zone, computed by the database."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no zones: the zone's offset at `at` (the period's end; China keeps no DST).
        offset = at.astimezone(ZoneInfo(timezone)).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        return func.date(column, literal_column(f"'{minutes:+d} minutes'"))
    return func.date(func.timezone(timezone, column))


def as_date(value: Any) -> date:
    """A day as the database returns it: a date, or ISO text on SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
