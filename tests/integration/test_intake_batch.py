"""A batch of intakes (`intake.create_records`) writes what one intake at a time writes.

The batch path finds customers and their tiers with one query each and writes events and
timers as plain rows after one flush; these tests hold it to the one-by-one path, row for
row, on SQLite and on PostgreSQL (the `db_engine` fixture).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.records import intake, intakecustomers
from engine.records.intake import NewRecord
from engine.records.versions import latest_version
from engine.services import Services
from engine.store.models import Customer, CustomerTier, Record, RecordEvent, SlaClock, Timer
from engine.time.clock import VirtualClock

PACK = "after_sales"


def intakes(prefix: str, received: datetime) -> list[NewRecord]:
    """A known customer with a computed tier, one with a tier set by hand, a new customer
    twice (created once), and a number given as a padded string; P0 to P2."""
    numbers = ["tiered", "vip", "new", "new", " tiered ", "other"]
    return [
        NewRecord(
            record_type="feedback",
            fields={
                "customer_no": f"{prefix}{number.strip()}"
                if number == number.strip()
                else f" {prefix}{number.strip()} ",
                "customer_name": "王芳",
                "contact": f"1381234{i:04d}",
                "description": "洗衣机漏水",
            },
            channel="phone",
            priority=f"P{i % 3}",
            received_at=received - timedelta(hours=i),
        )
        for i, number in enumerate(numbers)
    ]


def seed(session: Session, prefix: str, now: datetime) -> None:
    """`tiered` has a tier the pack computed (served first); `vip` one set by hand."""
    ids = session.execute(
        insert(Customer).returning(Customer.id, sort_by_parameter_order=True),
        [
            {"number": f"{prefix}tiered", "created_at": now},
            {"number": f"{prefix}vip", "tier": "vip", "created_at": now},
        ],
    ).scalars()
    session.execute(
        insert(CustomerTier),
        [{"pack": PACK, "customer_id": next(iter(ids)), "tier": "high_value", "changed_at": now}],
    )


def written(session: Session, record_ids: list[int], prefix: str) -> list[dict[str, Any]]:
    """Each record with its customer, clocks, timers and events, ids and the prefix left out."""
    out = []
    for record_id in record_ids:
        record = session.get_one(Record, record_id)
        clocks = {c.id: c.target for c in record.clocks}
        timers = session.scalars(
            select(Timer).where(Timer.record_id == record_id).order_by(Timer.id)
        )
        events = session.scalars(
            select(RecordEvent).where(RecordEvent.record_id == record_id).order_by(RecordEvent.id)
        )
        number = record.customer.number if record.customer else None
        out.append(
            {
                "customer": number.removeprefix(prefix) if number else None,
                "customer_id_order": record.customer_id,
                "record": {
                    k: getattr(record, k)
                    for k in (
                        "stage",
                        "priority",
                        "priority_rank",
                        "tier_rank",
                        "next_deadline",
                        "received_at",
                        "assignee",
                        "row_version",
                        "is_open",
                    )
                },
                "fields": {**record.fields, "customer_no": None},
                "clocks": [
                    (
                        c.target,
                        c.calendar,
                        c.working,
                        c.budget_seconds,
                        c.warning_fraction,
                        c.started_at,
                        c.running_since,
                        c.warning_at,
                        c.deadline,
                    )
                    for c in record.clocks
                ],
                "timers": [
                    (t.kind, t.name, t.step, t.due_at, t.status, clocks.get(t.clock_id or 0))
                    for t in timers
                ],
                "events": [
                    (e.kind, e.actor, e.to_stage, {**e.changes, "customer_no": None}, e.timer_id)
                    for e in events
                ],
            }
        )
    return out


# One upsert per batch, or (chunk 1) one per customer number, as a batch with more
# distinct customers than SQLite takes bound values in one statement is looked up.
@pytest.mark.parametrize("lookup_chunk", [None, 1])
def test_a_batch_writes_what_one_by_one_writes(
    services: Services,
    clock: VirtualClock,
    monkeypatch: pytest.MonkeyPatch,
    lookup_chunk: int | None,
) -> None:
    if lookup_chunk is not None:
        monkeypatch.setattr(intakecustomers, "_LOOKUP_CHUNK", lookup_chunk)
    now = clock.now()
    with services.uow() as uow:
        seed(uow.session, "A-", now)
        seed(uow.session, "B-", now)
        uow.commit()
    with services.uow() as uow:
        version = latest_version(uow.session, PACK)
        spec = services.specs.of(version)
        batch = intake.create_records(
            uow.session, spec, version, intakes("A-", now), actor="import", now=now
        )
        uow.commit()
        batch_ids = [r.id for r in batch]
    single_ids = []
    for new in intakes("B-", now):
        with services.uow() as uow:
            version = latest_version(uow.session, PACK)
            record = intake.create_record(
                uow.session, services.specs.of(version), version, new, actor="import", now=now
            )
            uow.commit()
            single_ids.append(record.id)
    with services.session_factory() as session:
        ours, theirs = written(session, batch_ids, "A-"), written(session, single_ids, "B-")
        new_customers = session.scalars(
            select(Customer.number).where(Customer.number.like("A-%")).order_by(Customer.id)
        ).all()
    assert new_customers == ["A-tiered", "A-vip", "A-new", "A-other"]  # "new" created once
    assert [r["record"]["tier_rank"] for r in ours] == [0, 0, 1, 1, 0, 1]
    for row in ours + theirs:
        row.pop("customer_id_order")
    assert ours == theirs
    # Four SLA timers and the acknowledgement to the customer each, and but for P0 the
    # reminder one working day before the resolve deadline (`extension_notice`, R-3.2).
    reminders = [0 if r["record"]["priority"] == "P0" else 1 for r in ours]
    assert [len(r["timers"]) - 5 for r in ours] == reminders
    assert all(len(r["events"]) == 1 for r in ours)


def test_an_invalid_intake_in_a_batch_writes_nothing(
    services: Services, clock: VirtualClock
) -> None:
    now = clock.now()
    bad = NewRecord(record_type="feedback", fields={"description": "x"}, channel="phone")
    with services.uow() as uow:
        version = latest_version(uow.session, PACK)
        spec = services.specs.of(version)
        with pytest.raises(InvalidInput):
            intake.create_records(
                uow.session, spec, version, [*intakes("A-", now), bad], actor="import", now=now
            )
        with uow.session.no_autoflush:  # nothing reached the database: the caller rolls back
            assert uow.session.scalars(select(Record.id)).first() is None
            assert uow.session.scalars(select(SlaClock.id)).first() is None
            assert uow.session.scalars(select(Timer.id)).first() is None


@pytest.mark.parametrize("batch", [1, 3])
def test_a_customer_the_session_holds_takes_the_stored_values(
    services: Services, clock: VirtualClock, batch: int
) -> None:
    """Intake finds its customers with its own statement and puts them in the session as loaded
    (on PostgreSQL from a Core row, one customer or an array of them): a copy the session
    already held takes what is stored, and a change to a customer intake loaded is written
    back like one to any customer the session read."""
    now = clock.now()
    with services.uow() as uow:
        uow.session.add(Customer(number="C-held", name="旧名", created_at=now))
        uow.commit()
    with services.uow() as uow:
        held = uow.session.scalars(select(Customer).where(Customer.number == "C-held")).one()
        uow.session.commit()  # the session keeps its copy (SQLite: and lets the other write)
        with services.uow() as other:  # another request renames and tiers the customer
            other.session.execute(
                Customer.__table__.update().values(name="新名", tier="vip")  # type: ignore[attr-defined]
            )
            other.commit()
        version = latest_version(uow.session, PACK)
        assert version is not None
        numbers = ["C-held", "C-other", "C-third"][:batch]
        given = [
            NewRecord(
                record_type="feedback",
                channel="phone",
                fields={"customer_no": n, "contact": "13812345678", "description": "漏水"},
            )
            for n in numbers
        ]
        made = intake.create_records(
            uow.session, services.specs.of(version), version, given, actor="t", now=now
        )
        assert made[0].customer is held
        assert (held.name, held.tier) == ("新名", "vip")
        assert made[0].tier_rank == 0  # served first, as the stored tier says
        loaded = made[-1].customer
        assert loaded is not None and loaded.number == numbers[-1]
        loaded.dedicated_agent = "alice"
        uow.commit()
    with services.uow() as uow:
        stored = uow.session.scalars(select(Customer).where(Customer.number == numbers[-1]))
        assert stored.one().dedicated_agent == "alice"
