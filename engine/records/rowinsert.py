"""Rows inserted in one statement a table, without the ORM (issue #24: the write paths' CPU).

On PostgreSQL a few values go as plain parameters (`_insert_values`), more as one binary
array per column (`_insert_arrays`); on SQLite an `executemany`. Each statement text, each
parameter name and each column's processor is worked out once per table and row shape.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import JSON, Column, Table, func, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

# Rows of at most this many values go as plain parameters (psycopg re-parses a longer list).
FEW_VALUES = 50


def insert_rows(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], *, ids: bool = False
) -> list[int]:
    """Insert the rows in one statement (two on SQLite with `ids`); with `ids`, their ids in
    the order of `rows`.

    On PostgreSQL the rows go as one array per column through `unnest`, in binary: a
    short statement the driver parses once, where an `executemany` sends a VALUES list
    with a placeholder per value that psycopg re-parses every time (most of a batch's
    time, measured; text arrays cost 2.5 times binary ones to dump). Ids come back
    sorted: a SERIAL key numbers the rows in the order the ordered SELECT gives them,
    as SQLAlchemy's own `sort_by_parameter_order` relies on. A few values
    (`FEW_VALUES`) go as plain parameters instead (`_insert_values`).
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        if not ids:
            session.execute(insert(table), rows)
            return []
        # SQLite runs `INSERT … RETURNING` in parameter order one row at a time. Its
        # transactions begin IMMEDIATE (one writer), so the ids a plain insert would give,
        # the next after the largest, are the batch's to name: one read, one executemany.
        last = session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
        numbered = [{"id": last + 1 + index, **row} for index, row in enumerate(rows)]
        session.execute(insert(table), numbered)
        return [row["id"] for row in numbered]
    if len(rows) * len(rows[0]) <= FEW_VALUES:
        return _insert_values(session, table, rows, ids)
    return _insert_arrays(session, table, rows, ids)


def _insert_arrays(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], ids: bool
) -> list[int]:
    """PostgreSQL: the rows as one binary array per column through an ordered `unnest`."""
    dialect = session.get_bind().dialect
    names = tuple(rows[0])
    arrays: dict[str, list[Any]] = {}
    for name, process in zip(names, _processors(table, names, dialect), strict=True):
        values = [row[name] for row in rows]
        arrays[name] = [process(v) for v in values] if process else values
    result = session.connection().exec_driver_sql(
        _unnest_insert(table, names, ids, dialect), arrays
    )
    return sorted(result.scalars()) if ids else []


def _insert_values(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], ids: bool
) -> list[int]:
    """PostgreSQL, a few rows, as plain parameters: psycopg dumps each array in Python (its
    element type found, then each element), most of the CPU of an HTTP intake's one-row insert.

    The parameter names and each column's processor come from `_processors` and
    `_parameter_names`, worked out once per table and row shape: asking the column types
    for them on every call was a tenth of this function's CPU (issue #24)."""
    dialect = session.get_bind().dialect
    names = tuple(rows[0])
    processors = _processors(table, names, dialect)
    values: dict[str, Any] = {}
    for index, row in enumerate(rows):
        keys = _parameter_names(names, index)
        for name, key, process in zip(names, keys, processors, strict=True):
            value = row[name]
            values[key] = process(value) if process else value
    sql = _values_insert(table, names, len(rows), ids, dialect)
    result = session.connection().exec_driver_sql(sql, values)
    return sorted(result.scalars()) if ids else []


@functools.cache
def _parameter_names(names: tuple[str, ...], index: int) -> tuple[str, ...]:
    """The `_values_insert` parameters of row `index`: `<column>_<index>`."""
    return tuple(f"{name}_{index}" for name in names)


@functools.cache
def _values_insert(
    table: Table, names: tuple[str, ...], count: int, ids: bool, dialect: Dialect
) -> str:
    """`_unnest_insert` from a `VALUES` list, typed (in a FROM it is typed apart from the table)."""
    listed = ", ".join(names)
    types = [table.c[n].type.compile(dialect=dialect) for n in names]
    tuples = ", ".join(
        "(" + "".join(f"%({n}_{i})s::{t}, " for n, t in zip(names, types, strict=True)) + f"{i})"
        for i in range(count)
    )
    return (
        f"INSERT INTO {table.name} ({listed}) SELECT {listed} FROM (VALUES {tuples}) "
        f"AS given({listed}, given_order) ORDER BY given_order" + (" RETURNING id" if ids else "")
    )


@functools.cache
def _processors(
    table: Table, names: tuple[str, ...], dialect: Dialect
) -> tuple[Callable[[Any], Any] | None, ...]:
    """How one value of each named column goes to the driver, found once per table and shape."""
    return tuple(_array_item(table.c[name], dialect) for name in names)


def _array_item(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """How one value of the column goes into its array: JSON as text, times as the type says."""
    if isinstance(column.type, JSON):
        return _json_text
    return column.type.bind_processor(dialect)


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


@functools.cache
def _unnest_insert(table: Table, names: tuple[str, ...], ids: bool, dialect: Dialect) -> str:
    listed = ", ".join(names)
    arrays = ", ".join(
        f"%({name})b::{table.c[name].type.compile(dialect=dialect)}[]" for name in names
    )
    return (
        f"INSERT INTO {table.name} ({listed}) SELECT {listed} FROM unnest({arrays}) "
        f"WITH ORDINALITY AS given({listed}, given_order) ORDER BY given_order"
        + (" RETURNING id" if ids else "")
    )
