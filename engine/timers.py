"""Fire due timers exactly once: SLA warnings, breaches, escalation steps and follow-ups.

`sweep(now)` claims due timers in small batches, oldest first, like
APScheduler's `get_due_jobs(now)`; on PostgreSQL with `SELECT … FOR UPDATE
SKIP LOCKED`, so any number of sweepers share the work without firing a timer
twice (SQLite has one writer at a time). Each timer's effects and its `fired`
mark are written in one transaction, each under a savepoint so one bad timer
is retried later without holding back its batch. The primary effect of a timer
carries its id under a unique constraint: a second firing cannot commit.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine import sla
from engine.clock import iso
from engine.followups import next_due
from engine.journal import add_event, add_timer, notify
from engine.spec import EscalationStep, FollowUpSpec, PackSpec
from engine.store.models import Record, SlaClock, Timer
from engine.versions import SpecCache

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
MAX_CATCH_UP_PERIODS = 100_000


@dataclass(frozen=True)
class Fired:
    """What one timer did, for logs, metrics and the simulator's timeline."""

    timer_id: int
    record_id: int
    kind: str
    due_at: datetime
    outcome: str  # "fired" | "cancelled"


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
    busy: set[int] = set()  # their record was locked by someone else: the next sweep's
    while max_batches is None or result.batches < max_batches:
        with session_factory() as session:
            timers = claim(session, now, batch_size, skip=failed | busy)
            if not timers:
                break
            result.batches += 1
            records = _lock_records(session, timers)
            for timer in timers:
                if timer.record_id not in records:
                    busy.add(timer.id)
                    continue
                outcome = _fire_guarded(session, specs, timer, records[timer.record_id], now)
                if outcome is None:
                    failed.add(timer.id)
                else:
                    result.fired.append(outcome)
            session.commit()
    result.failed = len(failed)
    return result


def claim(
    session: Session, now: datetime, limit: int, *, skip: Collection[int] = ()
) -> list[Timer]:
    """Lock up to `limit` due timers that no other sweeper holds, oldest first."""
    statement = (
        select(Timer)
        .where(Timer.status == "pending", Timer.due_at <= now)
        .order_by(Timer.due_at, Timer.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if skip:
        statement = statement.where(Timer.id.not_in(list(skip)))
    return list(session.scalars(statement))


def _lock_records(session: Session, timers: list[Timer]) -> dict[int, Record]:
    """Lock the batch's records in id order, skipping those another transaction holds.

    Two sweepers firing timers of one record, or a sweeper and an agent, would
    otherwise lock rows in opposite orders and deadlock; a record someone else
    holds is left for the next sweep. Two queries in all (records, their clocks).
    """
    ids = sorted({timer.record_id for timer in timers})
    statement = (
        select(Record)
        .where(Record.id.in_(ids))
        .order_by(Record.id)
        .with_for_update(skip_locked=True, of=Record)
    )
    return {r.id: r for r in session.scalars(statement)}


def fire(session: Session, specs: SpecCache, timer: Timer, record: Record, now: datetime) -> Fired:
    """Re-read the record, act on the timer, and mark it fired (or cancelled if moot)."""
    pack = specs.get(session, record.pack_version_id)
    handler = _HANDLERS[timer.kind]
    acted = handler(session, pack, record, timer, now)
    timer.status, timer.fired_at = ("fired" if acted else "cancelled"), now
    record.next_deadline = sla.nearest_deadline(record)
    return Fired(timer.id, record.id, timer.kind, timer.due_at, timer.status)


def _fire_guarded(
    session: Session, specs: SpecCache, timer: Timer, record: Record, now: datetime
) -> Fired | None:
    try:
        with session.begin_nested():
            return fire(session, specs, timer, record, now)
    except Exception as exc:  # one bad timer must not stop the sweep
        log.exception("timer %s (%s) failed", timer.id, timer.kind)
        timer.attempts += 1
        timer.last_error = f"{type(exc).__name__}: {exc}"[:500]
        if timer.attempts >= MAX_ATTEMPTS:
            timer.status = "failed"
        return None


def _late(timer: Timer, now: datetime) -> int:
    """Seconds between when the timer was due and when it fired: catch-up shows here."""
    return max(int((now - timer.due_at).total_seconds()), 0)


def _live_clock(session: Session, record: Record, timer: Timer) -> SlaClock | None:
    """The timer's clock, unless the record has moved on (met, paused, closed)."""
    clock = session.get(SlaClock, timer.clock_id) if timer.clock_id is not None else None
    if clock is None or clock.met_at is not None or not record.is_open:
        return None
    if clock.running_since is None and timer.kind != "sla_escalation":
        return None
    return clock


def _sla_threshold(
    session: Session, pack: PackSpec, record: Record, timer: Timer, now: datetime
) -> bool:
    """The warning share is used, or the deadline has come: record it and run the ladder."""
    clock = _live_clock(session, record, timer)
    if clock is None:
        return False
    if timer.kind == "sla_warning":
        at, kind = "warning", "warning"
        clock.warned_at = timer.due_at
    else:
        at, kind = "breach", "breached"
        clock.breached_at = timer.due_at
    changes = _run_steps(session, pack, record, clock, at, now, timer)
    add_event(
        session,
        record,
        now,
        f"sla.{clock.target}.{kind}",
        timer_id=timer.id,
        changes={"deadline": iso(clock.deadline), "late_seconds": _late(timer, now), **changes},
    )
    return True


def _sla_escalation(
    session: Session, pack: PackSpec, record: Record, timer: Timer, now: datetime
) -> bool:
    clock = _live_clock(session, record, timer)
    rtype = pack.record_type(record.record_type)
    if clock is None or rtype.sla is None or timer.step is None:
        return False
    step = rtype.sla.escalation[timer.step]
    changes = _act(session, pack, record, clock, [step], now, timer)
    add_event(
        session,
        record,
        now,
        f"sla.{clock.target}.escalated",
        timer_id=timer.id,
        changes={"step": step.index, "late_seconds": _late(timer, now), **changes},
    )
    return True


def _followup(
    session: Session, pack: PackSpec, record: Record, timer: Timer, now: datetime
) -> bool:
    rtype = pack.record_type(record.record_type)
    followup = rtype.followups.get(timer.name)
    if followup is None or not record.is_open:
        return False
    notify(
        session,
        record,
        now,
        "owner",
        f"followup.{followup.name}",
        {"title": followup.title, "due_at": timer.due_at.isoformat()},
        pack=pack,
        timer_id=timer.id,
    )
    changes: dict[str, object] = {
        "due_at": timer.due_at.isoformat(),
        "late_seconds": _late(timer, now),
    }
    if followup.every is not None:
        upcoming, missed = _next_period(pack, followup, timer.due_at, now)
        add_timer(session, record, "followup", followup.name, upcoming, now)
        if missed:
            changes["missed_periods"] = missed
    add_event(session, record, now, f"followup.{followup.name}", timer_id=timer.id, changes=changes)
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
    session: Session,
    pack: PackSpec,
    record: Record,
    clock: SlaClock,
    at: str,
    now: datetime,
    timer: Timer,
) -> dict[str, object]:
    """Run the ladder steps that act at once, arm those that come later; return what changed."""
    rtype = pack.record_type(record.record_type)
    assert rtype.sla is not None
    steps = [s for s in rtype.sla.escalation if s.at == at and s.after is None]
    changes = _act(session, pack, record, clock, steps, now, timer)
    sla.schedule_escalations(session, pack, record, clock, at, now)
    return changes


def _act(
    session: Session,
    pack: PackSpec,
    record: Record,
    clock: SlaClock,
    steps: list[EscalationStep],
    now: datetime,
    timer: Timer,
) -> dict[str, object]:
    """Notify each audience of the steps once, and raise the priority if a step says so."""
    if not steps:
        return {}
    audiences = list(dict.fromkeys(a for step in steps for a in step.notify))
    for audience in audiences:
        notify(
            session,
            record,
            now,
            audience,
            timer.kind.replace("sla_", f"sla.{clock.target}."),
            {"target": clock.target, "deadline": iso(clock.deadline)},
            pack=pack,
            timer_id=timer.id,
        )
    changes: dict[str, object] = {"notified": audiences}
    if any(step.raise_priority for step in steps):
        raised = pack.raised(record.priority)
        if raised != record.priority:
            changes["priority"] = [record.priority, raised]
            record.priority, record.priority_rank = raised, pack.priority_rank(raised)
    return changes


_HANDLERS = {
    "sla_warning": _sla_threshold,
    "sla_breach": _sla_threshold,
    "sla_escalation": _sla_escalation,
    "followup": _followup,
}
