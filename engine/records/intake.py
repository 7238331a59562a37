"""Intake (R-1): records created one by one or as a batch, each with its customer and clocks.

A batch runs inside the caller's unit of work and writes the records, their history, their
SLA clocks and their timers in that one transaction; an invalid intake raises before
anything of the batch is flushed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine import bounds
from engine.customers import tiers
from engine.errors import InvalidInput
from engine.events import StageEntered
from engine.records import intakerows, journal, personal, queue
from engine.records.fieldvalues import coerce_values, require_values
from engine.records.intakecustomers import CustomerLookup
from engine.specs.pack import CORE_FIELDS, PackSpec, RecordTypeSpec
from engine.store.models import PackVersion, Record, SlaClock
from engine.store.rowobjects import row_object
from engine.time import beforedeadline, followups, sla
from engine.time.clock import require_aware


@dataclass(frozen=True)
class NewRecord:
    """What an intake brings: type, field values, and when its channel received it."""

    record_type: str
    fields: Mapping[str, Any]
    channel: str | None = None
    category: str | None = None
    priority: str | None = None
    received_at: datetime | None = None
    assignee: str | None = None
    external_id: str | None = None  # the channel's own message id: pushing it twice is harmless


def create_record(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    new: NewRecord,
    *,
    actor: str,
    now: datetime,
) -> Record:
    """Create a record on `version`; its SLA clocks start at `received_at` (default: now)."""
    return create_records(session, pack, version, [new], actor=actor, now=now)[0]


def create_records(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    news: Sequence[NewRecord],
    *,
    actor: str,
    now: datetime,
) -> list[Record]:
    """Create several records on `version` in the caller's unit of work, as `create_record` does
    for each, in their order; an invalid one raises before anything of the batch is flushed.

    Per batch, not per record: every intake is checked before anything is written; one
    statement finds or creates the customers and one reads their computed tiers
    (`intakecustomers`); the records, their clocks and their search documents go as plain
    rows, one statement a table, and the objects callers use join the session as loaded
    (`intakerows`: no unit-of-work flush), with the creation events and the timers, which
    name them: on PostgreSQL all of it in one statement for a few records. Flushing them as
    objects was most of an intake's cost; each statement less is a round trip less.
    """
    rtypes = [pack.record_type(new.record_type) for new in news]
    checked = [_check(pack, rtype, new, now) for rtype, new in zip(rtypes, news, strict=True)]
    lookup = CustomerLookup.of(
        session, pack, [(rtype, c.values) for rtype, c in zip(rtypes, checked, strict=True)], now
    )
    batch = _Batch()
    made = [
        _new_record(session, pack, version, rtype, new, lookup, batch, now=now)
        for rtype, new in zip(rtypes, checked, strict=True)
    ]
    events = [journal.event_row(None, now, event, actor=actor) for event in batch.events]
    timers = [
        (t.record, t.clock, journal.timer_row(None, t.kind, t.name, t.due_at, now, step=t.step))
        for t in batch.timers
    ]
    event_ids = intakerows.write(session, list(zip(made, rtypes, strict=True)), events, timers)
    journal.write_hooks(session, zip(made, batch.events, event_ids, strict=True), now)
    for record in made:  # after its creation event, which comes first in its history
        queue.auto_assign(session, record, now)
    return made


@dataclass(frozen=True, slots=True)
class _Armed:
    """A timer armed before its record and clock have ids."""

    record: Record
    kind: str
    name: str
    due_at: datetime
    clock: SlaClock | None
    step: int | None


@dataclass
class _Batch:
    """What a batch of intakes writes after its flush: an `Arm` for the clocks and follow-ups."""

    events: list[StageEntered] = field(default_factory=list)  # one per record, written after
    timers: list[_Armed] = field(default_factory=list)

    def arm(
        self,
        record: Record,
        kind: str,
        name: str,
        due_at: datetime,
        now: datetime,
        *,
        clock: SlaClock | None = None,
        step: int | None = None,
    ) -> None:
        self.timers.append(_Armed(record, kind, name, due_at, clock, step))


@dataclass(frozen=True, slots=True)
class _Checked:
    """One intake, checked: its core attributes and its field values, coerced."""

    new: NewRecord
    received_at: datetime
    core: dict[str, Any]
    values: dict[str, Any]


def _check(pack: PackSpec, rtype: RecordTypeSpec, new: NewRecord, now: datetime) -> _Checked:
    """Check one intake against its record type before anything of its batch is written."""
    received_at = require_aware(new.received_at) if new.received_at else now
    bounds.check_moment(received_at, now, "received_at")
    if new.external_id is not None:
        bounds.check_text(new.external_id, "external_id")
    if received_at > now:
        raise InvalidInput(
            f"received_at {received_at.isoformat()} lies in the future",
            fields={"received_at": "must not be later than now"},
        )
    core_raw = {
        "channel": new.channel,
        "category": new.category,
        "priority": new.priority or pack.default_priority,
        "assignee": new.assignee,
    }
    clash = sorted(set(new.fields) & set(CORE_FIELDS))
    if clash:
        raise InvalidInput(
            f"{', '.join(clash)} are record attributes, not fields",
            fields={name: "give it beside the fields" for name in clash},
        )
    values = coerce_values(pack, rtype, {**core_raw, **new.fields})
    core = {name: values.pop(name) for name in core_raw}
    require_values(rtype, values, [f.id for f in rtype.fields.values() if f.required])
    if pack.channels and core["channel"] is None:
        raise InvalidInput("channel is required", fields={"channel": "required"})
    return _Checked(new, received_at, core, values)


def _new_record(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    rtype: RecordTypeSpec,
    checked: _Checked,
    lookup: CustomerLookup,
    batch: _Batch,
    *,
    now: datetime,
) -> Record:
    """Add one checked intake's record and clocks; its event and timers go to `batch`."""
    core, values = checked.core, checked.values
    stage = rtype.stage(rtype.initial)
    customer = lookup.customer(rtype, values)
    tier = lookup.tier_of(customer)
    # written as rows and joined to the session as loaded (`intakerows`): no attribute events
    record = row_object(
        Record,
        {
            "pack_version_id": version.id,
            "pack": pack.name,
            "record_type": rtype.id,
            "stage": stage.id,
            "stage_kind": stage.kind,
            "is_open": True,
            "priority": core["priority"],
            "priority_rank": pack.priority_rank(core["priority"]),
            "channel": core["channel"],
            "category": core["category"],
            "assignee": core["assignee"],
            "customer": customer,
            "tier_rank": tiers.tier_rank(pack, tier),  # also the SLA's
            "received_at": checked.received_at,
            "external_id": checked.new.external_id,
            "created_at": now,
            "updated_at": now,
        },
    )
    personal.put_fields(record, rtype, values)
    set_committed_value(record, "clocks", [])  # a record without SLA terms has none to read
    batch.events.append(
        StageEntered(
            stage.id,
            personal.for_history(
                rtype, {k: v for k, v in {**core, **values}.items() if v is not None}
            ),
        )
    )
    sla.start_clocks(session, pack, rtype, record, now, tier=tier, arm=batch.arm)
    beforedeadline.sync(session, pack, rtype, record, now, arm=batch.arm, fresh=True)
    followups.on_stage_change(session, pack, rtype, record, None, stage, now, arm=batch.arm)
    record.next_deadline = sla.nearest_deadline(record)
    return record


def find_external(session: Session, pack: str, new: NewRecord) -> Record | None:
    """The record an earlier push of the same channel message created, if any."""
    if new.external_id is None:
        return None
    return session.scalars(
        select(Record).where(
            Record.pack == pack,
            Record.channel == new.channel,
            Record.external_id == new.external_id,
        )
    ).first()
