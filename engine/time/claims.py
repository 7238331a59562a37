"""Claiming due timers and locking their records, so that a timer fires once among many sweepers.

Both read plain rows (`Due`, `RecordRow`), not ORM objects: a batch changes them in memory
and writes what changed itself (`timers._fire_batch`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    Table,
    all_,
    any_,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.orm import QueryableAttribute, Session

from engine.records.journal import TIMERS
from engine.records.rows import ClockRow, RecordRow
from engine.store.models import Record, SlaClock
from engine.time.followups import CONTACT

CLOCKS: Table = SlaClock.__table__  # type: ignore[assignment]
RECORDS: Table = Record.__table__  # type: ignore[assignment]
_RECORD_COLUMNS = [RECORDS.c[f.name] for f in fields(RecordRow) if f.name != "clocks"]
_CLOCK_COLUMNS = [CLOCKS.c[f.name] for f in fields(ClockRow)]
# Each sweep's claim on PostgreSQL reads its kind's pending timers, oldest first, from a
# partial index of its own (migration 0038), whose predicate it repeats as text: a generic plan
# (a statement prepared by the driver) can use a partial index only so. Neither walks the other
# kind's rows nor the dead entries of fired ones, which MVCC leaves in `(status, due_at)` until
# a vacuum: there the contacts' claim chose a scan of the whole table, 23 ms a batch at 50,000
# late and growing with the table, so that a catch-up grew with its square (issue #24 item 2).
# SQLite removes an updated row's entries at once and reads `(status, due_at)`.
PENDING_CONTACTS = f"status = 'pending' AND kind = '{CONTACT}'"
PENDING_OTHERS = f"status = 'pending' AND kind <> '{CONTACT}'"


@dataclass(frozen=True, slots=True)
class Due:
    """A claimed timer, as plain values: a batch reads them and writes its marks itself."""

    id: int
    record_id: int
    clock_id: int | None
    kind: str
    name: str
    step: int | None
    due_at: datetime
    status: str
    attempts: int


@dataclass
class Claimed:
    """A batch's claim: its timers, their records (locked) and the timers left for later."""

    timers: list[Due]
    records: dict[int, RecordRow]
    # Claimed, but their record another sweeper or an agent holds: the sweep passes them
    # over (`skip`) until its next run, so it neither waits nor claims them again at once.
    held: list[int]


def _due(
    now: datetime, limit: int, skip: Collection[int], *, contacts: bool, postgres: bool
) -> Select[tuple[Any, ...]]:
    """Up to `limit` due timers no other sweeper holds, oldest first, locked: read in order
    from the partial index of the kind's pending timers, whose predicate the WHERE repeats."""
    pending = text(PENDING_CONTACTS if contacts else PENDING_OTHERS)
    statement = (
        select(*(TIMERS.c[f.name] for f in fields(Due)))
        .where(pending, TIMERS.c.due_at <= now)
        .order_by(TIMERS.c.due_at, TIMERS.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, key_share=True)
    )
    if skip and postgres:  # one array: one statement text whatever the count, hashed
        statement = statement.where(
            TIMERS.c.id != all_(bindparam(None, sorted(skip), type_=ARRAY(Integer)))
        )
    elif skip:
        statement = statement.where(TIMERS.c.id.not_in(list(skip)))
    return statement


def claim(
    session: Session,
    now: datetime,
    limit: int,
    *,
    skip: Collection[int] = (),
    contacts: bool = False,
) -> list[Due]:
    """Lock up to `limit` due timers that no other sweeper holds, oldest first.

    The customer contacts (`contacts=True`) are claimed apart: they are sent through the
    thread, one record at a time, by `conversation.contacts`, not by the set-based batch.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = _due(now, limit, skip, contacts=contacts, postgres=postgres)
    return [Due(*row) for row in session.execute(statement)]


def claim_with_records(
    session: Session, now: datetime, limit: int, *, skip: Collection[int] = ()
) -> Claimed:
    """Claim up to `limit` due timers (not contacts), oldest first, with their records locked.

    On PostgreSQL one statement: the due timers first, by their index (`claimed`, `FOR NO
    KEY UPDATE SKIP LOCKED`), then their records by primary key (`= ANY(ARRAY(…))`, `FOR NO
    KEY UPDATE SKIP LOCKED`). Two sweepers never take timers of one record nor wait on each
    other (no deadlock); a timer whose record is held elsewhere comes back in `held`. The
    order matters: a join of timers and records ordered by `due_at` left the plan to the
    statistics, and on a freshly restored, unanalysed copy it took 0.1–0.7 s a batch
    (issue #24). `NO KEY` is the lock the batch's updates take anyway: a row that only
    references the record (a customer's message, a history line) is written meanwhile.
    Then the records' clocks: two round trips in all.
    """
    if session.get_bind().dialect.name != "postgresql":  # one writer: nothing to skip
        due = claim(session, now, limit, skip=skip)
        return Claimed(due, lock_records(session, due) if due else {}, [])
    claimed = _due(now, limit, skip, contacts=False, postgres=True).cte("claimed")
    locked = (
        select(*_RECORD_COLUMNS)
        .where(RECORDS.c.id == any_(func.array(select(claimed.c.record_id).scalar_subquery())))
        .with_for_update(skip_locked=True, key_share=True)
        .cte("locked")
    )
    statement = (
        select(*claimed.c, *locked.c)
        .select_from(claimed.outerjoin(locked, locked.c.id == claimed.c.record_id))
        .order_by(claimed.c.due_at, claimed.c.id)
    )
    width = len(fields(Due))
    result = Claimed([], {}, [])
    for row in session.connection().execute(statement):
        if row[width] is None:
            result.held.append(row[0])
            continue
        result.timers.append(Due(*row[:width]))
        if row[width] not in result.records:
            result.records[row[width]] = RecordRow(*row[width:])
    _add_clocks(session, result.records)
    return result


def lock_records(session: Session, timers: Sequence[Due]) -> dict[int, RecordRow]:
    """Lock the batch's records in id order, skipping those another transaction holds.

    Two sweepers firing timers of one record, or a sweeper and an agent, would
    otherwise lock rows in opposite orders and deadlock; a record someone else
    holds is left for the next sweep. Two queries in all (records, their clocks),
    read as plain rows: the batch changes them in memory and writes what changed itself.
    """
    ids = sorted({timer.record_id for timer in timers})
    locked = (
        select(*_RECORD_COLUMNS)
        .where(among(session, RECORDS.c.id, ids))
        .order_by(RECORDS.c.id)
        .with_for_update(skip_locked=True, key_share=True)
    )
    connection = session.connection()
    records = {row[0]: RecordRow(*row) for row in connection.execute(locked)}
    _add_clocks(session, records)
    return records


def _add_clocks(session: Session, records: dict[int, RecordRow]) -> None:
    """The records' clocks, in one query, onto their records."""
    if not records:
        return
    clocks = (
        select(*_CLOCK_COLUMNS)
        .where(among(session, CLOCKS.c.record_id, list(records)))
        .order_by(CLOCKS.c.id)
    )
    for row in session.connection().execute(clocks):
        clock = ClockRow(*row)
        records[clock.record_id].clocks.append(clock)


def among(
    session: Session, column: ColumnElement[int] | QueryableAttribute[int], ids: list[int]
) -> ColumnElement[bool]:
    """`column = ANY(:ids)` on PostgreSQL: one array parameter, so one statement text the
    driver prepares once, where `IN` renders a placeholder per id and a new text per size
    (planned again by the server for every batch)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
    return column.in_(ids)
