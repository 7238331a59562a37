"""What operators ask of the scheduler: did it sweep lately, what is due, what is stuck."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.store.models import OutboxMessage, SchedulerHeartbeat, Timer
from engine.time.clock import iso
from engine.time.timers import SweepResult


def record_sweep(
    session: Session,
    worker: str,
    started_at: datetime,
    now: datetime,
    result: SweepResult,
    duration_ms: float,
) -> None:
    """Upsert this worker's heartbeat after a sweep."""
    beat = session.get(SchedulerHeartbeat, worker)
    if beat is None:
        beat = SchedulerHeartbeat(worker=worker, started_at=started_at, total_fired=0)
        session.add(beat)
    beat.last_sweep_at = now
    beat.last_fired = len(result.fired)
    beat.last_failed = result.failed
    beat.last_duration_ms = duration_ms
    beat.total_fired = (beat.total_fired or 0) + len(result.fired)


def scheduler_status(session: Session, now: datetime) -> dict[str, Any]:
    """Last sweep, timers due now, the oldest overdue, outbox backlog (JSON-ready)."""
    due = select(Timer).where(Timer.status == "pending", Timer.due_at <= now).subquery()
    due_now, oldest = session.execute(select(func.count(), func.min(due.c.due_at))).one()
    last_sweep = session.scalar(select(func.max(SchedulerHeartbeat.last_sweep_at)))
    failed = session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "failed"))
    outbox = dict(
        session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.status.in_(["pending", "sending", "dead"]))
            .group_by(OutboxMessage.status)
        ).all()
    )
    workers = [
        {
            "worker": beat.worker,
            "last_sweep_at": iso(beat.last_sweep_at),
            "last_fired": beat.last_fired,
            "total_fired": beat.total_fired,
        }
        for beat in session.scalars(
            select(SchedulerHeartbeat).order_by(SchedulerHeartbeat.last_sweep_at.desc()).limit(20)
        )
    ]
    return {
        "now": now.isoformat(),
        "last_sweep_at": iso(last_sweep),
        "timers_due_now": due_now,
        "oldest_overdue": iso(oldest),
        "oldest_overdue_seconds": int((now - oldest).total_seconds()) if oldest else 0,
        "failed_timers": failed,
        "outbox_backlog": outbox.get("pending", 0) + outbox.get("sending", 0),
        "dead_letters": outbox.get("dead", 0),
        "workers": workers,
    }
