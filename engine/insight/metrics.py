"""What a monitor measures, as one SQL aggregate over a window (or several, for a baseline).

Each metric is a `SELECT … GROUP BY` over records, SLA clocks or satisfaction answers: the
database counts and averages, Python never walks the records. A baseline is the same
statement over the earlier windows at once, divided by their number where it counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from engine.specs.insight import MonitorSpec
from engine.specs.pack import PackSpec
from engine.store.models import Customer, Record, RecordEvent, SatisfactionAnswer, SlaClock

Window = tuple[datetime, datetime]
ALL = "*"  # the scope of a monitor that is not split by anything
COUNTS = ("count", "repeat_contacts", "keyword_count")


def seconds_between(session: Session, start: Any, end: Any) -> ColumnElement[Any]:
    """end − start in seconds, as the database computes it (SQLite stores UTC text)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


def within(column: Any, windows: Sequence[Window]) -> ColumnElement[bool]:
    return or_(*(and_(column >= start, column < end) for start, end in windows))


def measure(
    session: Session, pack: PackSpec, monitor: MonitorSpec, windows: Sequence[Window]
) -> dict[str, tuple[float, int]]:
    """{scope: (value, how many records/answers/clocks it stands on)} for the windows given;
    counts are per window (an average when there are several)."""
    scope = _scope(monitor)
    statement = _statement(session, pack, monitor, windows, scope)
    statement = statement.group_by(scope) if monitor.by else statement
    found = {}
    for key, value, count in session.execute(statement):
        if value is None or not count:
            continue
        per_window = float(value) / len(windows) if monitor.metric in COUNTS else float(value)
        found[str(key) if key is not None else "—"] = (per_window, int(count))
    return found


def _statement(
    session: Session,
    pack: PackSpec,
    monitor: MonitorSpec,
    windows: Sequence[Window],
    scope: ColumnElement[Any],
) -> Select[Any]:
    """The metric's one aggregate: (scope, value, how many it stands on)."""
    base = [Record.pack == pack.name, *_where(pack, monitor)]
    metric = monitor.metric
    statement: Select[Any]
    if metric in COUNTS:
        n = func.count(Record.id)
        statement = (
            select(scope, n, n)
            .select_from(Record)
            .where(*base, within(Record.received_at, windows))
        )
        if metric == "keyword_count":
            text = Record.fields[monitor.field_name].as_string()
            statement = statement.where(
                or_(*(text.contains(k, autoescape=True) for k in monitor.keywords))
            )
        if metric == "repeat_contacts":
            statement = statement.join(Customer, Record.customer_id == Customer.id)
            # Only customers above the lowest threshold come back, not every customer.
            statement = statement.having(n > monitor.levels[0][1] * len(windows))
    elif metric == "handling_hours":
        target = pack.insight.kpis.handling_target
        end: InstrumentedAttribute[Any] = SlaClock.met_at if target else Record.closed_at
        hours = func.avg(seconds_between(session, Record.received_at, end)) / 3600.0
        statement = (
            select(scope, hours, func.count())
            .select_from(Record)
            .where(*base, within(end, windows))
        )
        if target:
            statement = statement.join(SlaClock, SlaClock.record_id == Record.id).where(
                SlaClock.target == target
            )
    elif metric == "sla_breach_share":
        breached = case(
            (or_(SlaClock.breached_at.is_not(None), SlaClock.met_at > SlaClock.deadline), 1.0),
            else_=0.0,
        )
        statement = (
            select(scope, func.avg(breached), func.count())
            .select_from(Record)
            .join(SlaClock, SlaClock.record_id == Record.id)
            .where(*base, within(SlaClock.deadline, windows))
        )
    elif metric == "stage_share":  # how the window's closed records ended
        ended = case((Record.stage.in_(monitor.stages), 1.0), else_=0.0)
        statement = (
            select(scope, func.avg(ended), func.count())
            .select_from(Record)
            .where(*base, Record.is_open.is_(False), within(Record.closed_at, windows))
        )
    elif metric == "stage_duration":
        statement = _stage_duration(session, monitor, windows, scope).where(*base)
    else:  # satisfaction_avg
        statement = (
            select(scope, func.avg(SatisfactionAnswer.score), func.count())
            .select_from(Record)
            .join(SatisfactionAnswer, SatisfactionAnswer.record_id == Record.id)
            .where(*base, within(SatisfactionAnswer.answered_at, windows))
        )
    return statement


def _stage_duration(
    session: Session, monitor: MonitorSpec, windows: Sequence[Window], scope: ColumnElement[Any]
) -> Select[Any]:
    """The stays in `stages` that ended in the windows (R-6.1: a call's time in `talking`):
    their average minutes, or the share longer or shorter than the cut.

    A stay runs from the last history event entering the stages to the first one leaving them;
    moves within the stages (a transition back to the same stage) neither start nor end one.
    A record that left in the window was updated then, so its `updated_at` bounds the records
    read through `ix_records_updated`, and their events through the record's index.
    """
    stages = monitor.stages
    enter, leave = aliased(RecordEvent), aliased(RecordEvent)
    stays = (
        select(
            leave.record_id.label("record_id"),
            func.max(enter.at).label("entered_at"),
            leave.at.label("left_at"),
        )
        .join(Record, Record.id == leave.record_id)
        .join(enter, and_(enter.record_id == leave.record_id, enter.id < leave.id))
        .where(
            Record.updated_at >= min(start for start, _ in windows),
            leave.from_stage.in_(stages),
            leave.to_stage.not_in(stages),
            within(leave.at, windows),
            enter.to_stage.in_(stages),
            or_(enter.from_stage.is_(None), enter.from_stage.not_in(stages)),
        )
        .group_by(leave.id, leave.record_id, leave.at)
        .subquery()
    )
    seconds = seconds_between(session, stays.c.entered_at, stays.c.left_at)
    if monitor.cut is None:
        value: ColumnElement[Any] = func.avg(seconds) / 60.0
    else:
        side, limit = monitor.cut
        beyond = seconds > limit if side == "longer_than" else seconds < limit
        value = func.avg(case((beyond, 1.0), else_=0.0))
    return (
        select(scope, value, func.count())
        .select_from(Record)
        .join(stays, stays.c.record_id == Record.id)
    )


def _scope(monitor: MonitorSpec) -> ColumnElement[Any]:
    if monitor.by == "customer":
        return Customer.number.expression
    if monitor.by in ("category", "channel", "department"):
        column: ColumnElement[Any] = getattr(Record, monitor.by)
        return column
    return literal(ALL)


def _where(pack: PackSpec, monitor: MonitorSpec) -> list[ColumnElement[bool]]:
    conditions = [getattr(Record, key) == value for key, value in monitor.where.items()]
    flow = pack.insight.warnings
    if flow is not None and "record_type" not in monitor.where:
        conditions.append(Record.record_type != flow.record_type)  # warnings do not count
    return conditions
