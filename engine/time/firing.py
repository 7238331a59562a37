"""What each due timer does to its record, in memory: SLA thresholds, ladder steps, follow-ups.

A handler reads the record and its clocks as plain rows (`claims.lock_records`), changes
them in place, and gathers the rows it leaves behind (events, notifications, new timers)
in the batch's `Effects`; `timers` writes all of it. It returns False when the record has
moved on and the timer has nothing left to do (it is then marked cancelled).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from engine.events import Escalated, FollowUpDue, Ladder, SlaBreached, SlaWarned
from engine.records.journal import Effects
from engine.records.rows import ClockRow, RecordRow
from engine.specs.pack import EscalationStep, FollowUpSpec, PackSpec
from engine.time import beforedeadline, sla
from engine.time.claims import Due
from engine.time.clock import iso
from engine.time.followups import CONTACT, contact_due, contacts_of_followup, next_due

MAX_CATCH_UP_PERIODS = 100_000


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
    if not beforedeadline.holds(followup, record):  # its `when` is false now: nothing is due
        if followup.every is not None:  # but the rhythm goes on, for when it holds again
            upcoming, _missed = _next_period(pack, followup, timer.due_at, now)
            effects.timer(record, "followup", followup.name, upcoming, now)
        return False
    context: dict[str, str | None] = {"title": followup.title, "due_at": timer.due_at.isoformat()}
    if followup.before is not None:
        deadline = _standing_deadline(pack, followup, record, timer)
        if deadline is None:
            return False
        context["deadline"] = iso(deadline)
    effects.notify(
        pack, record, now, "owner", f"followup.{followup.name}", context, timer_id=timer.id
    )
    missed = 0
    if followup.every is not None:
        upcoming, missed = _next_period(pack, followup, timer.due_at, now)
        effects.timer(record, "followup", followup.name, upcoming, now)
    for contact in contacts_of_followup(rtype, followup.name):  # told as well (issue #20)
        effects.timer(record, CONTACT, contact.name, contact_due(pack, contact, now), now)
    due = FollowUpDue(followup.name, timer.due_at, _late(timer, now), missed)
    effects.event(record, now, due, timer_id=timer.id)
    return True


def _standing_deadline(
    pack: PackSpec, followup: FollowUpSpec, record: RecordRow, timer: Due
) -> datetime | None:
    """The deadline a `before` follow-up counts back from, if it is still due at the timer's
    time: `beforedeadline.sync` re-arms it whenever the deadline moves, so a timer of an old
    deadline, or of one met or paused meanwhile, has nothing to do."""
    due = beforedeadline.due_at(pack, followup, record)
    clock = beforedeadline.deadline_clock(followup, record)
    if due is None or clock is None or not beforedeadline.same(due, timer.due_at):
        return None
    return clock.deadline


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


def handle(effects: Effects, pack: PackSpec, record: RecordRow, timer: Due, now: datetime) -> bool:
    """Do what the timer is for; False when the record moved on and there is nothing to do."""
    return _HANDLERS[timer.kind](effects, pack, record, timer, now)
