"""Re-choosing a record's SLA terms when what they depend on changes (R-2.1, R-2.5).

Triage sets the priority, an agent corrects the channel or the category, a field a term
names is edited: the terms are chosen again (`specs.slaterms`), and each clock not yet met
whose term is no longer the chosen one takes the new term's budget and calendar with the
time already used carried over (`sla.retarget`). A clock whose term is still the chosen one
does not move, so an extension granted under it stays. A target the new terms add, that the
old ones did not set, gets a clock counting from receipt.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine.events import SlaReplanned
from engine.records.journal import add_event
from engine.specs.pack import PackSpec, RecordTypeSpec
from engine.specs.slaterms import Facts, SlaTerm
from engine.store.models import Record, SlaClock
from engine.time import sla


def rechoose(
    session: Session,
    pack: PackSpec,
    rtype: RecordTypeSpec,
    record: Record,
    before: Facts,
    now: datetime,
    actor: str,
    *,
    tier: str | None = None,
) -> list[str]:
    """Choose the open record's terms again; `before` is what the terms read before the
    change. Returns the targets whose term changed."""
    if rtype.sla is None or not record.is_open:
        return []
    chosen = rtype.sla.terms_of(
        sla.facts(record, tier, sla.level_if_read(session, pack, rtype, record, now))
    )
    was = rtype.sla.terms_of(before)
    clocks = {clock.target: clock for clock in record.clocks}
    moved = []
    for target, term in chosen.items():
        clock = clocks.get(target)
        if clock is None:
            _add_clock(session, pack, rtype, record, term, now, actor)
            moved.append(target)
            continue
        old = clock.term or (was[target].term if target in was else None)
        if clock.met_at is not None or old == term.term:
            continue
        sla.retarget(session, pack, record, clock, term, now)
        event = SlaReplanned(
            target,
            before.get("priority"),
            record.priority,
            clock.deadline,
            old_term=old,
            new_term=term.term,
            used_seconds=round(clock.consumed_seconds),
        )
        add_event(session, record, now, event, actor=actor)
        moved.append(target)
    record.next_deadline = sla.nearest_deadline(record)
    return moved


def _add_clock(
    session: Session,
    pack: PackSpec,
    rtype: RecordTypeSpec,
    record: Record,
    term: SlaTerm,
    now: datetime,
    actor: str,
) -> SlaClock:
    """A clock for a target the old terms did not set: it counts the time on its calendar
    since receipt (time waited on the customer before the change included: the record kept
    no clock for it), and runs unless the record waits now."""
    clock = sla.new_clock(pack, record, term)
    session.add(clock)
    assert rtype.sla is not None
    pause_in = rtype.sla.pause_in
    if pause_in is not None and pause_in.matches(rtype.stage(record.stage)):
        clock.consumed_seconds = sla.measure(pack, clock).working_seconds_between(
            record.received_at, now
        )
        clock.running_since = None
    else:
        sla.plan(session, pack, record, clock, now)
    replanned = SlaReplanned(
        term.target, None, record.priority, clock.deadline, new_term=term.term, used_seconds=0
    )
    add_event(session, record, now, replanned, actor=actor)
    return clock


def on_change(
    session: Session,
    pack: PackSpec,
    rtype: RecordTypeSpec,
    record: Record,
    changes: dict[str, list[object]],
    now: datetime,
    actor: str,
    *,
    tier: str | None = None,
) -> list[str]:
    """`changes` ({name: [old, new]}) were written to the record: if a term's condition reads
    one of them, choose the terms again. Returns the targets whose term changed."""
    if rtype.sla is None or not set(changes) & rtype.sla.depends_on:
        return []
    before = {
        **sla.facts(record, tier, sla.level_if_read(session, pack, rtype, record, now)),
        **{name: None if old is None else str(old) for name, (old, _new) in changes.items()},
    }
    return rechoose(session, pack, rtype, record, before, now, actor, tier=tier)
