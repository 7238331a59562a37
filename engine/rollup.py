"""The daily rollup: each closed day's additive KPI parts, written set-based for the dashboard.

A day is rolled up by the day its records were received, in the pack's reporting zone: one
`INSERT … SELECT … GROUP BY` for the record parts and one for the answer parts, after deleting
the day's old rows, in the transaction that locks the day's `rollup_days` row.

What a "closed day" is: any day before today in the pack's zone. Its records can still change
(closed, answered or breached later, or received late with a past `received_at`), so a day is
rolled again when a record received on it has `updated_at` at or after the day was read (less
`kpis.STALE_MARGIN`), and the dashboard reads such a day from the records until then
(`kpis.usable_days`). `updated_at` moves with every change to a record, its SLA clocks and its
satisfaction answer: the engine's transitions, the sweep and the survey all set it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, Date, Result, delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from engine import improvement, kpis
from engine.spec import PackSpec
from engine.store import dialect
from engine.store.models import DailyRollup, Record, RollupDay, SatisfactionAnswer

KEYS = ("pack", "record_type", "channel", "category", "department")


def reading(pack: PackSpec, now: datetime) -> kpis.KpiFilter:
    """How the pack's dashboard reads its records (zone, targets, FCR), for rolling them up."""
    return improvement.kpi_filter(pack, now, now)


def days_due(session: Session, f: kpis.KpiFilter, now: datetime) -> list[date]:
    """The pack's closed days without a current rollup: never rolled, rolled reading the
    records another way (the pack changed its zone, targets or FCR transitions), or touched
    since they were rolled."""
    assert f.pack is not None
    zone = ZoneInfo(f.timezone)
    earliest = session.scalar(select(func.min(Record.received_at)).where(Record.pack == f.pack))
    today = now.astimezone(zone).date()
    if earliest is None or earliest.astimezone(zone).date() >= today:
        return []
    first = earliest.astimezone(zone).date()
    states = {
        s.day: s
        for s in session.scalars(
            select(RollupDay).where(RollupDay.pack == f.pack, RollupDay.day < today)
        )
    }
    current = {d: s for d, s in states.items() if kpis.reading_matches(s, f)}
    days = [first + timedelta(days=i) for i in range((today - first).days)]
    due = {d for d in days if d not in current}
    if current:
        due |= kpis.touched_days(session, f.pack, zone, current)
    return sorted(due)


def confirm(session: Session, f: kpis.KpiFilter, due: Sequence[date], now: datetime) -> int:
    """Mark the pack's current days that `days_due` found untouched as read at `now`.

    Sound because a change taken before `now − STALE_MARGIN` has committed by `now`, so the
    check that just ran would have seen it. It keeps the readers' scan of changed records to
    the changes since the last run instead of since each day's first rollup.
    """
    assert f.pack is not None
    skip = set(due)
    days = [
        s.day
        for s in session.scalars(select(RollupDay).where(RollupDay.pack == f.pack))
        if s.day not in skip and kpis.reading_matches(s, f) and s.rolled_at < now
    ]
    for start in range(0, len(days), 500):
        session.execute(
            update(RollupDay)
            .where(RollupDay.pack == f.pack, RollupDay.day.in_(days[start : start + 500]))
            .values(rolled_at=now)
        )
    return len(days)


def roll_up(session: Session, f: kpis.KpiFilter, days: Sequence[date], now: datetime) -> int:
    """(Re)write the rollup of the given days of the filter's pack; the rows written.

    `now` must be taken before any of the days is read: a change committed after the read
    carries an `updated_at` from then on and makes the day due again.
    """
    written = 0
    for day in days:
        _lock(session, f, day, now)
        session.execute(
            delete(DailyRollup).where(DailyRollup.pack == f.pack, DailyRollup.day == day)
        )
        written += _insert_records(session, f, day)
        written += _insert_answers(session, f, day)
    return written


def _lock(session: Session, f: kpis.KpiFilter, day: date, now: datetime) -> None:
    """Create or take the day's state row, locked until commit, and mark it read now."""
    assert f.pack is not None
    values = {
        "pack": f.pack,
        "day": day,
        "timezone": f.timezone,
        "response_target": f.response_target,
        "handling_target": f.handling_target,
        "first_contact": sorted(f.first_contact),
        "rolled_at": now,
    }
    session.execute(dialect.insert(session, RollupDay).values(values).on_conflict_do_nothing())
    session.execute(
        select(RollupDay.day)
        .where(RollupDay.pack == f.pack, RollupDay.day == day)
        .with_for_update()
    )
    session.execute(
        update(RollupDay)
        .where(RollupDay.pack == f.pack, RollupDay.day == day)
        .values({k: v for k, v in values.items() if k not in ("pack", "day")})
    )


def _day_filter(f: kpis.KpiFilter, day: date) -> kpis.KpiFilter:
    """The records of one pack received on one day, every type and group."""
    start, end = kpis.day_span(day, ZoneInfo(f.timezone))
    return kpis.KpiFilter(
        start=start,
        end=end,
        pack=f.pack,
        response_target=f.response_target,
        handling_target=f.handling_target,
        first_contact=f.first_contact,
        timezone=f.timezone,
    )


def _insert_records(session: Session, f: kpis.KpiFilter, day: date) -> int:
    one = _day_filter(f, day)
    keys = [getattr(Record, k) for k in KEYS]
    sums = kpis.record_sums(session, one, kpis.records_where(one), keys).subquery()
    names = [*KEYS, *kpis.RECORD_PARTS]
    statement = insert(DailyRollup).from_select(
        ["day", *names], select(literal(day, Date), *(sums.c[n] for n in names))
    )
    return _rows(session.execute(statement))


def _insert_answers(session: Session, f: kpis.KpiFilter, day: date) -> int:
    one = _day_filter(f, day)
    # On SQLite with the day's own offset, which `kpis.usable_days` requires the dashboard's
    # to be before it reads the day from here.
    answered = kpis.day_of(session, SatisfactionAnswer.answered_at, one.timezone, one.start)
    answer_day = answered.label("answer_day")
    keys = [*(getattr(Record, k) for k in KEYS), answer_day]
    sums = kpis.answer_sums(session, kpis.records_where(one), keys).subquery()
    names = [*KEYS, "answer_day", *kpis.ANSWER_PARTS]
    statement = insert(DailyRollup).from_select(
        ["day", *names], select(literal(day, Date), *(sums.c[n] for n in names))
    )
    return _rows(session.execute(statement))


def _rows(result: Result[Any]) -> int:
    """Rows an INSERT … SELECT wrote (both drivers count them)."""
    return cast(CursorResult[Any], result).rowcount
