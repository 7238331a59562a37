"""Moving a record (R-2, R-3): transitions, priority changes, duplicates and timeline notes.

Each runs inside a caller's unit of work and writes the record, its history, its SLA clocks
and its timers in that one transaction. Two transitions racing on one record: the optimistic
row version lets one win; the other gets a ConflictError when its unit of work commits, and
nothing of it is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.customers import satisfaction, tiers
from engine.errors import InvalidInput, NotFound, TransitionRefused
from engine.events import NOTES, PriorityChanged, StageEntered
from engine.knowledge import articles
from engine.records import personal, queue
from engine.records.fieldvalues import coerce_values, require_values
from engine.records.journal import add_event, cancel_timers
from engine.records.standing import tier_of
from engine.specs.pack import CORE_FIELDS, PackSpec, RecordTypeSpec, StageSpec, TransitionSpec
from engine.store.models import Customer, Record
from engine.time import beforedeadline, followups, sla, terms


def apply_transition(
    session: Session,
    pack: PackSpec,
    record: Record,
    transition_id: str,
    form: Mapping[str, Any],
    *,
    actor: str,
    now: datetime,
) -> Record:
    """Check stage, required fields and guard; write values, effects, history and clocks."""
    rtype = pack.record_type(record.record_type)
    transition = _transition(rtype, record, transition_id)
    asked = {f.field for f in transition.form}
    extra = sorted(set(form) - asked)
    if extra:
        raise InvalidInput(
            f"transition '{transition.id}' does not ask for {', '.join(extra)}",
            fields={name: "not part of this form" for name in extra},
        )
    values = coerce_values(pack, rtype, form)
    require_values(rtype, values, [f.field for f in transition.form if f.required])
    current = {
        **personal.all_fields(record),
        **{name: getattr(record, name) for name in CORE_FIELDS},
    }
    context = {
        "record": {**current, **values, "stage": record.stage},
        "customer": _customer_view(session, pack, record.customer),
        "form": values,
    }
    if transition.guard is not None and not transition.guard.holds(context):
        raise TransitionRefused(
            f"transition '{transition.id}' is not allowed for record {record.id} now: "
            f"its condition `{transition.guard.source}` does not hold"
        )
    values.update(_effects(pack, transition, context))
    changes = _write(pack, record, values, current)
    satisfaction.from_form(session, pack, record, values, actor=actor, now=now)
    new = rtype.stage(transition.target)
    enter_stage(session, pack, rtype, record, new, transition.id, changes, actor=actor, now=now)
    if record.is_open and "department" in changes:
        queue.auto_assign(session, record, now)
    return record


def enter_stage(
    session: Session,
    pack: PackSpec,
    rtype: RecordTypeSpec,
    record: Record,
    new: StageSpec,
    via: str,
    changes: dict[str, Any],
    *,
    actor: str,
    now: datetime,
) -> None:
    """Move the record into `new` with all that follows: history, SLA clocks, follow-ups,
    the case library, timers and the queue's deadline.

    Every move after intake (a transition `via`, or closing as a duplicate) comes here, so
    no step can be left out of one of them (issue #19: duplicates skipped the case library).
    `changes` are the field values the move wrote ({field: [old, new]}): a new priority,
    channel or other value an SLA term reads chooses the terms again (`time.terms`).
    """
    old = rtype.stage(record.stage)
    record.stage, record.stage_kind = new.id, new.kind
    record.is_open = not new.is_closed
    record.closed_at = now if new.is_closed else None
    record.updated_at = now
    add_event(session, record, now, StageEntered(new.id, changes, old.id, via), actor=actor)
    sla.on_stage_change(session, pack, rtype, record, old, new, now, actor)
    if rtype.sla is not None and set(changes) & rtype.sla.depends_on:
        tier = record_tier(session, pack, record)
        terms.on_change(session, pack, rtype, record, changes, now, actor, tier=tier)
    followups.on_stage_change(session, pack, rtype, record, old, new, now)
    if not new.is_closed:
        beforedeadline.sync(session, pack, rtype, record, now)
    articles.on_stage_change(session, record, old.kind, new.kind, now)
    record.next_deadline = sla.nearest_deadline(record)
    if new.is_closed:
        cancel_timers(session, record)


NOTE_KINDS = tuple(NOTES)


def add_note(
    session: Session, record: Record, kind: str, text: str, *, actor: str, now: datetime
) -> None:
    """An internal note, or a message from or to the customer, on the record's timeline."""
    if kind not in NOTE_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(NOTE_KINDS)}", fields={"kind": kind})
    if not text.strip():
        raise InvalidInput("text is empty", fields={"text": "required"})
    add_event(session, record, now, NOTES[kind](text), actor=actor)
    record.updated_at = now


def get_record(session: Session, record_id: int) -> Record:
    record = session.get(Record, record_id)
    if record is None:
        raise NotFound(f"record {record_id} does not exist")
    return record


def _transition(rtype: RecordTypeSpec, record: Record, transition_id: str) -> TransitionSpec:
    transition = rtype.transitions.get(transition_id)
    if transition is None:
        raise NotFound(f"record type {rtype.id} has no transition '{transition_id}'")
    if record.stage not in transition.sources:
        possible = ", ".join(t.id for t in rtype.transitions_from(record.stage)) or "none"
        raise TransitionRefused(
            f"record {record.id} is in stage '{record.stage}'; '{transition_id}' starts from "
            f"{', '.join(transition.sources)} (possible now: {possible})"
        )
    return transition


def _effects(pack: PackSpec, transition: TransitionSpec, context: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for effect in transition.effects:
        if effect.kind == "set":
            values.update(effect.values)
        else:
            values["department"] = route(pack, context)
    return values


def route(pack: PackSpec, context: Mapping[str, Any]) -> str | None:
    """The tier's own department (R-5.2), else the first routing rule that holds (R-2.2)."""
    tier = pack.tiers.get((context.get("customer") or {}).get("tier") or "")
    if tier is not None and tier.department is not None:
        return tier.department
    for rule in pack.routing:
        if rule.when is None or rule.when.holds(context):
            return rule.department
    return None


def _write(
    pack: PackSpec, record: Record, values: Mapping[str, Any], current: Mapping[str, Any]
) -> dict[str, Any]:
    """Apply values to the record; return {field: [old, new]} for those that changed."""
    changes = {
        name: [current.get(name), value]
        for name, value in values.items()
        if current.get(name) != value
    }
    fields = personal.all_fields(record)
    for name, value in values.items():
        if name in CORE_FIELDS:
            setattr(record, name, value)
        else:
            fields[name] = value
    rtype = pack.record_type(record.record_type)
    personal.put_fields(record, rtype, fields)
    if "priority" in values and values["priority"]:
        record.priority_rank = pack.priority_rank(values["priority"])
    return personal.for_history(rtype, changes)


def record_tier(session: Session, pack: PackSpec, record: Record) -> str | None:
    """The record's customer's tier now, as an SLA term reads it (R-2.5, R-5.2)."""
    if record.customer is None:
        return None
    return tier_of(pack, record.customer, lambda c: tiers.computed_tier(session, pack.name, c))


def _customer_view(session: Session, pack: PackSpec, customer: Customer | None) -> dict[str, Any]:
    if customer is None:
        return {}
    tier = tier_of(pack, customer, lambda cid: tiers.computed_tier(session, pack.name, cid))
    return {"number": customer.number, "tier": tier}


def change_priority(
    session: Session,
    pack: PackSpec,
    record: Record,
    priority: str,
    reason: str,
    *,
    actor: str,
    now: datetime,
) -> None:
    """A supervisor re-grades a record (with a reason); its unmet SLA clocks follow (R-2.4)."""
    if priority not in [p.id for p in pack.priorities]:
        raise InvalidInput(
            f"'{priority}' is not a priority of {pack.name}", fields={"priority": priority}
        )
    if not reason.strip():
        raise InvalidInput("say why the priority changes", fields={"reason": "required"})
    old = record.priority
    if old == priority:
        return
    record.priority, record.priority_rank = priority, pack.priority_rank(priority)
    record.updated_at = now
    add_event(session, record, now, PriorityChanged(old, priority, reason.strip()), actor=actor)
    rtype = pack.record_type(record.record_type)
    changes: dict[str, list[object]] = {"priority": [old, priority]}
    tier = record_tier(session, pack, record)
    terms.on_change(session, pack, rtype, record, changes, now, actor, tier=tier)
    if record.is_open:
        beforedeadline.sync(session, pack, rtype, record, now)
    record.next_deadline = sla.nearest_deadline(record)


def close_as_duplicate(
    session: Session,
    pack: PackSpec,
    record: Record,
    original: Record,
    *,
    actor: str,
    now: datetime,
) -> None:
    """Close a record that repeats another one, whatever stage it is in; history says which."""
    if not record.is_open:
        raise TransitionRefused(f"record {record.id} is already closed")
    if original.id == record.id:
        raise InvalidInput("a record cannot duplicate itself", fields={"duplicate_of": "itself"})
    rtype = pack.record_type(record.record_type)
    closed = next((s for s in rtype.stages.values() if s.is_closed), None)
    if closed is None:
        raise TransitionRefused(f"record type {rtype.id} has no closed stage")
    changes: dict[str, Any] = {"duplicate_of": original.id}
    enter_stage(session, pack, rtype, record, closed, "duplicate", changes, actor=actor, now=now)
