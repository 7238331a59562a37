"""Fire due timers exactly once: SLA warnings, breaches, escalation steps and follow-ups.

`sweep(now)` claims due timers in batches, oldest first, like APScheduler's
`get_due_jobs(now)`; on PostgreSQL with `SELECT … FOR UPDATE SKIP LOCKED`, so any
number of sweepers share the work without firing a timer twice (SQLite has one
writer at a time). A batch is fired set-based: each timer's effects are computed in
Python from the pack and the records as loaded, then each kind of row (history
events, notifications, outbox messages, new timers, clock and record changes, the
timers' own marks) is written for the whole batch in one statement, in one
transaction. If any of it fails, the batch is fired again timer by timer, each under
a savepoint, so one bad timer is retried later without holding back the rest. The
primary effect of a timer carries its id under a unique constraint: a second firing
cannot commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Integer, Table, any_, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from engine.events import Escalated, FollowUpDue, Ladder, SlaBreached, SlaWarned
from engine.records.journal import TIMERS, Effects
from engine.records.rows import ClockRow, RecordRow
from engine.records.versions import SpecCache
from engine.specs.pack import EscalationStep, FollowUpSpec, PackSpec
from engine.store.models import Record, SlaClock
from engine.time import sla
from engine.time.clock import iso
from engine.time.followups import next_due

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
MAX_CATCH_UP_PERIODS = 100_000
# Rounds at the end of a sweep for timers whose record another transaction held; after
# them, such a timer waits for the next sweep.
BUSY_RETRIES = 3
CLOCKS: Table = SlaClock.__table__  # type: ignore[assignment]
RECORDS: Table = Record.__table__  # type: ignore[assignment]
_RECORD_COLUMNS = [RECORDS.c[f.name] for f in fields(RecordRow) if f.name != "clocks"]
_CLOCK_COLUMNS = [CLOCKS.c[f.name] for f in fields(ClockRow)]


@dataclass(frozen=True)
class Fired:
    """What one timer did, for logs, metrics and the simulator's timeline."""

    timer_id: int
    record_id: int
    kind: str
    due_at: datetime
    outcome: str  # "fired" | "cancelled"
    # The record's pack and priority before the timer acted (a breach may raise the priority):
    # metrics count SLA warnings and breaches by them.
    pack: str = ""
    priority: str = ""


@dataclass
class SweepResult:
    fired: list[Fired] = field(default_factory=list)
    failed: int = 0
    batches: int = 0


def sweep(
    session_factory: sessionmaker[Session],
    specs: SpecCache,
    now: datetime,
    *,
    batch_size: int = 100,
    max_batches: int | None = None,
) -> SweepResult:
    """Fire every timer due at `now`, batch by batch, until none is left (or `max_batches`)."""
    result = SweepResult()
    failed: set[int] = set()  # retried by a later sweep, not again in this one
    busy: set[int] = set()  # their record was locked by someone else: tried again at the end
    retries = BUSY_RETRIES
    while max_batches is None or result.batches < max_batches:
        with session_factory() as session:
            timers = claim(session, now, batch_size, skip=failed | busy)
            if not timers and busy and retries:  # the other sweeper has most likely committed
                busy, retries = set(), retries - 1
                continue
            if not timers:
                break
            result.batches += 1
            records = _lock_records(session, timers)
            busy.update(t.id for t in timers if t.record_id not in records)
            mine = [t for t in timers if t.record_id in records]
            try:
                with session.begin_nested():
                    result.fired.extend(_fire_batch(session, specs, mine, records, now))
            except Exception as exc:  # find the timer at fault, fire the others
                log.warning(
                    "a batch of %d timers failed (%s); firing them one by one", len(mine), exc
                )
                fired, faulty = _fire_one_by_one(session, specs, mine, now)
                result.fired.extend(fired)
                failed.update(faulty)
            session.commit()
    result.failed = len(failed)
    return result


@dataclass(frozen=True, slots=True)
class Due:
    """A claimed timer, as plain values: a batch reads them and writes its marks itself."""

    id: int
    record_id: int
    clock_id: int | None
    kind: str
    name: str
    step: int | None
    due_at: datetime
    status: str
    attempts: int


def claim(session: Session, now: datetime, limit: int, *, skip: Collection[int] = ()) -> list[Due]:
    """Lock up to `limit` due timers that no other sweeper holds, oldest first."""
    statement = (
        select(*(TIMERS.c[f.name] for f in fields(Due)))
        .where(TIMERS.c.status == "pending", TIMERS.c.due_at <= now)
        .order_by(TIMERS.c.due_at, TIMERS.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if skip:
        statement = statement.where(TIMERS.c.id.not_in(list(skip)))
    return [Due(*row) for row in session.execute(statement)]


def _lock_records(session: Session, timers: Sequence[Due]) -> dict[int, RecordRow]:
    """Lock the batch's records in id order, skipping those another transaction holds.

    Two sweepers firing timers of one record, or a sweeper and an agent, would
    otherwise lock rows in opposite orders and deadlock; a record someone else
    holds is left for the next sweep. Two queries in all (records, their clocks),
    read as plain rows: the batch changes them in memory and writes what changed itself.
    """
    ids = sorted({timer.record_id for timer in timers})
    locked = (
        select(*_RECORD_COLUMNS)
        .where(_among(session, RECORDS.c.id, ids))
        .order_by(RECORDS.c.id)
        .with_for_update(skip_locked=True)
    )
    connection = session.connection()
    records = {row[0]: RecordRow(*row) for row in connection.execute(locked)}
    if records:
        clocks = (
            select(*_CLOCK_COLUMNS)
            .where(_among(session, CLOCKS.c.record_id, list(records)))
            .order_by(CLOCKS.c.id)
        )
        for row in connection.execute(clocks):
            clock = ClockRow(*row)
            records[clock.record_id].clocks.append(clock)
    return records


def _among(session: Session, column: ColumnElement[int], ids: list[int]) -> ColumnElement[bool]:
    """`column = ANY(:ids)` on PostgreSQL: one array parameter, so one statement text the
    driver prepares once, where `IN` renders a placeholder per id and a new text per size."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
    return column.in_(ids)


def _fire_batch(
    session: Session,
    specs: SpecCache,
    timers: Sequence[Due],
    records: dict[int, RecordRow],
    now: datetime,
) -> list[Fired]:
    """Act on each timer in memory, then write the whole batch's rows, one statement a kind."""
    effects = Effects(session)
    before = {rid: _record_values(r) for rid, r in records.items()}
    clocks = {c.id: c for r in records.values() for c in r.clocks}
    clocks_before = {cid: _clock_values(c) for cid, c in clocks.items()}
    outcomes = []
    for timer in timers:
        record = records[timer.record_id]
        pack = specs.get(session, record.pack_version_id)
        priority = record.priority
        acted = _HANDLERS[timer.kind](effects, pack, record, timer, now)
        record.next_deadline = sla.nearest_deadline(record)
        outcome = "fired" if acted else "cancelled"
        outcomes.append(
            Fired(timer.id, record.id, timer.kind, timer.due_at, outcome, record.pack, priority)
        )
    effects.write()
    _write_changes(
        session,
        CLOCKS,
        [
            {"id": cid, **_clock_values(c)}
            for cid, c in clocks.items()
            if _clock_values(c) != clocks_before[cid]
        ],
    )
    _write_changes(
        session,
        RECORDS,
        [
            {"id": rid, **_record_values(r)}
            for rid, r in records.items()
            if _record_values(r) != before[rid]
        ],
        versioned=True,
    )
    _touch(
        session,
        {c.record_id for c in clocks.values() if _clock_values(c) != clocks_before[c.id]},
        now,
    )
    for status in ("fired", "cancelled"):
        ids = [f.timer_id for f in outcomes if f.outcome == status]
        if ids:
            session.connection().execute(
                update(TIMERS)
                .where(_among(session, TIMERS.c.id, ids))
                .values(status=status, fired_at=now)
            )
    return outcomes


def _fire_one_by_one(
    session: Session, specs: SpecCache, timers: Sequence[Due], now: datetime
) -> tuple[list[Fired], set[int]]:
    """The slow path after a batch failed: each timer on its own, from freshly read records."""
    fired: list[Fired] = []
    faulty: set[int] = set()
    for timer in timers:
        try:
            with session.begin_nested():
                records = _lock_records(session, [timer])
                fired.extend(_fire_batch(session, specs, [timer], records, now))
        except Exception as exc:  # one bad timer must not stop the sweep
            log.exception("timer %s (%s) failed", timer.id, timer.kind)
            _record_failure(session, timer, exc)
            faulty.add(timer.id)
    return fired, faulty


def _record_failure(session: Session, timer: Due, exc: Exception) -> None:
    """Count the attempt; after `MAX_ATTEMPTS` the timer is left `failed` for operators."""
    attempts = timer.attempts + 1
    session.execute(
        update(TIMERS)
        .where(TIMERS.c.id == timer.id)
        .values(
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:500],
            status="failed" if attempts >= MAX_ATTEMPTS else timer.status,
        )
    )


def _record_values(record: RecordRow) -> dict[str, Any]:
    """What firing a timer may change on its record."""
    return {
        "priority": record.priority,
        "priority_rank": record.priority_rank,
        "next_deadline": record.next_deadline,
    }


def _clock_values(clock: ClockRow) -> dict[str, Any]:
    """What firing a timer may change on its clock."""
    return {"warned_at": clock.warned_at, "breached_at": clock.breached_at}


def _write_changes(
    session: Session, table: Table, rows: list[dict[str, Any]], *, versioned: bool = False
) -> None:
    """One executemany `UPDATE … WHERE id = ?` for the rows that changed.

    A record's `row_version` moves on, as an ORM flush would move it: an agent's form
    opened before a breach raised the priority is refused as stale.
    """
    if not rows:
        return
    columns = [name for name in rows[0] if name != "id"]
    values: dict[str, Any] = {
        name: bindparam(f"new_{name}", type_=table.c[name].type) for name in columns
    }
    if versioned:
        values["row_version"] = table.c.row_version + 1
    statement = update(table).where(table.c.id == bindparam("row_id")).values(values)
    session.execute(
        statement,
        [{"row_id": row["id"], **{f"new_{name}": row[name] for name in columns}} for row in rows],
    )


def _touch(session: Session, record_ids: set[int], now: datetime) -> None:
    """A warning or breach changes the record's SLA figures: its `updated_at` moves, so the
    dashboard's rollup reads its day again. Not an edit of the record: `row_version` stays."""
    if record_ids:
        session.execute(
            update(RECORDS).where(RECORDS.c.id.in_(sorted(record_ids))).values(updated_at=now)
        )


def _late(timer: Due, now: datetime) -> int:
    """Seconds between when the timer was due and when it fired: catch-up shows here."""
    return max(int((now - timer.due_at).total_seconds()), 0)


def _live_clock(record: RecordRow, timer: Due) -> ClockRow | None:
    """The timer's clock, unless the record has moved on (met, paused, closed)."""
    clock = next((c for c in record.clocks if c.id == timer.clock_id), None)
    if clock is None or clock.met_at is not None or not record.is_open:
        return None
    if clock.running_since is None and timer.kind != "sla_escalation":
        return None
    return clock


def _sla_threshold(
    effects: Effects, pack: PackSpec, record: RecordRow, timer: Due, now: datetime
) -> bool:
    """The warning share is used, or the deadline has come: record it and run the ladder."""
    clock = _live_clock(record, timer)
    if clock is None:
        return False
    if timer.kind == "sla_warning":
        at, reached = "warning", SlaWarned
        clock.warned_at = timer.due_at
    else:
        at, reached = "breach", SlaBreached
        clock.breached_at = timer.due_at
    ladder = _run_steps(effects, pack, record, clock, at, now, timer)
    event = reached(clock.target, clock.deadline, _late(timer, now), ladder)
    effects.event(record, now, event, timer_id=timer.id)
    return True


def _sla_escalation(
    effects: Effects, pack: PackSpec, record: RecordRow, timer: Due, now: datetime
) -> bool:
    clock = _live_clock(record, timer)
    rtype = pack.record_type(record.record_type)
    if clock is None or rtype.sla is None or timer.step is None:
        return False
    step = rtype.sla.escalation[timer.step]
    ladder = _act(effects, pack, record, clock, [step], now, timer)
    assert ladder is not None  # one step, so it acted
    escalated = Escalated(clock.target, step.index, _late(timer, now), ladder)
    effects.event(record, now, escalated, timer_id=timer.id)
    return True


def _followup(
    effects: Effects, pack: PackSpec, record: RecordRow, timer: Due, now: datetime
) -> bool:
    rtype = pack.record_type(record.record_type)
    followup = rtype.followups.get(timer.name)
    if followup is None or not record.is_open:
        return False
    effects.notify(
        pack,
        record,
        now,
        "owner",
        f"followup.{followup.name}",
        {"title": followup.title, "due_at": timer.due_at.isoformat()},
        timer_id=timer.id,
    )
    missed = 0
    if followup.every is not None:
        upcoming, missed = _next_period(pack, followup, timer.due_at, now)
        effects.timer(record, "followup", followup.name, upcoming, now)
    due = FollowUpDue(followup.name, timer.due_at, _late(timer, now), missed)
    effects.event(record, now, due, timer_id=timer.id)
    return True


def _next_period(
    pack: PackSpec, followup: FollowUpSpec, due: datetime, now: datetime
) -> tuple[datetime, int]:
    """The next due time after `now` in the follow-up's rhythm, and how many periods were missed.

    Missed periods coalesce into this one firing (APScheduler's `coalesce`), unless the
    pack asks for every one (`catch_up: all`), in which case the next period is due at once.
    """
    upcoming = next_due(pack, followup, due)
    if followup.catch_up == "all":
        return upcoming, 0
    missed = 0
    while upcoming <= now and missed < MAX_CATCH_UP_PERIODS:
        upcoming = next_due(pack, followup, upcoming)
        missed += 1
    return upcoming, missed


def _run_steps(
    effects: Effects,
    pack: PackSpec,
    record: RecordRow,
    clock: ClockRow,
    at: str,
    now: datetime,
    timer: Due,
) -> Ladder | None:
    """Run the ladder steps that act at once, arm those that come later; return what they did."""
    rtype = pack.record_type(record.record_type)
    assert rtype.sla is not None
    steps = [s for s in rtype.sla.escalation if s.at == at and s.after is None]
    ladder = _act(effects, pack, record, clock, steps, now, timer)
    for step, due in sla.escalations_due(pack, record, clock, at):
        effects.timer(
            record, "sla_escalation", clock.target, due, now, clock_id=clock.id, step=step
        )
    return ladder


def _act(
    effects: Effects,
    pack: PackSpec,
    record: RecordRow,
    clock: ClockRow,
    steps: list[EscalationStep],
    now: datetime,
    timer: Due,
) -> Ladder | None:
    """Notify each audience of the steps once, and raise the priority if a step says so."""
    if not steps:
        return None
    audiences = list(dict.fromkeys(a for step in steps for a in step.notify))
    for audience in audiences:
        effects.notify(
            pack,
            record,
            now,
            audience,
            timer.kind.replace("sla_", f"sla.{clock.target}."),
            {"target": clock.target, "deadline": iso(clock.deadline)},
            timer_id=timer.id,
        )
    priority: tuple[str, str] | None = None
    if any(step.raise_priority for step in steps):
        raised = pack.raised(record.priority)
        if raised != record.priority:
            priority = (record.priority, raised)
            record.priority, record.priority_rank = raised, pack.priority_rank(raised)
    return Ladder(tuple(audiences), priority)


_HANDLERS: dict[str, Callable[[Effects, PackSpec, RecordRow, Due, datetime], bool]] = {
    "sla_warning": _sla_threshold,
    "sla_breach": _sla_threshold,
    "sla_escalation": _sla_escalation,
    "followup": _followup,
}
