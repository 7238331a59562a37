"""SLA clocks of a record (R-2.4): start, pause, resume, meet, and the timers each needs.

A clock counts working time on its calendar (or wall time for plain
durations such as `2h`), minus the time the record waited on the customer.
Deadlines are stored, so the queue can sort on them, and every moment a
clock must act on (warning, breach) is a timer row written in the same
transaction as the change that caused it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.customers import loyalty
from engine.events import SlaMet, SlaPaused, SlaResumed, SlaStopped
from engine.records.journal import Arm, add_event, add_timer, arm_now, cancel_timers
from engine.records.rows import ClockView, RecordView
from engine.specs.pack import PackSpec, RecordTypeSpec, StageSpec
from engine.specs.slaterms import SlaTerm
from engine.store.models import Record, SlaClock, Timer
from engine.store.rowobjects import row_object
from engine.time.calendar import BusinessCalendar
from engine.time.durations import Duration

ALWAYS = BusinessCalendar.always()
SLA_TIMER_KINDS = ("sla_warning", "sla_breach", "sla_escalation")


def measure(pack: PackSpec, clock: ClockView) -> BusinessCalendar:
    """The calendar a clock counts on: its business calendar for working time, else all time."""
    return pack.calendars[clock.calendar] if clock.working else ALWAYS


def offset(pack: PackSpec, calendar: str | None, start: datetime, amount: Duration) -> datetime:
    """`start` + `amount`, on the calendar when the amount is working time."""
    if amount.working and calendar is not None:
        cal = pack.calendars[calendar]
        return cal.add(start, amount.seconds(cal.working_day_seconds))
    return start + timedelta(seconds=amount.seconds())


def facts(
    record: RecordView, tier: str | None, loyalty_level: str | None = None
) -> dict[str, str | None]:
    """What a term's condition reads (R-2.5): the record's channel, category and priority,
    its customer's tier and loyalty level (R-5.4), and its own field values (a choice field
    such as `refund_type`)."""
    own = {name: str(value) for name, value in record.fields.items() if value is not None}
    return {
        **own,
        "channel": record.channel,
        "category": record.category,
        "priority": record.priority,
        "tier": tier,
        "loyalty_level": loyalty_level,
    }


def level_if_read(
    session: Session, pack: PackSpec, rtype: RecordTypeSpec, record: Record, now: datetime
) -> str | None:
    """The customer's loyalty level when one of the type's terms reads it (R-5.4), else None
    without a query: the intake's statement count stays what it was for every other pack."""
    if rtype.sla is None or "loyalty_level" not in rtype.sla.depends_on:
        return None
    customer_id = record.customer.id if record.customer is not None else record.customer_id
    if customer_id is None:
        return None
    return loyalty.standing(session, pack, customer_id, now).level


def start_clocks(
    session: Session,
    pack: PackSpec,
    rtype: RecordTypeSpec,
    record: Record,
    now: datetime,
    *,
    tier: str | None = None,
    arm: Arm | None = None,
) -> list[SlaClock]:
    """One clock per target the record's terms set, started when the channel received it.

    For a new record only, the intake's: the clocks become `record.clocks`, not added to the
    session, and the intake writes them as rows with the record (`records.intakerows`).
    Their timers go to `arm` (default: objects in the session): a batch of intakes gathers
    them and writes them with one statement once the clocks have their ids.
    """
    if rtype.sla is None:
        return []
    level = level_if_read(session, pack, rtype, record, now)
    terms = rtype.sla.terms_of(facts(record, tier, level))
    # built as rows are loaded, without attribute events: `rowobjects`
    clocks = [row_object(SlaClock, _clock_values(pack, record, t)) for t in terms.values()]
    set_committed_value(record, "clocks", clocks)
    pause_in = rtype.sla.pause_in
    if pause_in is not None and pause_in.matches(rtype.stage(record.stage)):
        for clock in clocks:
            clock.running_since = None
    else:
        plan_all(session, pack, record, clocks, now, arm=arm)
    return clocks


def retarget(
    session: Session, pack: PackSpec, record: Record, clock: SlaClock, term: SlaTerm, now: datetime
) -> None:
    """Put an unmet clock under another term, carrying the time already used (R-2.5).

    The working time counted so far stays counted against the new budget, whatever calendar
    the new term counts on; a warning or breach already recorded stays. A budget grown by an
    extension was a promise under the old term and is replaced by the new term's.
    """
    running = clock.running_since is not None
    _stop(pack, clock, now)
    cancel_timers(session, record, kinds=SLA_TIMER_KINDS, clock=clock)
    calendar = pack.calendars[term.calendar]
    clock.term, clock.calendar, clock.working = term.term, term.calendar, term.within.working
    clock.budget_seconds = term.within.seconds(calendar.working_day_seconds)
    clock.warning_fraction = term.warning
    if running:
        _restart(session, pack, record, clock, now)


def replan(
    session: Session, pack: PackSpec, record: Record, clock: SlaClock, now: datetime
) -> None:
    """Count the time used so far, then run the clock on what is left of its budget, with
    new timers (its budget changed: a deadline moved, `time.extensions`)."""
    _stop(pack, clock, now)
    cancel_timers(session, record, kinds=SLA_TIMER_KINDS, clock=clock)
    _restart(session, pack, record, clock, now)


def _restart(
    session: Session, pack: PackSpec, record: Record, clock: SlaClock, now: datetime
) -> None:
    """Run the clock from `now` on what is left, re-arming what has not happened yet."""
    clock.running_since = now
    plan(session, pack, record, clock, now)
    if clock.breached_at is not None:
        _replan_escalations(session, pack, record, clock, now)


def new_clock(pack: PackSpec, record: Record, term: SlaTerm) -> SlaClock:
    """A clock of `term`, counting from when the channel received the record."""
    return SlaClock(**_clock_values(pack, record, term))


def _clock_values(pack: PackSpec, record: Record, term: SlaTerm) -> dict[str, Any]:
    calendar = pack.calendars[term.calendar]
    return {
        "record": record,
        "target": term.target,
        "term": term.term,
        "calendar": term.calendar,
        "working": term.within.working,
        "budget_seconds": term.within.seconds(calendar.working_day_seconds),
        "warning_fraction": term.warning,
        "started_at": record.received_at,
        "running_since": record.received_at,
        "consumed_seconds": 0.0,
    }


def plan(
    session: Session,
    pack: PackSpec,
    record: Record,
    clock: SlaClock,
    now: datetime,
    *,
    arm: Arm | None = None,
) -> None:
    """Compute warning and deadline from what is left, and arm a timer for each still to come."""
    plan_all(session, pack, record, [clock], now, arm=arm)


def plan_all(
    session: Session,
    pack: PackSpec,
    record: Record,
    clocks: list[SlaClock],
    now: datetime,
    *,
    arm: Arm | None = None,
) -> None:
    """`plan` for running clocks of `record`, in their order. Those on one calendar running
    since one moment (a clock's warning and deadline; at intake, all the record's clocks, since
    receipt) are answered by one `add_each`, which places that moment once for all of them."""
    arm = arm or arm_now(session)
    keys: list[tuple[BusinessCalendar, datetime]] = []
    asks: dict[tuple[BusinessCalendar, datetime], list[float]] = {}
    for clock in clocks:
        assert clock.running_since is not None
        keys.append(key := (measure(pack, clock), clock.running_since))
        amounts = asks.setdefault(key, [])
        if clock.warned_at is None:
            left = clock.budget_seconds * clock.warning_fraction - clock.consumed_seconds
            amounts.append(max(left, 0.0))
        if clock.breached_at is None:
            amounts.append(max(clock.budget_seconds - clock.consumed_seconds, 0.0))
    due = {key: iter(key[0].add_each(key[1], amounts)) for key, amounts in asks.items()}
    for clock, key in zip(clocks, keys, strict=True):
        if clock.warned_at is None:
            clock.warning_at = next(due[key])
            arm(record, "sla_warning", clock.target, clock.warning_at, now, clock=clock)
        if clock.breached_at is None:
            clock.deadline = next(due[key])
            arm(record, "sla_breach", clock.target, clock.deadline, now, clock=clock)


def on_stage_change(
    session: Session,
    pack: PackSpec,
    rtype: RecordTypeSpec,
    record: Record,
    old: StageSpec,
    new: StageSpec,
    now: datetime,
    actor: str,
) -> None:
    """Meet, pause, resume or stop each clock as the record moves from `old` to `new`."""
    if rtype.sla is None:
        return
    pause_in = rtype.sla.pause_in
    for clock in record.clocks:
        if clock.met_at is not None:
            continue
        target = rtype.sla.targets.get(clock.target)
        if target is not None and _meets(
            target.met_on, target.met_by.matches(old), target.met_by.matches(new)
        ):
            _meet(session, pack, record, clock, now, actor)
        elif new.is_closed or (pause_in is not None and pause_in.matches(new)):
            if clock.running_since is not None:
                _pause(session, pack, record, clock, now, actor, closed=new.is_closed)
        elif clock.running_since is None:
            _resume(session, pack, record, clock, now, actor)


def on_first_reply(
    session: Session,
    pack: PackSpec,
    rtype: RecordTypeSpec,
    record: Record,
    now: datetime,
    actor: str,
) -> None:
    """The first reply to the customer meets the targets whose `met_by` says `first_reply`."""
    if rtype.sla is None:
        return
    for clock in record.clocks:
        target = rtype.sla.targets.get(clock.target)
        if clock.met_at is None and target is not None and target.met_by_first_reply:
            _meet(session, pack, record, clock, now, actor)
    record.next_deadline = nearest_deadline(record)


def _meets(on: str, was: bool, now_in: bool) -> bool:
    return (was and not now_in) if on == "leaving" else (now_in and not was)


def _stop(pack: PackSpec, clock: SlaClock, now: datetime) -> None:
    if clock.running_since is not None:
        clock.consumed_seconds += measure(pack, clock).working_seconds_between(
            clock.running_since, now
        )
        clock.running_since = None


def _meet(
    session: Session, pack: PackSpec, record: Record, clock: SlaClock, now: datetime, actor: str
) -> None:
    _stop(pack, clock, now)
    clock.met_at = now
    cancel_timers(session, record, kinds=SLA_TIMER_KINDS, clock=clock)
    met = SlaMet(
        clock.target, clock.deadline, clock.breached_at is None, round(clock.consumed_seconds)
    )
    add_event(session, record, now, met, actor=actor)


def _pause(
    session: Session,
    pack: PackSpec,
    record: Record,
    clock: SlaClock,
    now: datetime,
    actor: str,
    *,
    closed: bool,
) -> None:
    _stop(pack, clock, now)
    if clock.warned_at is None:
        clock.warning_at = None
    if clock.breached_at is None:
        clock.deadline = None
    cancel_timers(session, record, kinds=SLA_TIMER_KINDS, clock=clock)
    stopped = (SlaStopped if closed else SlaPaused)(clock.target, round(clock.consumed_seconds))
    add_event(session, record, now, stopped, actor=actor)


def _resume(
    session: Session, pack: PackSpec, record: Record, clock: SlaClock, now: datetime, actor: str
) -> None:
    _restart(session, pack, record, clock, now)
    add_event(session, record, now, SlaResumed(clock.target, clock.deadline), actor=actor)


def _replan_escalations(
    session: Session, pack: PackSpec, record: Record, clock: SlaClock, now: datetime
) -> None:
    """After a pause, re-arm the post-breach steps that had not fired yet."""
    fired = set(
        session.scalars(
            select(Timer.step).where(
                Timer.clock_id == clock.id, Timer.kind == "sla_escalation", Timer.status == "fired"
            )
        )
    )
    schedule_escalations(session, pack, record, clock, "breach", now, skip=frozenset(fired))


def schedule_escalations(
    session: Session,
    pack: PackSpec,
    record: Record,
    clock: SlaClock,
    at: str,
    now: datetime,
    *,
    skip: frozenset[int | None] = frozenset(),
) -> None:
    """Timers for the ladder steps that come some time after the warning or the breach."""
    for step, due in escalations_due(pack, record, clock, at, skip=skip):
        add_timer(session, record, "sla_escalation", clock.target, due, now, clock=clock, step=step)


def escalations_due(
    pack: PackSpec,
    record: RecordView,
    clock: ClockView,
    at: str,
    *,
    skip: frozenset[int | None] = frozenset(),
) -> list[tuple[int, datetime]]:
    """(step, due time) of the ladder steps some time after the warning or the breach: pure."""
    rtype = pack.record_type(record.record_type)
    assert rtype.sla is not None
    base = clock.warning_at if at == "warning" else clock.deadline
    return [
        (step.index, offset(pack, clock.calendar, base, step.after))
        for step in rtype.sla.escalation
        if step.at == at and step.after is not None and step.index not in skip and base
    ]


def nearest_deadline(record: RecordView) -> datetime | None:
    """The deadline the queue sorts on: the nearest of the clocks not yet met (R-2.6)."""
    deadlines = [c.deadline for c in record.clocks if c.met_at is None and c.deadline is not None]
    return min(deadlines, default=None)
