"""The parts of a KPI range read from `daily_rollup`, and which days it may answer for.

A day qualifies when it lies wholly in the range, was rolled up reading records the way the
filter does, and no record received on it changed since. Its parts are then a few rows per day
instead of every record of it (a year is a few thousand rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, RowMapping, and_, func, or_, select
from sqlalchemy.orm import Session

from engine.insight.kpis.cohort import KpiFilter, dims
from engine.insight.kpis.days import fixed_offset, runs, whole_days
from engine.insight.kpis.parts import ANSWER_PARTS, CLOCK_PARTS, RECORD_PARTS
from engine.specs.economics import Cutoffs
from engine.store.models import DailyRollup, Record, RollupDay

# A change to a record takes its `now` before it commits; the rollup treats a day as touched
# if a record of it changed up to this long before the day was read, so a transaction that
# was still open then is never missed.
STALE_MARGIN = timedelta(minutes=10)
# Days rolled up before `rollup_days.cutoffs` existed counted by the then fixed cut-offs.
BEFORE_CUTOFFS = Cutoffs().reading()


def reading_matches(day: RollupDay, f: KpiFilter) -> bool:
    """Was the day rolled up reading records the way the filter does (zone, targets, FCR,
    satisfaction cut-offs)?"""
    return (
        list(day.cutoffs or BEFORE_CUTOFFS) == f.cutoffs.reading()
        and day.timezone == f.timezone
        and day.response_target == f.response_target
        and day.handling_target == f.handling_target
        and sorted(day.first_contact) == sorted(f.first_contact)
    )


def usable_days(session: Session, f: KpiFilter) -> list[date]:
    """The days of the range the rollup answers for exactly.

    A day qualifies when it lies wholly in [start, end), was rolled up with the filter's
    reading, and no record received on it changed since (`updated_at` moves with the record,
    its clocks and its answer). On SQLite, which has no zones, the live statements use the
    zone's offset at the end of the range: only days with that same offset qualify there.
    """
    if f.pack is None:
        return []  # one pack, one reporting zone: across packs the records are read
    zone = ZoneInfo(f.timezone)
    whole = whole_days(f, zone)
    if not whole:
        return []
    if session.get_bind().dialect.name == "sqlite":
        offset = f.end.astimezone(zone).utcoffset()
        whole = [d for d in whole if fixed_offset(d, zone) == offset]
    wanted = set(whole)
    states = {
        state.day: state
        for state in session.scalars(
            select(RollupDay).where(
                RollupDay.pack == f.pack, RollupDay.day >= whole[0], RollupDay.day <= whole[-1]
            )
        )
        if state.day in wanted and reading_matches(state, f)
    }
    if not states:
        return []
    stale = touched_days(session, f.pack, zone, states)
    return sorted(d for d in states if d not in stale)


def touched_days(
    session: Session, pack: str, zone: ZoneInfo, states: Mapping[date, RollupDay]
) -> set[date]:
    """Rolled days with a record that changed since (or just before) the day was read."""
    if not states:
        return set()
    since = min(s.rolled_at for s in states.values()) - STALE_MARGIN
    # Only `updated_at` bounds the statement: with a bound on `received_at` too, the planner
    # may walk the whole period in `ix_records_received` instead of the few changes since.
    statement = select(Record.received_at, Record.updated_at).where(
        Record.updated_at >= since, Record.pack == pack
    )
    touched = set()
    for received, updated in session.execute(statement):
        day = received.astimezone(zone).date()
        state = states.get(day)
        if state is not None and updated >= state.rolled_at - STALE_MARGIN:
            touched.add(day)
    return touched


def rolled_where(f: KpiFilter, days: Sequence[date]) -> list[ColumnElement[bool]]:
    spans = or_(*(and_(DailyRollup.day >= a, DailyRollup.day <= b) for a, b in runs(days)))
    return [spans, *dims(f, DailyRollup)]


def rolled_records(session: Session, f: KpiFilter, days: Sequence[date]) -> list[RowMapping]:
    if not days:
        return []
    keys = [DailyRollup.channel, DailyRollup.category]
    statement = (
        select(
            *keys,
            *(func.sum(getattr(DailyRollup, n)).label(n) for n in RECORD_PARTS + CLOCK_PARTS),
        )
        .where(*rolled_where(f, days), DailyRollup.answer_day.is_(None))
        .group_by(*keys)
    )
    return list(session.execute(statement).mappings())


def rolled_days(session: Session, f: KpiFilter, days: Sequence[date]) -> list[tuple[Any, int]]:
    if not days:
        return []
    statement = (
        select(DailyRollup.day, func.sum(DailyRollup.records))
        .where(*rolled_where(f, days), DailyRollup.answer_day.is_(None))
        .group_by(DailyRollup.day)
    )
    return [(d, n) for d, n in session.execute(statement)]


def rolled_answers(session: Session, f: KpiFilter, days: Sequence[date]) -> list[RowMapping]:
    if not days:
        return []
    statement = (
        select(
            DailyRollup.answer_day,
            *(func.sum(getattr(DailyRollup, n)).label(n) for n in ANSWER_PARTS),
        )
        .where(*rolled_where(f, days), DailyRollup.answer_day.is_not(None))
        .group_by(DailyRollup.answer_day)
    )
    return list(session.execute(statement).mappings())
