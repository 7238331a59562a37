"""A batch of intakes written as plain rows: records, clocks, search documents, history (R-1.1).

The objects an intake builds (`Record`, its `SlaClock`s) are what callers use, but the ORM's
unit of work flushing them (the dependency sort, attribute history, the `after_flush` search
listener, a row built per object) was the largest part of an intake's CPU. Here each table is
one `INSERT` of every column (`rowinsert.insert_rows`), the ids it returns are set on the
objects, and the objects then join the session as if just loaded
(`make_transient_to_detached`): nothing is pending, a later change to them is an UPDATE as
for any record read from the database, and no attribute needs a second read. The creation
events and the armed timers, which name those ids, follow. On PostgreSQL a few records (an
API intake) go with their clocks, documents, events and timers as one statement instead
(`_chain`), one round trip where there were five.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Table, insert, inspect
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached

from engine.records import searchindex
from engine.records.journal import EVENTS, TIMERS
from engine.records.rowinsert import FEW_VALUES, insert_rows, json_text
from engine.specs.pack import RecordTypeSpec
from engine.store.models import Record, RecordSearchDoc, SlaClock

RECORDS: Table = Record.__table__  # type: ignore[assignment]
CLOCKS: Table = SlaClock.__table__  # type: ignore[assignment]
DOCUMENTS: Table = RecordSearchDoc.__table__  # type: ignore[assignment]
# SQLite: rows of a table inserted one statement each, below `insert_rows`' read of the largest id.
_ONE_BY_ONE = 8


# A creation event's row, one per record in order, and an armed timer's row with the record and
# clock it is for: their record_id and clock_id are filled in here, as places or as ids.
Armed = tuple[Record, SlaClock | None, dict[str, Any]]


def write(
    session: Session,
    made: Sequence[tuple[Record, RecordTypeSpec]],
    events: Sequence[dict[str, Any]],
    timers: Sequence[Armed],
) -> list[int]:
    """Insert the new records, their clocks, search documents, creation events and timers, put
    the objects into the session as persistent and loaded, with their ids, and return the
    events' ids in order."""
    if not made:
        return []  # a campaign's day with nobody to serve
    records = [record for record, _ in made]
    for record in records:  # what the flush took from the relationship
        record.customer_id = record.customer.id if record.customer is not None else None
    clocks = [clock for record in records for clock in record.clocks]
    words = [searchindex.tokens(r.fields, searchindex.searched_fields(t)) for r, t in made]
    if _chained(session, records, clocks, events, timers):
        event_ids = _write_chained(session, records, clocks, words, events, timers)
    else:
        for record, number in zip(records, _insert(session, RECORDS, records), strict=True):
            record.id = number
        for clock in clocks:
            clock.record_id = clock.record.id
        for clock, number in zip(clocks, _insert(session, CLOCKS, clocks), strict=True):
            clock.id = number
        documents = [{"record_id": r.id, "tokens": w} for r, w in zip(records, words, strict=True)]
        insert_rows(session, DOCUMENTS, documents)
        event_ids = insert_rows(session, EVENTS, _named(events, records), ids=True)
        insert_rows(
            session, TIMERS, [_timer(row, record.id, clock) for record, clock, row in timers]
        )
    for instance in [*clocks, *records]:
        make_transient_to_detached(instance)
    session.add_all(records)  # their clocks follow by cascade
    return event_ids


def _named(events: Sequence[dict[str, Any]], records: Sequence[Record]) -> list[dict[str, Any]]:
    """Each record's creation event naming it by its id."""
    return [{**row, "record_id": r.id} for row, r in zip(events, records, strict=True)]


def _timer(
    row: dict[str, Any], record_id: int | None, clock: SlaClock | int | None
) -> dict[str, Any]:
    """A timer's row naming its record and clock (an id, or a place in the batch's clocks)."""
    clock_id = clock.id if isinstance(clock, SlaClock) else clock
    return {**row, "record_id": record_id, "clock_id": clock_id}


def _chained(
    session: Session,
    records: Sequence[Record],
    clocks: Sequence[SlaClock],
    events: Sequence[dict[str, Any]],
    timers: Sequence[Armed],
) -> bool:
    """Whether the rows go as one statement: on PostgreSQL, when they are few (an API intake):
    no table's more values than `insert_rows` sends as one JSON text."""
    values = (
        len(records) * len(_columns(RECORDS)),
        len(clocks) * len(_columns(CLOCKS)),
        sum(map(len, events)),
        sum(len(row) for _, _, row in timers),
    )
    return max(values) <= FEW_VALUES and session.get_bind().dialect.name == "postgresql"


def _write_chained(
    session: Session,
    records: Sequence[Record],
    clocks: Sequence[SlaClock],
    words: list[str],
    events: Sequence[dict[str, Any]],
    timers: Sequence[Armed],
) -> list[int]:
    """PostgreSQL: every row of the intake in one statement (`_chain`), five round trips of an
    HTTP intake made one (issue #24). Until the records and clocks have ids, a row names them
    by their place in the batch, from 1; the events' ids come back in order."""
    place = {id(record): number for number, record in enumerate(records, 1)}
    clock_place = {id(clock): number for number, clock in enumerate(clocks, 1)}
    for clock in clocks:
        clock.record_id = place[id(clock.record)]
    dialect = session.get_bind().dialect
    timer_rows = [
        _timer(row, place[id(record)], None if clock is None else clock_place[id(clock)])
        for record, clock, row in timers
    ]
    given = {
        "records": json_text(RECORDS, [_row(r, _columns(RECORDS)) for r in records], dialect),
        "clocks": json_text(CLOCKS, [_row(c, _columns(CLOCKS)) for c in clocks], dialect),
        "documents": json_text(
            DOCUMENTS,
            [{"record_id": n, "tokens": w} for n, w in enumerate(words, 1)],
            dialect,
        ),
        "events": json_text(
            EVENTS,
            [{**row, "record_id": n} for n, row in enumerate(events, 1)],
            dialect,
        ),
        "timers": json_text(TIMERS, timer_rows, dialect),
    }
    shape = (tuple(events[0]), tuple(timer_rows[0]) if timer_rows else ())
    ids: dict[str, list[int]] = {"records": [], "clocks": [], "events": []}
    for kind, number in session.connection().exec_driver_sql(_chain(*shape), given):
        ids[kind].append(number)
    for record, number in zip(records, sorted(ids["records"]), strict=True):
        record.id = number
    for clock, number in zip(clocks, sorted(ids["clocks"]), strict=True):
        clock.id = number
        clock.record_id = clock.record.id
    return sorted(ids["events"])


@functools.cache
def _chain(event_names: tuple[str, ...], timer_names: tuple[str, ...]) -> str:
    """`WITH made AS (INSERT INTO records … RETURNING id)`, then the clocks, documents, events
    and timers joined to those ids by place: a SERIAL numbers the rows in the order given, as
    `insert_rows`; a timer's clock is found the same way among the clocks inserted."""
    names = [name for name, _, _ in _columns(RECORDS)]
    clock_names = [name for name, _, _ in _columns(CLOCKS)]
    placed_ids = {"record_id": "placed.id", "clock_id": "clock_placed.id"}
    timed = ""
    if timer_names:
        picked = ", ".join(placed_ids.get(n, f"given.{n}") for n in timer_names)
        timed = (
            ", clock_placed AS (SELECT id, row_number() OVER (ORDER BY id) AS place FROM clocked), "
            f"timed AS (INSERT INTO {TIMERS.name} ({', '.join(timer_names)}) SELECT {picked} "
            f"FROM {_given(TIMERS, 'timers')} JOIN placed ON placed.place = given.record_id "
            "LEFT JOIN clock_placed ON clock_placed.place = given.clock_id "
            "ORDER BY given.ordinality)"
        )
    return (
        f"WITH made AS (INSERT INTO {RECORDS.name} ({', '.join(names)}) "
        f"SELECT {', '.join(names)} FROM {_given(RECORDS, 'records')} "
        "ORDER BY given.ordinality RETURNING id), "
        "placed AS (SELECT id, row_number() OVER (ORDER BY id) AS place FROM made), "
        f"clocked AS (INSERT INTO {CLOCKS.name} ({', '.join(clock_names)}) "
        f"SELECT {_picked(clock_names)} FROM {_given(CLOCKS, 'clocks')} "
        "JOIN placed ON placed.place = given.record_id ORDER BY given.ordinality RETURNING id), "
        f"indexed AS (INSERT INTO {DOCUMENTS.name} (record_id, tokens) "
        f"SELECT placed.id, given.tokens FROM {_given(DOCUMENTS, 'documents')} "
        "JOIN placed ON placed.place = given.record_id), "
        f"evented AS (INSERT INTO {EVENTS.name} ({', '.join(event_names)}) "
        f"SELECT {_picked(event_names)} FROM {_given(EVENTS, 'events')} "
        "JOIN placed ON placed.place = given.record_id ORDER BY given.ordinality RETURNING id)"
        f"{timed} "
        "SELECT 'records', id FROM made UNION ALL SELECT 'clocks', id FROM clocked "
        "UNION ALL SELECT 'events', id FROM evented"
    )


def _picked(names: Sequence[str]) -> str:
    """The given row's columns, its record named by the id its place was given."""
    return ", ".join("placed.id" if n == "record_id" else f"given.{n}" for n in names)


def _given(table: Table, parameter: str) -> str:
    return (
        f"json_populate_recordset(NULL::{table.name}, %({parameter})s::json) "
        "WITH ORDINALITY AS given"
    )


def _insert(session: Session, table: Table, instances: Sequence[Record | SlaClock]) -> list[int]:
    """Insert one row per instance, every column but the id, and return the ids in order.

    Columns the instance left unset take their column's default (the row version starts at
    1, as the ORM's versioning does) and the instance takes that value too, so it holds the
    whole row. SQLite returns `INSERT … RETURNING` rows in no promised order: there a few
    rows (an intake's record and clocks) are a statement each, as the ORM's flush sent them
    (calls into the process, no round trips); a batch takes its ids from one read of the
    largest (`insert_rows`).
    """
    if not instances:
        return []
    rows = [_row(instance, _columns(table)) for instance in instances]
    if session.get_bind().dialect.name == "postgresql" or len(rows) > _ONE_BY_ONE:
        return insert_rows(session, table, rows, ids=True)
    statement = insert(table).returning(table.c.id)
    connection = session.connection()
    return [connection.execute(statement, row).scalar_one() for row in rows]


def _row(instance: Record | SlaClock, columns: tuple[tuple[str, str, Any], ...]) -> dict[str, Any]:
    """The instance's values by column name, its unset attributes set to their defaults."""
    state = instance.__dict__
    row: dict[str, Any] = {}
    for name, key, default in columns:
        if key not in state:
            setattr(instance, key, default)
        row[name] = state[key]
    return row


@functools.cache
def _columns(table: Table) -> tuple[tuple[str, str, Any], ...]:
    """(column name, attribute, default) for every column of the table but its generated id."""
    mapper: Mapper[Any] = inspect(Record if table is RECORDS else SlaClock)
    found = []
    for column in table.c:
        if column.primary_key:
            continue
        found.append((column.name, mapper.get_property_by_column(column).key, _default(column)))
    return tuple(found)


def _default(column: Column[Any]) -> Any:
    if column is RECORDS.c.row_version:  # the mapper's version_id_col: 1 on insert
        return 1
    default = column.default
    if default is not None and default.is_scalar:
        return default.arg  # type: ignore[attr-defined]
    if column.server_default is not None:
        raise ValueError(f"{column} has a server default the intake would not read back")
    return None
