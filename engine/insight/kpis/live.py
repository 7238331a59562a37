"""The parts of a KPI range read from the records: every day the rollup does not answer for.

A range's records outside its rolled days (`live_where`) are summed by the same statements the
rollup stores (`parts`), grouped the way the report adds them up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, RowMapping, and_, func, or_, select
from sqlalchemy.orm import Session

from engine.insight.kpis.cohort import KpiFilter, dims, records_where
from engine.insight.kpis.days import day_span, filter_day, runs
from engine.insight.kpis.parts import answer_sums, clock_sums, record_sums
from engine.store.models import Record, SatisfactionAnswer

Where = Sequence[ColumnElement[bool]]


def live_where(f: KpiFilter, rolled: Sequence[date]) -> list[ColumnElement[bool]] | None:
    """The filter's records outside the rolled days: the range minus their spans (None: none)."""
    if not rolled:
        return records_where(f)
    zone = ZoneInfo(f.timezone)
    gaps, cursor = [], f.start
    for first, last in runs(rolled):
        begin, end = day_span(first, zone)[0], day_span(last, zone)[1]
        if cursor < begin:
            gaps.append((cursor, begin))
        cursor = end
    if cursor < f.end:
        gaps.append((cursor, f.end))
    if not gaps:
        return None
    within = or_(*(and_(Record.received_at >= a, Record.received_at < b) for a, b in gaps))
    return [within, *dims(f, Record)]


def live_records(session: Session, f: KpiFilter, where: Where) -> list[RowMapping]:
    """Record and clock parts per channel and category."""
    keys = [Record.channel.label("channel"), Record.category.label("category")]
    rows = list(session.execute(record_sums(session, f, where, keys)).mappings())
    return rows + list(session.execute(clock_sums(session, f, where, keys)).mappings())


def live_days(session: Session, f: KpiFilter, where: Where) -> list[tuple[Any, int]]:
    """Records received per day."""
    day = filter_day(session, Record.received_at, f)
    statement = select(day, func.count()).where(*where).group_by(day)
    return [(d, n) for d, n in session.execute(statement)]


def live_answers(session: Session, f: KpiFilter, where: Where) -> list[RowMapping]:
    """Answer parts per day answered."""
    keys = [filter_day(session, SatisfactionAnswer.answered_at, f).label("answer_day")]
    return list(session.execute(answer_sums(session, where, keys, f.cutoffs)).mappings())
