"""Follow-ups timed back from an SLA deadline (R-3.2): `before: 1 working day` `of: resolve`.

"If the deadline must move, the customer hears at least a day before it": the owner is
reminded one working day before the deadline, wherever the deadline is now. The timer is a
row like any other, swept exactly once; every change that can move a deadline (a stage change
that pauses, resumes or meets a clock, a new SLA term, a re-grade, an extension, a field edit)
calls `sync`, which leaves a pending timer that is still right alone, cancels one that is not,
and arms the new one. A reminder already fired for the same deadline is not fired again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.records.journal import Arm, arm_now, cancel_timers
from engine.records.rows import ClockView, RecordView
from engine.specs.pack import CORE_FIELDS, FollowUpSpec, PackSpec, RecordTypeSpec
from engine.store.models import Record, Timer
from engine.time.sla import measure

FOLLOWUP = "followup"


def condition_context(record: RecordView) -> dict[str, Any]:
    """What a follow-up's `when` reads: the record's fields, attributes and stage."""
    core = {name: getattr(record, name) for name in CORE_FIELDS}
    return {"record": {**record.fields, **core, "stage": record.stage}, "customer": {}, "form": {}}


def holds(followup: FollowUpSpec, record: RecordView) -> bool:
    return followup.when is None or followup.when.holds(condition_context(record))


def deadline_clock(followup: FollowUpSpec, record: RecordView) -> ClockView | None:
    """The clock whose deadline the follow-up counts back from, while that deadline stands:
    the record open, the target neither met nor breached, the clock running."""
    clock = next((c for c in record.clocks if c.target == followup.of), None)
    if clock is None or not record.is_open or clock.met_at is not None:
        return None
    if clock.breached_at is not None or clock.deadline is None:
        return None
    return clock


def due_at(pack: PackSpec, followup: FollowUpSpec, record: RecordView) -> datetime | None:
    """When the follow-up is due now, or None when it is not due at all (no standing deadline,
    or its condition does not hold)."""
    clock = deadline_clock(followup, record)
    if clock is None or clock.deadline is None or not holds(followup, record):
        return None
    assert followup.before is not None
    if not followup.before.working:
        return clock.deadline - timedelta(seconds=followup.before.seconds())
    calendar = pack.calendars[followup.calendar] if followup.calendar else measure(pack, clock)
    return calendar.subtract(clock.deadline, followup.before.seconds(calendar.working_day_seconds))


def sync(
    session: Session,
    pack: PackSpec,
    rtype: RecordTypeSpec,
    record: Record,
    now: datetime,
    *,
    arm: Arm | None = None,
    fresh: bool = False,
) -> None:
    """Bring the record's deadline-relative follow-up timers in line with its deadlines now.

    `fresh`: the record was just created and has no timers yet (nothing to read or cancel).
    """
    followups = [f for f in rtype.followups.values() if f.before is not None]
    if not followups:
        return
    arm = arm or arm_now(session)
    timers = {} if fresh else _timers(session, record, [f.name for f in followups])
    for followup in followups:
        due = due_at(pack, followup, record)
        pending = timers.get((followup.name, "pending"), [])
        if due is not None and len(pending) == 1 and same(pending[0], due):
            continue
        if pending:
            cancel_timers(session, record, kinds=[FOLLOWUP], name=followup.name)
        fired = timers.get((followup.name, "fired"), [])
        if due is not None and not any(same(done, due) for done in fired):
            arm(record, FOLLOWUP, followup.name, due, now)


def same(a: datetime, b: datetime) -> bool:
    """One due time, whatever rounding storing it took (the database keeps microseconds or
    whole seconds)."""
    return abs((a - b).total_seconds()) < 1


def _timers(
    session: Session, record: Record, names: list[str]
) -> Mapping[tuple[str, str], list[datetime]]:
    """Due times of the pending and fired timers of these follow-ups, by name and status."""
    found: dict[tuple[str, str], list[datetime]] = {}
    rows = session.execute(
        select(Timer.name, Timer.status, Timer.due_at).where(
            Timer.record_id == record.id,
            Timer.kind == FOLLOWUP,
            Timer.name.in_(names),
            Timer.status.in_(("pending", "fired")),
        )
    )
    for name, status, due in rows:
        found.setdefault((name, status), []).append(due)
    return found
