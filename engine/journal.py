"""Rows a change leaves behind in the same transaction: history events, timers, notifications."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from engine import outbox, webhooks
from engine.spec import PackSpec
from engine.store.models import Notification, Record, RecordEvent, SlaClock, Timer

SYSTEM = "system"


def add_event(
    session: Session,
    record: Record,
    at: datetime,
    kind: str,
    *,
    actor: str = SYSTEM,
    transition: str | None = None,
    from_stage: str | None = None,
    to_stage: str | None = None,
    changes: dict[str, Any] | None = None,
    timer_id: int | None = None,
) -> RecordEvent:
    """Append one history entry; history is never updated or deleted."""
    event = RecordEvent(
        record=record,
        at=at,
        actor=actor,
        kind=kind,
        transition=transition,
        from_stage=from_stage,
        to_stage=to_stage,
        changes=changes or {},
        timer_id=timer_id,
    )
    session.add(event)
    webhooks.enqueue(session, record, event)
    return event


def add_timer(
    session: Session,
    record: Record,
    kind: str,
    name: str,
    due_at: datetime,
    now: datetime,
    *,
    clock: SlaClock | None = None,
    step: int | None = None,
) -> Timer:
    """A due time the sweep will claim; written with the change that caused it."""
    timer = Timer(
        record=record,
        clock=clock,
        kind=kind,
        name=name,
        step=step,
        due_at=due_at,
        status="pending",
        created_at=now,
        attempts=0,
    )
    session.add(timer)
    return timer


def cancel_timers(
    session: Session,
    record: Record,
    *,
    kinds: Iterable[str] | None = None,
    name: str | None = None,
    clock: SlaClock | None = None,
) -> None:
    """Cancel pending timers that a state change made pointless, in one statement."""
    if record.id is None or (clock is not None and clock.id is None):
        session.flush()  # ids are read below, before the statement would autoflush
    statement = update(Timer).where(Timer.record_id == record.id, Timer.status == "pending")
    if kinds is not None:
        statement = statement.where(Timer.kind.in_(list(kinds)))
    if name is not None:
        statement = statement.where(Timer.name == name)
    if clock is not None:
        statement = statement.where(Timer.clock_id == clock.id)
    session.execute(
        statement.values(status="cancelled"), execution_options={"synchronize_session": False}
    )


def notify(
    session: Session,
    record: Record,
    at: datetime,
    audience: str,
    subject: str,
    detail: dict[str, Any],
    *,
    pack: PackSpec,
    timer_id: int | None = None,
) -> Notification:
    """A task for someone (owner, supervisor, manager), once per timer, and its messages."""
    notification = Notification(
        record_id=record.id,
        created_at=at,
        audience=audience,
        subject=subject,
        detail=detail,
        timer_id=timer_id,
    )
    session.add(notification)
    session.flush()
    outbox.compose(session, pack, record, notification, at)
    return notification
