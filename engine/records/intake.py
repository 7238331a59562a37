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

from engine import bounds
from engine.customers import tiers
from engine.errors import InvalidInput
from engine.events import StageEntered
from engine.records import personal, queue, standing
from engine.records.fieldvalues import coerce_values, require_values
from engine.records.journal import Effects
from engine.specs.pack import CORE_FIELDS, PackSpec, RecordTypeSpec
from engine.store.models import Customer, CustomerTier, PackVersion, Record, SlaClock
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

    Per batch, not per record: one query finds the known customers and one their computed
    tiers; one flush writes the new customers, the records and their clocks (the objects
    callers use); then the creation events and the timers, which need those ids, go as
    plain rows in one statement a table (`journal.Effects`). Building them as objects was
    most of an intake's cost.
    """
    rtypes = [pack.record_type(new.record_type) for new in news]
    lookup = _CustomerLookup.of(session, pack, rtypes, news)
    batch = _Batch()
    made = [
        _new_record(session, pack, version, rtype, new, lookup, batch, actor=actor, now=now)
        for rtype, new in zip(rtypes, news, strict=True)
    ]
    session.flush()
    effects = Effects(session)
    for record, event in zip(made, batch.events, strict=True):
        effects.event(record, now, event, actor=actor)
    for timer in batch.timers:
        effects.timer(
            timer.record,
            timer.kind,
            timer.name,
            timer.due_at,
            now,
            clock_id=timer.clock.id if timer.clock is not None else None,
            step=timer.step,
        )
    effects.write()
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


def _new_record(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    rtype: RecordTypeSpec,
    new: NewRecord,
    lookup: _CustomerLookup,
    batch: _Batch,
    *,
    actor: str,
    now: datetime,
) -> Record:
    """Check one intake and add its record and clocks; its event and timers go to `batch`."""
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
    checked = coerce_values(pack, rtype, {**core_raw, **new.fields})
    core = {name: checked.pop(name) for name in core_raw}
    values = checked
    require_values(rtype, values, [f.id for f in rtype.fields.values() if f.required])
    if pack.channels and core["channel"] is None:
        raise InvalidInput("channel is required", fields={"channel": "required"})
    stage = rtype.stage(rtype.initial)
    customer = _customer(session, rtype, values, now, lookup)
    record = Record(
        pack_version_id=version.id,
        pack=pack.name,
        record_type=rtype.id,
        stage=stage.id,
        stage_kind=stage.kind,
        is_open=True,
        priority=core["priority"],
        priority_rank=pack.priority_rank(core["priority"]),
        channel=core["channel"],
        category=core["category"],
        assignee=core["assignee"],
        customer=customer,
        tier_rank=tiers.tier_rank(pack, lookup.tier_of(customer)),  # also the SLA's
        received_at=received_at,
        external_id=new.external_id,
        created_at=now,
        updated_at=now,
    )
    personal.put_fields(record, rtype, values)
    session.add(record)
    batch.events.append(
        StageEntered(
            stage.id,
            personal.for_history(
                rtype, {k: v for k, v in {**core, **values}.items() if v is not None}
            ),
        )
    )
    tier = lookup.tier_of(customer)
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


def _customer_number(rtype: RecordTypeSpec, values: Mapping[str, Any]) -> str | None:
    """The value of the record type's customer field, if given."""
    return next(
        (values[f.id] for f in rtype.fields.values() if f.type == "customer" and values.get(f.id)),
        None,
    )


@dataclass
class _CustomerLookup:
    """A batch's known customers and their computed tiers, each read with one query.

    The queries run without autoflush: the batch's own new rows (records, clocks, customers
    created on first contact) have nothing to do with them, and flushing them before each
    lookup was half of a batch's time.
    """

    pack: PackSpec
    found: dict[str, Customer]
    asked: set[str]  # numbers looked up: those not found are new customers
    tiers: dict[int, str | None]

    @classmethod
    def of(
        cls,
        session: Session,
        pack: PackSpec,
        rtypes: Sequence[RecordTypeSpec],
        news: Sequence[NewRecord],
    ) -> _CustomerLookup:
        known: dict[str, Customer] = session.info.setdefault(_KNOWN, {})
        numbers = {
            number.strip()
            for rtype, new in zip(rtypes, news, strict=True)
            if isinstance(number := _customer_number(rtype, new.fields), str)
        }
        wanted = sorted(numbers - set(known))
        with session.no_autoflush:
            for first in range(0, len(wanted), _LOOKUP_CHUNK):
                chunk = wanted[first : first + _LOOKUP_CHUNK]
                known.update(
                    (c.number, c)
                    for c in session.scalars(select(Customer).where(Customer.number.in_(chunk)))
                )
            ids = [
                c.id
                for number in numbers
                if (c := known.get(number)) is not None and c.id is not None and not c.tier
            ]
            computed: dict[int, str | None] = {}
            for first in range(0, len(ids) if pack.tiers else 0, _LOOKUP_CHUNK):
                some_ids = ids[first : first + _LOOKUP_CHUNK]
                computed.update(
                    (row.customer_id, row.tier)
                    for row in session.execute(
                        select(CustomerTier.customer_id, CustomerTier.tier).where(
                            CustomerTier.pack == pack.name, CustomerTier.customer_id.in_(some_ids)
                        )
                    )
                )
        return cls(pack, known, numbers, computed)

    def customer(self, session: Session, number: str) -> Customer | None:
        """The customer with this number, read now if the batch's query did not ask for it."""
        if number not in self.found and number not in self.asked:
            self.asked.add(number)
            with session.no_autoflush:
                found = session.scalars(select(Customer).where(Customer.number == number)).first()
                if found is not None:
                    self.found[number] = found
                    if not found.tier and self.pack.tiers:
                        self.tiers[found.id] = tiers.computed_tier(
                            session, self.pack.name, found.id
                        )
        return self.found.get(number)

    def tier_of(self, customer: Customer | None) -> str | None:
        """`standing.tier_of`, the computed tiers taken from what the batch read."""
        return standing.tier_of(self.pack, customer, self.tiers.get)


# Numbers per lookup query: far below SQLite's limit of bound values in one statement.
_LOOKUP_CHUNK = 5_000

# Customers of the session by number, so a batch neither flushes to look a customer up nor
# creates one customer twice before the batch is written.
_KNOWN = "careloop.customers"


def _customer(
    session: Session,
    rtype: RecordTypeSpec,
    values: Mapping[str, Any],
    now: datetime,
    lookup: _CustomerLookup,
) -> Customer | None:
    """Link the record to its customer by number, creating the customer on first contact."""
    number = _customer_number(rtype, values)
    if number is None:
        return None
    customer = lookup.customer(session, number)
    if customer is None:
        name = next(
            (values[f.id] for f in rtype.fields.values() if f.mask == "name" and values.get(f.id)),
            None,
        )
        contact = next(
            (
                values[f.id]
                for f in rtype.fields.values()
                if f.type == "contact" and values.get(f.id)
            ),
            None,
        )
        customer = Customer(number=number, name=name, contact=contact, created_at=now)
        session.add(customer)
        lookup.found[number] = customer
    return customer
