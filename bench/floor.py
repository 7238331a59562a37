"""The database's own floor (issue #24 item 4): the same rows written with the driver alone.

A bench's Core baseline still pays SQLAlchemy for compiling statements and processing every
value (JSON, encryption, dates). The floor leaves only what the database and its driver cost:

- `record` runs an action through SQLAlchemy and keeps, per transaction, every statement and
  parameter set exactly as it reached the driver's cursor (already encrypted, serialised and
  adapted);
- `replay` sends those to a fresh database over one raw DBAPI connection (sqlite3 or psycopg):
  `cursor.executemany` where SQLAlchemy used it, one commit per recorded transaction;
- `driver_rows` reads rows the way the driver returns them, and `write_rows` writes them back
  with `executemany`, for rows written by another process (the scheduler's).

So a ratio against the floor says how close Careloop comes to what the database itself allows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, event

Call = tuple[str, Any, bool]  # statement, parameters, executemany
Row = dict[str, Any]


def record(engine: Engine, action: Callable[[], object]) -> list[list[Call]]:
    """Run `action` and return what it sent to the driver, grouped by transaction."""
    transactions: list[list[Call]] = [[]]

    def sent(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        transactions[-1].append((statement, parameters, many))

    def committed(conn: Any) -> None:
        transactions.append([])

    event.listen(engine, "before_cursor_execute", sent)
    event.listen(engine, "commit", committed)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", sent)
        event.remove(engine, "commit", committed)
    return [calls for calls in transactions if calls]


def replay(engine: Engine, transactions: Sequence[Sequence[Call]]) -> float:
    """Seconds to send the recorded statements with the driver alone, commit by commit."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        began = time.perf_counter()
        for calls in transactions:
            for statement, parameters, many in calls:
                if many:
                    cursor.executemany(statement, parameters)
                else:
                    cursor.execute(statement, parameters)
            raw.commit()
        return time.perf_counter() - began
    finally:
        raw.close()


def driver_rows(engine: Engine, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
    """Rows as the driver returns them (no SQLAlchemy type processing), by column name.
    `sql` uses the driver's own placeholders: `?` for sqlite3, `%s` for psycopg."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(sql, tuple(parameters))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    finally:
        raw.close()


def write_rows(raw: Any, dialect: str, table: str, rows: Sequence[Row], *, key: str = "") -> None:
    """INSERT the rows (or, with `key`, UPDATE them by that column) with one executemany."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != key]
    mark = "?" if dialect == "sqlite" else "%s"
    if key:
        sets = ", ".join(f'"{c}" = {mark}' for c in columns)
        sql = f'UPDATE "{table}" SET {sets} WHERE "{key}" = {mark}'
        values = [[_param(dialect, r[c]) for c in columns] + [r[key]] for r in rows]
    else:
        names = ", ".join(f'"{c}"' for c in columns)
        sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join([mark] * len(columns))})'
        values = [[_param(dialect, r[c]) for c in columns] for r in rows]
    raw.cursor().executemany(sql, values)


def _param(dialect: str, value: Any) -> Any:
    """psycopg reads JSON columns into dicts and lists; it writes them back only wrapped."""
    if dialect != "sqlite" and isinstance(value, dict | list):
        from psycopg.types.json import Jsonb

        return Jsonb(value)
    return value
