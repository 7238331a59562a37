"""Moving a deadline with a reason (R-3.2): the customer is told at least a day before.

The clock keeps counting working time on its calendar: the move adds the working time between
the old deadline and the new one to the clock's budget, so a pause while waiting on the customer
still stops it, and the warning and breach timers follow. A move later than the pack's notice
before the old deadline needs a supervisor's override; a deadline already passed stays breached.
The history keeps the reason, both deadlines and the override, and the record type's
`on: extended` contacts tell the customer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from engine import bounds
from engine.errors import InvalidInput
from engine.events import DeadlineExtended
from engine.records.journal import add_event
from engine.specs.pack import PackSpec
from engine.store.models import Record, SlaClock
from engine.time import beforedeadline, followups, sla
from engine.time.clock import require_aware

MAX_REASON = 500


class ExtensionRefused(InvalidInput):
    """Too late to move the deadline without a supervisor, or no deadline to move."""


def extend(
    session: Session,
    pack: PackSpec,
    record: Record,
    new_deadline: datetime,
    reason: str,
    *,
    actor: str,
    now: datetime,
    override: bool = False,
) -> DeadlineExtended:
    """Move the record type's extension target to `new_deadline`, or refuse (ExtensionRefused)."""
    rtype = pack.record_type(record.record_type)
    if rtype.extension is None:
        raise ExtensionRefused(f"{rtype.title} has no deadline that may move")
    bounds.check_moment(new_deadline, now, "deadline")  # not 9999: calendars count to it
    text = reason.strip()
    if not text or len(text) > MAX_REASON:
        raise InvalidInput(
            f"say why the deadline moves, in at most {MAX_REASON} characters",
            fields={"reason": "required"},
        )
    new_deadline = require_aware(new_deadline)
    clock = _open_clock(record, rtype.extension.target)
    old = clock.deadline
    assert old is not None  # an open clock that runs has its deadline
    if new_deadline <= old:
        raise InvalidInput(
            "the new deadline must come after the current one",
            fields={"deadline": f"after {pack.local_minute(old)}"},
        )
    if now >= old:
        raise ExtensionRefused(
            f"the deadline ({pack.local_minute(old)}) has passed: a breach stays a breach",
            fields={"deadline": "passed"},
        )
    notice = timedelta(seconds=rtype.extension.notice.seconds())
    if now > old - notice and not override:
        raise ExtensionRefused(
            f"the customer must be told at least {rtype.extension.notice.text} before the "
            f"deadline ({pack.local_minute(old)}); a supervisor may still move it",
            fields={"deadline": "too late to move without a supervisor"},
        )
    _move(session, pack, record, clock, old, new_deadline, now)
    event = DeadlineExtended(clock.target, old, new_deadline, text, override=override)
    add_event(session, record, now, event, actor=actor)
    record.next_deadline = sla.nearest_deadline(record)
    record.updated_at = now
    followups.arm_contacts(session, pack, record, rtype.contacts_on("extended"), now)
    followups.on_event(session, pack, rtype, record, "extended", now)
    beforedeadline.sync(session, pack, rtype, record, now)  # the reminder moves with it
    return event


def _open_clock(record: Record, target: str) -> SlaClock:
    clock = next((c for c in record.clocks if c.target == target), None)
    if not record.is_open or clock is None or clock.met_at is not None:
        raise ExtensionRefused(f"record {record.id} has no open '{target}' deadline to move")
    if clock.running_since is None or clock.deadline is None:
        raise ExtensionRefused(
            f"the '{target}' clock of record {record.id} is paused; its deadline moves when it runs"
        )
    return clock


def _move(
    session: Session,
    pack: PackSpec,
    record: Record,
    clock: SlaClock,
    old: datetime,
    new: datetime,
    now: datetime,
) -> None:
    """Grow the budget by the working time between the deadlines and re-plan the timers."""
    calendar = sla.measure(pack, clock)
    clock.budget_seconds += calendar.working_seconds_between(old, new)
    sla.replan(session, pack, record, clock, now)
