"""A sweep batch's changes to rows that already exist: clocks, records, the timers' own marks.

Each kind is one statement whatever the batch's size (issue #24 item 2). On PostgreSQL an
`executemany` of `UPDATE … WHERE id = ?` still runs one statement per row on the server;
`UPDATE … FROM unnest(arrays)` sends one array per column, in binary, and updates every row
in one statement the driver prepares once. SQLite, in process, keeps the `executemany`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, case, func, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from engine.records.journal import TIMERS
from engine.time.claims import Due, among

MAX_ATTEMPTS = 5  # then a timer that keeps failing is left `failed` for operators


def update_rows(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    added: Collection[str] = (),
    kept_if_null: Collection[str] = (),
) -> None:
    """Set each row's values by its `id`, in one statement; every row names the same columns.

    A column in `added` is increased by the row's value (a record's `row_version` moves on by
    0 or 1); one in `kept_if_null` keeps its stored value where the row's is None (a record
    not touched keeps its `updated_at`).
    """
    if not rows:
        return
    names = tuple(name for name in rows[0] if name != "id")
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        arrays: dict[str, list[Any]] = {}
        for name in ("id", *names):
            process = _processor(table, name, dialect)
            values = [row[name] for row in rows]
            arrays[name] = [process(v) for v in values] if process else values
        sql = _unnest_update(table, names, tuple(added), tuple(kept_if_null), dialect)
        session.connection().exec_driver_sql(sql, arrays)
        return
    assigned: dict[str, ColumnElement[Any]] = {}
    for name in names:
        new = bindparam(f"new_{name}", type_=table.c[name].type)
        if name in added:
            assigned[name] = table.c[name] + new
        elif name in kept_if_null:
            assigned[name] = func.coalesce(new, table.c[name])
        else:
            assigned[name] = new
    statement = update(table).where(table.c.id == bindparam("row_id")).values(assigned)
    session.execute(
        statement,
        [{"row_id": row["id"], **{f"new_{name}": row[name] for name in names}} for row in rows],
    )


def mark(session: Session, fired: Sequence[int], cancelled: Sequence[int], now: datetime) -> None:
    """The timers' own marks, fired or cancelled, in one statement."""
    if not fired and not cancelled:
        return
    status = case((among(session, TIMERS.c.id, list(fired)), "fired"), else_="cancelled")
    session.connection().execute(
        update(TIMERS)
        .where(among(session, TIMERS.c.id, [*fired, *cancelled]))
        .values(status=status, fired_at=now)
    )


def record_failure(session: Session, timer: Due, exc: Exception) -> None:
    """Count a failed attempt on the timer (left pending, for a later sweep); after
    `MAX_ATTEMPTS` it is left `failed` for operators."""
    attempts = timer.attempts + 1
    session.execute(
        update(TIMERS)
        .where(TIMERS.c.id == timer.id)
        .values(
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:500],
            status="failed" if attempts >= MAX_ATTEMPTS else "pending",
        )
    )


def _processor(table: Table, name: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    processor: Callable[[Any], Any] | None = table.c[name].type.bind_processor(dialect)
    return processor


@functools.cache
def _unnest_update(
    table: Table,
    names: tuple[str, ...],
    added: tuple[str, ...],
    kept_if_null: tuple[str, ...],
    dialect: Dialect,
) -> str:
    def assignment(name: str) -> str:
        if name in added:
            return f"{name} = t.{name} + v.{name}"
        if name in kept_if_null:
            return f"{name} = coalesce(v.{name}, t.{name})"
        return f"{name} = v.{name}"

    columns = ("id", *names)
    arrays = ", ".join(
        f"%({name})b::{table.c[name].type.compile(dialect=dialect)}[]" for name in columns
    )
    return (
        f"UPDATE {table.name} AS t SET {', '.join(assignment(n) for n in names)} "
        f"FROM unnest({arrays}) AS v({', '.join(columns)}) WHERE t.id = v.id"
    )
