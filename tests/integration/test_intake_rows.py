"""An intake's plain rows are the rows the ORM's flush of the same objects wrote (issue #24
item 1, R-1.1): every column of the record, its clocks, its search document, its history and
its timers, so no column goes missing or changes value when the flush is left out."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Table, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from engine.records import intake, intakerows
from engine.records.versions import PackSource
from engine.services import Services
from engine.specs.pack import RecordTypeSpec
from engine.store.models import Record, RecordEvent, RecordSearchDoc, SlaClock, Timer
from tests.integration.test_intake_statements import after_sales_record, finance, finance_record

# Columns that name a row (its own id, or the ids of the rows it hangs off) and differ by nature.
IDS = {"id", "record_id", "clock_id"}

__all__ = ["finance"]  # the fixture, shared with the statements' pin


def flushed(
    session: Session,
    made: list[tuple[Record, RecordTypeSpec]],
    events: list[dict[str, Any]],
    timers: list[intakerows.Armed],
) -> list[int]:
    """The write path before plain rows: the objects added and flushed by the unit of work,
    the search document written by `searchindex`'s `after_flush` listener, the creation events
    and timers as objects hanging off their record and clock. Records and clocks are built
    without attribute events (`rowobjects`): a flush learns from a many-to-one's history which
    id to copy into `customer_id` and `record_id`, so that history is made here."""
    for record, _ in made:
        flag_modified(record, "customer")
        for clock in record.clocks:
            flag_modified(clock, "record")
    session.add_all(record for record, _ in made)
    history = [
        RecordEvent(record=record, **_but_ids(row))
        for (record, _), row in zip(made, events, strict=True)
    ]
    session.add_all(history)
    session.add_all(Timer(record=r, clock=clock, **_but_ids(row)) for r, clock, row in timers)
    session.flush()
    return [event.id for event in history]


def _but_ids(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in IDS}


def rows(services: Services, record_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every column of every row the intake of `record_id` wrote, ids left out, by table; a
    timer names its clock by the clock's target instead, so that a timer hung off the wrong
    clock shows."""
    found: dict[str, list[dict[str, Any]]] = {}
    targets: dict[int | None, str | None] = {None: None}
    with services.uow() as uow:
        for model, key in [
            (Record, "id"),
            (SlaClock, "record_id"),
            (RecordSearchDoc, "record_id"),
            (RecordEvent, "record_id"),
            (Timer, "record_id"),
        ]:
            table = model.__table__
            assert isinstance(table, Table)
            statement = select(table).where(table.c[key] == record_id).order_by(*table.primary_key)
            written = list(uow.session.execute(statement).mappings())
            if model is SlaClock:
                targets.update((row["id"], row["target"]) for row in written)
            found[table.name] = [
                {k: v for k, v in row.items() if k not in IDS}
                | ({"clock": targets[row["clock_id"]]} if model is Timer else {})
                for row in written
            ]
    return found


@pytest.mark.parametrize("make", [after_sales_record, finance_record])
def test_an_intake_writes_the_rows_the_orm_flush_wrote(
    services: Services, finance: PackSource, monkeypatch: pytest.MonkeyPatch, make: Any
) -> None:
    services.publish(finance, by="test")

    def intake() -> int:
        record, created = services.intake(*make("C-1"), actor="test")
        assert created
        return record.id

    intake()  # the customer known, the caches warm: both intakes below take the same path
    written = rows(services, intake())
    monkeypatch.setattr(intakerows, "write", flushed)
    before = rows(services, intake())
    assert written == before
    record = written["records"][0]
    assert record["private_fields"] and record["customer_id"] and record["contact_hash"]
    assert record["row_version"] == 1 and record["next_deadline"] is not None
    assert written["sla_clocks"] and written["record_search_docs"][0]["tokens"]
    assert written["timers"] and written["record_events"]


@pytest.mark.parametrize("size", [3, 12])
def test_a_batch_writes_the_rows_the_orm_flush_wrote_each_record_its_own(
    services: Services, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """Twelve records at once: more rows a table than SQLite writes one statement each, and
    more values than PostgreSQL chains into one statement; three: chained, each clock,
    document, event and timer joined to its own record (a timer to its own clock) by its
    place in the batch."""

    def batch() -> list[int]:
        news = [after_sales_record(f"C-{n % 3}")[1] for n in range(size)]  # three customers
        with services.uow() as uow:
            version = services.specs.latest(uow.session, "after_sales")
            made = intake.create_records(
                uow.session,
                services.specs.of(version),
                version,
                news,
                actor="test",
                now=services.clock.now(),
            )
            uow.commit()
            return [record.id for record in made]

    batch()  # the customers known
    written = [rows(services, number) for number in batch()]
    monkeypatch.setattr(intakerows, "write", flushed)
    assert written == [rows(services, number) for number in batch()]
    assert all(len(each["sla_clocks"]) == 2 for each in written)
    assert all({t["clock"] for t in each["timers"]} >= {"respond", "resolve"} for each in written)


def test_the_objects_an_intake_returns_write_back_what_is_changed_later(
    services: Services,
) -> None:
    """Records and clocks are built without attribute events (`engine.store.rowobjects`) and
    joined as loaded: a change made afterwards in the same unit of work, to a column or to the
    clocks' collection, is still seen and written, as for objects read from the database."""
    with services.uow() as uow:
        version = services.specs.latest(uow.session, "after_sales")
        (record,) = intake.create_records(
            uow.session,
            services.specs.of(version),
            version,
            [after_sales_record("C-1")[1]],
            actor="test",
            now=services.clock.now(),
        )
        assert type(record.clocks).__name__ == "InstrumentedList" and record.clocks
        first = record.clocks[0]
        record.category = "repair"
        first.consumed_seconds = 60.0
        extra = SlaClock(**{c.name: getattr(first, c.name) for c in _copied(SlaClock)})
        extra.target = "extra"
        record.clocks.append(extra)
        uow.commit()
        number, first_id = record.id, first.id
    with services.uow() as uow:
        stored = uow.session.get(Record, number)
        assert stored is not None and stored.category == "repair"
        clocks = {clock.target: clock for clock in stored.clocks}
        assert clocks[first.target].id == first_id and clocks[first.target].consumed_seconds == 60
        assert clocks["extra"].record_id == number and stored.row_version == 2


def _copied(model: type[SlaClock]) -> list[Any]:
    table = model.__table__
    assert isinstance(table, Table)
    return [c for c in table.c if c.name not in IDS]
