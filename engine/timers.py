"""Fire due timers: SLA warnings, breaches, escalation steps and follow-ups.

`fire_due(now)` selects pending timers whose time has come, like APScheduler's
`get_due_jobs(now)`, and fires each in its own transaction, so one failure is
logged and retried later without holding back the rest. On PostgreSQL due rows
are claimed with `FOR UPDATE SKIP LOCKED`, so several sweepers never fire the
same timer twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine import sla
from engine.followups import next_due
from engine.journal import add_event, add_timer, notify
from engine.spec import PackSpec
from engine.store.models import Record, SlaClock, Timer
from engine.versions import SpecCache

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Fired:
    """What one timer did, for logs, metrics and the simulator's timeline."""

    timer_id: int
    record_id: int
    kind: str
    due_at: datetime


def due_timer_ids(session: Session, now: datetime, limit: int) -> list[int]:
    return list(
        session.scalars(
            select(Timer.id)
            .where(Timer.status == "pending", Timer.due_at <= now)
            .order_by(Timer.due_at, Timer.id)
            .limit(limit)
        )
    )


def fire_due(
    session_factory: sessionmaker[Session], specs: SpecCache, now: datetime, *, limit: int = 500
) -> list[Fired]:
    """Fire up to `limit` due timers, oldest first, each in its own transaction."""
    with session_factory() as session:
        ids = due_timer_ids(session, now, limit)
    fired = []
    for timer_id in ids:
        with session_factory() as session:
            try:
                outcome = fire_one(session, specs, timer_id, now)
                session.commit()
            except Exception as exc:  # one bad timer must not stop the sweep
                session.rollback()
                _record_failure(session_factory, timer_id, exc)
                continue
        if outcome is not None:
            fired.append(outcome)
    return fired


def fire_one(session: Session, specs: SpecCache, timer_id: int, now: datetime) -> Fired | None:
    """Claim one timer and act on it; None when another sweeper got it first."""
    timer = session.scalars(
        select(Timer)
        .where(Timer.id == timer_id, Timer.status == "pending")
        .with_for_update(skip_locked=True)
    ).first()
    if timer is None:
        return None
    record = session.get(Record, timer.record_id)
    assert record is not None
    pack = specs.get(session, record.pack_version_id)
    _HANDLERS[timer.kind](session, pack, record, timer, now)
    timer.status, timer.fired_at = "fired", now
    record.next_deadline = sla.nearest_deadline(record)
    return Fired(timer.id, record.id, timer.kind, timer.due_at)


def _sla_warning(
    session: Session, pack: PackSpec, record: Record, timer: Timer, now: datetime
) -> None:
    clock = _clock(session, timer)
    clock.warned_at = timer.due_at
    add_event(
        session,
        record,
        now,
        f"sla.{clock.target}.warning",
        changes={"deadline": clock.deadline.isoformat() if clock.deadline else None},
    )
    _run_steps(session, pack, record, clock, "warning", now)


def _sla_breach(
    session: Session, pack: PackSpec, record: Record, timer: Timer, now: datetime
) -> None:
    clock = _clock(session, timer)
    clock.breached_at = timer.due_at
    add_event(
        session,
        record,
        now,
        f"sla.{clock.target}.breached",
        changes={"deadline": timer.due_at.isoformat()},
    )
    _run_steps(session, pack, record, clock, "breach", now)


def _sla_escalation(
    session: Session, pack: PackSpec, record: Record, timer: Timer, now: datetime
) -> None:
    clock = _clock(session, timer)
    step = pack.record_type(record.record_type).sla.escalation[timer.step]  # type: ignore[union-attr,index]
    _act(session, pack, record, clock, step.notify, step.raise_priority, now, step.at)


def _followup(
    session: Session, pack: PackSpec, record: Record, timer: Timer, now: datetime
) -> None:
    followup = pack.record_type(record.record_type).followups[timer.name]
    add_event(
        session,
        record,
        now,
        f"followup.{followup.name}",
        changes={"due_at": timer.due_at.isoformat()},
    )
    notify(
        session,
        record,
        now,
        "owner",
        f"followup.{followup.name}",
        {"title": followup.title, "due_at": timer.due_at.isoformat()},
    )
    if followup.every is not None:
        add_timer(
            session, record, "followup", followup.name, next_due(pack, followup, timer.due_at), now
        )


def _clock(session: Session, timer: Timer) -> SlaClock:
    clock = session.get(SlaClock, timer.clock_id)
    assert clock is not None
    return clock


def _run_steps(
    session: Session, pack: PackSpec, record: Record, clock: SlaClock, at: str, now: datetime
) -> None:
    """Run the ladder steps that act at once, and arm those that come later."""
    rtype = pack.record_type(record.record_type)
    assert rtype.sla is not None
    for step in rtype.sla.escalation:
        if step.at == at and step.after is None:
            _act(session, pack, record, clock, step.notify, step.raise_priority, now, at)
    sla.schedule_escalations(session, pack, record, clock, at, now)


def _act(
    session: Session,
    pack: PackSpec,
    record: Record,
    clock: SlaClock,
    audiences: tuple[str, ...],
    raise_priority: bool,
    now: datetime,
    at: str,
) -> None:
    subject = f"sla.{clock.target}.{'warning' if at == 'warning' else 'breached'}"
    for audience in audiences:
        notify(
            session,
            record,
            now,
            audience,
            subject,
            {
                "target": clock.target,
                "deadline": clock.deadline.isoformat() if clock.deadline else None,
            },
        )
    changes: dict[str, object] = {"notified": list(audiences)}
    if raise_priority:
        raised = pack.raised(record.priority)
        if raised != record.priority:
            changes["priority"] = [record.priority, raised]
            record.priority, record.priority_rank = raised, pack.priority_rank(raised)
    add_event(session, record, now, f"sla.{clock.target}.escalated", changes=changes)


def _record_failure(session_factory: sessionmaker[Session], timer_id: int, exc: Exception) -> None:
    log.exception("timer %s failed", timer_id)
    with session_factory() as session:
        timer = session.get(Timer, timer_id)
        if timer is None:
            return
        timer.attempts += 1
        timer.last_error = f"{type(exc).__name__}: {exc}"[:500]
        if timer.attempts >= MAX_ATTEMPTS:
            timer.status = "failed"
        session.commit()


_HANDLERS = {
    "sla_warning": _sla_warning,
    "sla_breach": _sla_breach,
    "sla_escalation": _sla_escalation,
    "followup": _followup,
}
