"""KPIs of a period (R-4.2, R-4.3), from sums and counts over the records received in it.

CSAT (share of scores 4–5, in %), average score, NPS (−100…+100), first-contact resolution (%),
average response, handling and resolution hours, SLA attainment (%), volume per channel and per
category with shares (the top problems), volume and CSAT per day. The records of a period are
those received in it, so every figure of a review describes the same cohort.

Each figure is a ratio of additive parts (`Parts`): the days `engine.rollup` has rolled up are
read from `daily_rollup` (a year is a few thousand rows), the rest of the range from the
records, and the parts of both are added before any division, so the figures do not depend on
which days were rolled up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    Select,
    and_,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from engine.insight.metrics import seconds_between
from engine.store.models import (
    DailyRollup,
    Record,
    RecordEvent,
    RollupDay,
    SatisfactionAnswer,
    SlaClock,
)


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


def records_where(f: KpiFilter) -> list[ColumnElement[bool]]:
    return [Record.received_at >= f.start, Record.received_at < f.end, *_dims(f, Record)]


def _dims(f: KpiFilter, table: type[Record] | type[DailyRollup]) -> list[ColumnElement[bool]]:
    """The filter's pack, channel, department, category and types, on records or rollup rows."""
    conditions = []
    for name in ("pack", "channel", "department", "category"):
        value = getattr(f, name)
        if value is not None:
            conditions.append(getattr(table, name) == value)
    if f.exclude_types:
        conditions.append(table.record_type.not_in(f.exclude_types))
    return conditions


RECORD_PARTS = ("records", "closed", "resolution_seconds", "solved", "solved_first")
CLOCK_PARTS = (
    "response_met",
    "response_seconds",
    "handling_met",
    "handling_seconds",
    "sla_decided",
    "sla_kept",
)
ANSWER_PARTS = (
    "answers",
    "satisfied",
    "scored",
    "score_sum",
    "nps_answers",
    "promoters",
    "detractors",
)
PART_NAMES = frozenset(RECORD_PARTS + CLOCK_PARTS + ANSWER_PARTS)
# A change to a record takes its `now` before it commits; the rollup treats a day as touched
# if a record of it changed up to this long before the day was read, so a transaction that
# was still open then is never missed.
STALE_MARGIN = timedelta(minutes=10)


@dataclass
class Parts:
    """The additive parts of every figure: sums and counts, so any set of groups adds up."""

    records: int = 0
    closed: int = 0
    resolution_seconds: float = 0.0
    solved: int = 0
    solved_first: int = 0
    response_met: int = 0
    response_seconds: float = 0.0
    handling_met: int = 0
    handling_seconds: float = 0.0
    sla_decided: int = 0
    sla_kept: int = 0
    answers: int = 0
    satisfied: int = 0
    scored: int = 0
    score_sum: int = 0
    nps_answers: int = 0
    promoters: int = 0
    detractors: int = 0

    def add(self, row: RowMapping) -> None:
        """Add one group's sums, whichever parts the row has (PostgreSQL's seconds are Decimal;
        a sum over no rows is None)."""
        for name, value in row.items():
            if name in PART_NAMES and value is not None:
                current = getattr(self, name)
                setattr(self, name, current + type(current)(value))


def report(session: Session, f: KpiFilter) -> KpiReport:
    """All the figures of a dashboard or review page.

    Days the rollup holds (whole days of the range, rolled up with this filter's reading and
    untouched since) come from `daily_rollup`; the rest of the range from the records. Both
    sources give the same sums, so the figures are those of the records alone.
    """
    rolled = usable_days(session, f)
    live = _live_where(f, rolled)
    totals = Parts()
    channels: dict[str | None, int] = {}
    categories: dict[str | None, int] = {}
    record_rows = [] if live is None else _live_records(session, f, live)
    for row in [*record_rows, *_rolled_records(session, f, rolled)]:
        totals.add(row)
        n = int(row.get("records") or 0)  # 0 in rows of clock parts
        channels[row["channel"]] = channels.get(row["channel"], 0) + n
        categories[row["category"]] = categories.get(row["category"], 0) + n
    daily: dict[date, int] = {}
    day_rows = [] if live is None else _live_days(session, f, live)
    for day, n in [*day_rows, *_rolled_days(session, f, rolled)]:
        daily[_as_date(day)] = daily.get(_as_date(day), 0) + int(n or 0)
    per_answer_day: dict[date, Parts] = {}
    answer_rows = [] if live is None else _live_answers(session, f, live)
    for row in [*answer_rows, *_rolled_answers(session, f, rolled)]:
        totals.add(row)
        per_answer_day.setdefault(_as_date(row["answer_day"]), Parts()).add(row)
    volume = totals.records
    return KpiReport(
        _values(totals, f),
        volume,
        totals.answers,
        [(str(c or "—"), n) for c, n in _by_count(channels)],
        [(str(c or "—"), n, n / volume if volume else 0.0) for c, n in _by_count(categories)],
        [(d, n) for d, n in sorted(daily.items()) if n],
        [
            (d, p.satisfied / p.answers * 100)
            for d, p in sorted(per_answer_day.items())
            if p.answers
        ],
    )


def _values(p: Parts, f: KpiFilter) -> dict[str, float | None]:
    """The figures from their parts: each an average or a share of sums over the same rows."""
    return {
        "volume": float(p.records),
        "csat": p.satisfied / p.answers * 100 if p.answers else None,
        "satisfaction_avg": p.score_sum / p.scored if p.scored else None,
        "nps": (p.promoters / p.nps_answers - p.detractors / p.nps_answers) * 100
        if p.nps_answers
        else None,
        "fcr": p.solved_first / p.solved * 100 if f.first_contact and p.solved else None,
        "response_hours": _hours(p.response_seconds, p.response_met),
        "handling_hours": _hours(p.handling_seconds, p.handling_met),
        "resolution_hours": _hours(p.resolution_seconds, p.closed),
        "sla_attainment": p.sla_kept / p.sla_decided * 100 if p.sla_decided else None,
    }


def _by_count(counts: dict[str | None, int]) -> list[tuple[str | None, int]]:
    """Largest first; ties by name, so the order does not depend on the database."""
    return sorted(((k, n) for k, n in counts.items() if n), key=lambda kn: (-kn[1], kn[0] or ""))


def record_sums(
    session: Session, f: KpiFilter, where: Sequence[ColumnElement[bool]], keys: Sequence[Any]
) -> Select[Any]:
    """The record parts (`RECORD_PARTS`) of the records `where` selects, grouped by `keys`.

    The dashboard reads it for the live part of a range; the rollup writes it per run of days.
    """
    solved = Record.stage_kind.in_(("resolved", "closed"))
    if f.first_contact:
        # EXISTS per solved record walks that record's events by index; `id IN (events of
        # these transitions)` read the whole history table, once per statement.
        first = (
            select(RecordEvent.id)
            .where(RecordEvent.record_id == Record.id)
            .where(RecordEvent.transition.in_(f.first_contact))
            .exists()
        )
        at_once: ColumnElement[bool] = solved & first
    else:
        at_once = false()
    closed = Record.closed_at.is_not(None)
    resolution = seconds_between(session, Record.received_at, Record.closed_at)
    return (
        select(
            *keys,
            func.count(Record.id).label("records"),
            _count_if(closed).label("closed"),
            func.sum(case((closed, resolution), else_=0.0)).label("resolution_seconds"),
            _count_if(solved).label("solved"),
            _count_if(at_once).label("solved_first"),
        )
        .select_from(Record)
        .where(*where)
        .group_by(*keys)
    )


def answer_sums(
    session: Session, where: Sequence[ColumnElement[bool]], keys: Sequence[Any]
) -> Select[Any]:
    """The answer parts (`ANSWER_PARTS`) of the answers to the records `where` selects."""
    score, nps = SatisfactionAnswer.score, SatisfactionAnswer.nps
    return (
        select(
            *keys,
            func.count(SatisfactionAnswer.id).label("answers"),
            _count_if(score >= 4).label("satisfied"),
            func.count(score).label("scored"),
            func.coalesce(func.sum(score), 0).label("score_sum"),
            func.count(nps).label("nps_answers"),
            _count_if(nps >= 9).label("promoters"),
            _count_if(nps <= 6).label("detractors"),
        )
        .select_from(Record)
        .join(SatisfactionAnswer, SatisfactionAnswer.record_id == Record.id)
        .where(*where)
        .group_by(*keys)
    )


def clock_sums(
    session: Session, f: KpiFilter, where: Sequence[ColumnElement[bool]], keys: Sequence[Any]
) -> Select[Any]:
    """The clock parts (`CLOCK_PARTS`) of the records `where` selects, grouped by `keys`: met
    response and handling clocks with their seconds, decided and kept SLA clocks."""
    met = SlaClock.met_at.is_not(None)
    took = seconds_between(session, SlaClock.started_at, SlaClock.met_at)
    kept = (
        met
        & SlaClock.breached_at.is_(None)
        & (SlaClock.deadline.is_(None) | (SlaClock.met_at <= SlaClock.deadline))
    )
    decided = met | SlaClock.breached_at.is_not(None)

    def target(name: str | None) -> ColumnElement[bool]:
        return (SlaClock.target == name) & met if name is not None else false()

    response, handling = target(f.response_target), target(f.handling_target)
    return (
        select(
            *keys,
            _count_if(response).label("response_met"),
            func.sum(case((response, took), else_=0.0)).label("response_seconds"),
            _count_if(handling).label("handling_met"),
            func.sum(case((handling, took), else_=0.0)).label("handling_seconds"),
            _count_if(decided).label("sla_decided"),
            _count_if(decided & kept).label("sla_kept"),
        )
        .select_from(Record)
        .join(SlaClock, SlaClock.record_id == Record.id)
        .where(*where)
        .group_by(*keys)
    )


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


def _live_records(
    session: Session, f: KpiFilter, where: Sequence[ColumnElement[bool]]
) -> list[RowMapping]:
    keys = [Record.channel.label("channel"), Record.category.label("category")]
    rows = list(session.execute(record_sums(session, f, where, keys)).mappings())
    return rows + list(session.execute(clock_sums(session, f, where, keys)).mappings())


def _live_days(
    session: Session, f: KpiFilter, where: Sequence[ColumnElement[bool]]
) -> list[tuple[Any, int]]:
    day = _day(session, Record.received_at, f)
    statement = select(day, func.count()).where(*where).group_by(day)
    return [(d, n) for d, n in session.execute(statement)]


def _live_answers(
    session: Session, f: KpiFilter, where: Sequence[ColumnElement[bool]]
) -> list[RowMapping]:
    keys = [_day(session, SatisfactionAnswer.answered_at, f).label("answer_day")]
    return list(session.execute(answer_sums(session, where, keys)).mappings())


def _rolled_where(f: KpiFilter, days: Sequence[date]) -> list[ColumnElement[bool]]:
    runs = or_(*(and_(DailyRollup.day >= a, DailyRollup.day <= b) for a, b in _runs(days)))
    return [runs, *_dims(f, DailyRollup)]


def _rolled_records(session: Session, f: KpiFilter, days: Sequence[date]) -> list[RowMapping]:
    if not days:
        return []
    keys = [DailyRollup.channel, DailyRollup.category]
    statement = (
        select(
            *keys,
            *(func.sum(getattr(DailyRollup, n)).label(n) for n in RECORD_PARTS + CLOCK_PARTS),
        )
        .where(*_rolled_where(f, days), DailyRollup.answer_day.is_(None))
        .group_by(*keys)
    )
    return list(session.execute(statement).mappings())


def _rolled_days(session: Session, f: KpiFilter, days: Sequence[date]) -> list[tuple[Any, int]]:
    if not days:
        return []
    statement = (
        select(DailyRollup.day, func.sum(DailyRollup.records))
        .where(*_rolled_where(f, days), DailyRollup.answer_day.is_(None))
        .group_by(DailyRollup.day)
    )
    return [(d, n) for d, n in session.execute(statement)]


def _rolled_answers(session: Session, f: KpiFilter, days: Sequence[date]) -> list[RowMapping]:
    if not days:
        return []
    statement = (
        select(
            DailyRollup.answer_day,
            *(func.sum(getattr(DailyRollup, n)).label(n) for n in ANSWER_PARTS),
        )
        .where(*_rolled_where(f, days), DailyRollup.answer_day.is_not(None))
        .group_by(DailyRollup.answer_day)
    )
    return list(session.execute(statement).mappings())


def _runs(days: Sequence[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs: a year of rolled days is one range."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _live_where(f: KpiFilter, rolled: Sequence[date]) -> list[ColumnElement[bool]] | None:
    """The filter's records outside the rolled days: the range minus their spans (None: none)."""
    if not rolled:
        return records_where(f)
    zone = ZoneInfo(f.timezone)
    gaps, cursor = [], f.start
    for first, last in _runs(rolled):
        begin, end = day_span(first, zone)[0], day_span(last, zone)[1]
        if cursor < begin:
            gaps.append((cursor, begin))
        cursor = end
    if cursor < f.end:
        gaps.append((cursor, f.end))
    if not gaps:
        return None
    within = or_(*(and_(Record.received_at >= a, Record.received_at < b) for a, b in gaps))
    return [within, *_dims(f, Record)]


def day_span(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in a zone, as UTC instants (23 or 25 hours across DST)."""
    start = datetime.combine(day, time(), zone).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)


def reading_matches(day: RollupDay, f: KpiFilter) -> bool:
    """Was the day rolled up reading records the way the filter does (zone, targets, FCR)?"""
    return (
        day.timezone == f.timezone
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
    whole = _whole_days(f, zone)
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


def _whole_days(f: KpiFilter, zone: ZoneInfo) -> list[date]:
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


def _day(session: Session, column: Any, f: KpiFilter) -> ColumnElement[Any]:
    return day_of(session, column, f.timezone, f.end)


def day_of(session: Session, column: Any, timezone: str, at: datetime) -> ColumnElement[Any]:
    """The calendar day of a time in the pack's zone, computed by the database."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no zones: the zone's offset at `at` (the period's end; China keeps no DST).
        offset = at.astimezone(ZoneInfo(timezone)).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        return func.date(column, literal_column(f"'{minutes:+d} minutes'"))
    return func.date(func.timezone(timezone, column))


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _hours(seconds: float, count: int) -> float | None:
    return seconds / count / 3600 if count else None
