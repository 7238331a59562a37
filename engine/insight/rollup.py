"""The daily rollup: each closed day's additive KPI parts, written set-based for the dashboard.

A day is rolled up by the day its records were received, in the pack's reporting zone: one
`INSERT … SELECT … GROUP BY` each for the record, clock and answer parts of a run of days, after
deleting the run's old rows, in the transaction that locks the run's `rollup_days` rows.

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

from sqlalchemy import (
    CursorResult,
    Date,
    Result,
    Subquery,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from engine import bounds
from engine.insight import improvement, kpis
from engine.specs.pack import PackSpec
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
    # Rows stored before intake bounded `received_at` (issue #22) must not make it roll a day
    # for every day since 1900: nothing before the bounds' earliest moment is rolled.
    first = max(earliest, bounds.EARLIEST).astimezone(zone).date()
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

    One run of consecutive days at a time: lock their state rows, delete their rows, and
    write them again with one `INSERT … SELECT … GROUP BY` each for the records, their SLA
    clocks and their answers. `now` must be taken before any of the days is read: a change
    committed after the read carries an `updated_at` from then on and makes its day due again.
    """
    written = 0
    for first, last in runs(session, f, days):
        _lock(session, f, first, last, now)
        session.execute(
            delete(DailyRollup).where(
                DailyRollup.pack == f.pack, DailyRollup.day >= first, DailyRollup.day <= last
            )
        )
        written += _insert_records(session, f, first, last)
        written += _insert_clocks(session, f, first, last)
        written += _insert_answers(session, f, first, last)
    return written


def runs(session: Session, f: kpis.KpiFilter, days: Sequence[date]) -> list[tuple[date, date]]:
    """Consecutive days one statement can roll up, as (first, last).

    PostgreSQL computes each record's day in the zone. SQLite computes it with one fixed
    offset, so there a run also keeps one offset, and a day the offset changes on (DST) is a
    run of its own, written under its date as a constant; SQLite's dashboard never reads such
    a day from the rollup (`kpis.usable_days`).
    """
    zone = ZoneInfo(f.timezone)
    sqlite = session.get_bind().dialect.name == "sqlite"
    found: list[tuple[date, date, object]] = []
    for day in sorted(days):
        offset = kpis.fixed_offset(day, zone) if sqlite else None
        if sqlite and offset is None:
            found.append((day, day, day))  # a run of its own, joined by nothing
        elif found and found[-1][1] + timedelta(days=1) == day and found[-1][2] == offset:
            found[-1] = (found[-1][0], day, offset)
        else:
            found.append((day, day, offset))
    return [(first, last) for first, last, _ in found]


def _lock(session: Session, f: kpis.KpiFilter, first: date, last: date, now: datetime) -> None:
    """Create or take the run's state rows, locked until commit, and mark them read now."""
    assert f.pack is not None
    reading = {
        "timezone": f.timezone,
        "response_target": f.response_target,
        "handling_target": f.handling_target,
        "first_contact": sorted(f.first_contact),
        "cutoffs": f.cutoffs.reading(),
        "rolled_at": now,
    }
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    session.execute(
        dialect.insert(session, RollupDay)
        .values([{"pack": f.pack, "day": day, **reading} for day in days])
        .on_conflict_do_nothing()
    )
    mine = (RollupDay.pack == f.pack, RollupDay.day >= first, RollupDay.day <= last)
    session.execute(select(RollupDay.day).where(*mine).with_for_update())
    session.execute(update(RollupDay).where(*mine).values(reading))


def _range_filter(f: kpis.KpiFilter, first: date, last: date) -> kpis.KpiFilter:
    """The records of one pack received on the run's days, every type and group."""
    zone = ZoneInfo(f.timezone)
    return kpis.KpiFilter(
        start=kpis.day_span(first, zone)[0],
        end=kpis.day_span(last, zone)[1],
        pack=f.pack,
        response_target=f.response_target,
        handling_target=f.handling_target,
        first_contact=f.first_contact,
        timezone=f.timezone,
        cutoffs=f.cutoffs,
    )


def _insert(
    session: Session,
    first: date,
    last: date,
    sums: Subquery,
    names: Sequence[str],
) -> int:
    """INSERT … SELECT the grouped sums; a one-day run's date is a constant, not a column."""
    day = sums.c.day if first != last else literal(first, Date)
    statement = insert(DailyRollup).from_select(
        ["day", *names], select(day, *(sums.c[n] for n in names))
    )
    return _rows(session.execute(statement))


def _keys(session: Session, one: kpis.KpiFilter, first: date, last: date) -> list[Any]:
    """Group by the rollup's keys, and by the received day when the run has several days."""
    keys: list[Any] = [getattr(Record, k) for k in KEYS]
    if first != last:
        day = kpis.day_of(session, Record.received_at, one.timezone, one.start)
        keys.append(day.label("day"))
    return keys


def _insert_records(session: Session, f: kpis.KpiFilter, first: date, last: date) -> int:
    one = _range_filter(f, first, last)
    keys = _keys(session, one, first, last)
    sums = kpis.record_sums(session, one, kpis.records_where(one), keys).subquery()
    return _insert(session, first, last, sums, [*KEYS, *kpis.RECORD_PARTS])


def _insert_clocks(session: Session, f: kpis.KpiFilter, first: date, last: date) -> int:
    one = _range_filter(f, first, last)
    keys = _keys(session, one, first, last)
    sums = kpis.clock_sums(session, one, kpis.records_where(one), keys).subquery()
    return _insert(session, first, last, sums, [*KEYS, *kpis.CLOCK_PARTS])


def _insert_answers(session: Session, f: kpis.KpiFilter, first: date, last: date) -> int:
    one = _range_filter(f, first, last)
    # On SQLite with the run's own offset, which `kpis.usable_days` requires the dashboard's
    # to be before it reads a day from here.
    answered = kpis.day_of(session, SatisfactionAnswer.answered_at, one.timezone, one.start)
    keys = [*_keys(session, one, first, last), answered.label("answer_day")]
    sums = kpis.answer_sums(session, kpis.records_where(one), keys, f.cutoffs).subquery()
    return _insert(session, first, last, sums, [*KEYS, "answer_day", *kpis.ANSWER_PARTS])


def _rows(result: Result[Any]) -> int:
    """Rows an INSERT … SELECT wrote (both drivers count them)."""
    return cast(CursorResult[Any], result).rowcount
