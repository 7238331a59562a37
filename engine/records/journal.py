"""Rows a change leaves behind in the same transaction: history events, timers, notifications.

One change writes them as objects (`add_event`, `add_timer`, `notify`); a batch of
changes, such as a sweep firing a hundred timers, gathers them in `Effects` and writes
each kind in one statement.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, update
from sqlalchemy.orm import Session

from engine.delivery import outbox, webhooks
from engine.events import Event
from engine.records import followers
from engine.records.rowinsert import insert_rows
from engine.records.rows import RecordView
from engine.specs.pack import PackSpec
from engine.store.models import Notification, OutboxMessage, Record, RecordEvent, SlaClock, Timer

SYSTEM = "system"
EVENTS: Table = RecordEvent.__table__  # type: ignore[assignment]
NOTIFICATIONS: Table = Notification.__table__  # type: ignore[assignment]
OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]
TIMERS: Table = Timer.__table__  # type: ignore[assignment]


def add_event(
    session: Session,
    record: Record,
    at: datetime,
    event: Event,
    *,
    actor: str = SYSTEM,
    timer_id: int | None = None,
) -> RecordEvent:
    """Append one history entry; history is never updated or deleted.

    The row says what `event` says: its kind, its changes and, for a stage, where from and
    by which transition. Subscribed integrations and the record's followers are told of it
    in the same transaction.
    """
    row = RecordEvent(
        record=record,
        at=at,
        actor=actor,
        kind=event.kind,
        transition=event.transition,
        from_stage=event.from_stage,
        to_stage=event.to_stage,
        changes=event.changes(),
        timer_id=timer_id,
    )
    session.add(row)
    webhooks.enqueue(session, record, row)
    followers.tell(session, record, row)
    return row


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


class Arm(Protocol):
    """Where a change puts a timer it arms: a row at once (`add_timer`), or gathered for a batch
    whose records and clocks get their ids later (`records.create_records`)."""

    def __call__(
        self,
        record: Record,
        kind: str,
        name: str,
        due_at: datetime,
        now: datetime,
        *,
        clock: SlaClock | None = None,
        step: int | None = None,
    ) -> object: ...


def arm_now(session: Session) -> Arm:
    """The default `Arm`: each timer an object added to the session."""
    return functools.partial(add_timer, session)


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


def event_row(
    record_id: int | None,
    at: datetime,
    event: Event,
    *,
    timer_id: int | None = None,
    actor: str = SYSTEM,
) -> dict[str, Any]:
    """A history line as a row to insert: what `add_event` writes as an object."""
    return {
        "record_id": record_id,
        "at": at,
        "actor": actor,
        "kind": event.kind,
        "transition": event.transition,
        "from_stage": event.from_stage,
        "to_stage": event.to_stage,
        "changes": event.changes(),
        "timer_id": timer_id,
    }


def timer_row(
    record_id: int | None,
    kind: str,
    name: str,
    due_at: datetime,
    now: datetime,
    *,
    clock_id: int | None = None,
    step: int | None = None,
) -> dict[str, Any]:
    """A pending timer as a row to insert: what `add_timer` writes as an object."""
    return {
        "record_id": record_id,
        "clock_id": clock_id,
        "kind": kind,
        "name": name,
        "step": step,
        "due_at": due_at,
        "status": "pending",
        "created_at": now,
        "fired_at": None,
        "attempts": 0,
        "last_error": None,
    }


def write_hooks(
    session: Session, written: Iterable[tuple[RecordView, Event, int]], at: datetime
) -> None:
    """The subscribers' outbox rows for events already written with their ids (one statement,
    none when nobody subscribed): intake writes its creation events with the records."""
    rows = [
        {**_NO_MESSAGE, **row}
        for record, event, event_id in written
        if (hooks := _hooks(session, record, event, at)) is not None
        for row in hooks.rows(event_id)
    ]
    insert_rows(session, OUTBOX, rows)


def _hooks(
    session: Session, record: RecordView, event: Event, at: datetime
) -> webhooks.Hooks | None:
    return webhooks.hooks_for(
        session,
        record,
        event.kind,
        at,
        transition=event.transition,
        from_stage=event.from_stage,
        to_stage=event.to_stage,
    )


@dataclass
class Effects:
    """The rows a batch of changes leaves behind, gathered in Python, written one statement a kind.

    Nothing is flushed while the batch is computed. `write` inserts the events and the
    notifications with `INSERT … RETURNING id` in the order they were gathered, then their
    outbox rows (which name them) and the new timers: four statements for the whole batch,
    whatever its size. Messages keep the order the one-change-at-a-time path gives them:
    each notification's, then its change's event's subscribers'.
    """

    session: Session
    events: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    timers: list[dict[str, Any]] = field(default_factory=list)
    # In the order they happened: (notification index, its outbox rows) or (event index, hooks).
    _messages: list[tuple[int, list[dict[str, Any]] | webhooks.Hooks]] = field(default_factory=list)

    def event(
        self,
        record: RecordView,
        at: datetime,
        event: Event,
        *,
        timer_id: int | None = None,
        actor: str = SYSTEM,
    ) -> None:
        """`add_event` for a record that has its id, in the batch."""
        self.events.append(event_row(record.id, at, event, timer_id=timer_id, actor=actor))
        hooks = _hooks(self.session, record, event, at)
        if hooks is not None:
            self._messages.append((len(self.events) - 1, hooks))

    def notify(
        self,
        pack: PackSpec,
        record: RecordView,
        at: datetime,
        audience: str,
        subject: str,
        detail: dict[str, Any],
        *,
        timer_id: int | None = None,
    ) -> None:
        """`notify` in the batch: the task, and its messages rendered from the record as it is."""
        self.notifications.append(
            {
                "record_id": record.id,
                "created_at": at,
                "audience": audience,
                "subject": subject,
                "detail": detail,
                "delivered_at": None,
                "timer_id": timer_id,
            }
        )
        rows = outbox.message_rows(pack, record, audience, subject, detail, at)
        if rows:
            self._messages.append((len(self.notifications) - 1, rows))

    def timer(
        self,
        record: RecordView,
        kind: str,
        name: str,
        due_at: datetime,
        now: datetime,
        *,
        clock_id: int | None = None,
        step: int | None = None,
    ) -> None:
        """`add_timer` in the batch."""
        self.timers.append(
            timer_row(record.id, kind, name, due_at, now, clock_id=clock_id, step=step)
        )

    def write(self) -> None:
        event_ids = insert_rows(self.session, EVENTS, self.events, ids=True)
        notification_ids = insert_rows(self.session, NOTIFICATIONS, self.notifications, ids=True)
        messages: list[dict[str, Any]] = []
        for index, pending in self._messages:
            if isinstance(pending, webhooks.Hooks):
                rows = pending.rows(event_ids[index])
            else:
                rows = [{**row, "notification_id": notification_ids[index]} for row in pending]
            messages.extend({**_NO_MESSAGE, **row} for row in rows)
        insert_rows(self.session, OUTBOX, messages)
        insert_rows(self.session, TIMERS, self.timers)
        # The records' followers are told of breaches and escalations (one query, one insert).
        insert_rows(self.session, NOTIFICATIONS, followers.notice_rows(self.session, self.events))


# Every outbox row of a batch names every column: one executemany needs one shape.
_NO_MESSAGE: dict[str, Any] = {
    "notification_id": None,
    "event_id": None,
    "lease_until": None,
    "sent_at": None,
    "last_error": None,
}
