"""Rows inserted in one statement a table, without the ORM (issue #24: the write paths' CPU).

On PostgreSQL a few rows go as one JSON parameter (`_insert_json`), more as one binary array
per column (`_insert_arrays`); on SQLite an `executemany`. Each statement text and each
column's conversion is worked out once per table and row shape.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Float, Table, func, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from engine.store.types import UTCDateTime

# Rows of at most this many values go as one JSON text, more as binary arrays: measured on
# an intake's rows (issue #24), JSON costs the client less CPU up to 10 records or 25 timers
# (240-275 values) and more from 25 records or 60 timers on.
FEW_VALUES = 250


def insert_rows(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], *, ids: bool = False
) -> list[int]:
    """Insert the rows in one statement (two on SQLite with `ids`); with `ids`, their ids in
    the order of `rows`.

    On PostgreSQL up to `FEW_VALUES` go as one JSON array that the database turns into
    rows of the table (`json_populate_recordset`): one parameter, dumped by the `json`
    module in C, where plain parameters cost psycopg a Python call per value (and a
    re-parse of the statement beyond 50 of them) and binary arrays a Python call per
    array and per element. More go as one binary array per column through `unnest`: an
    `executemany` would send a VALUES list with a placeholder per value that psycopg
    re-parses every time, and text arrays cost 2.5 times binary ones to dump. Ids come
    back sorted: a SERIAL key numbers the rows in the order the ordered SELECT gives
    them, as SQLAlchemy's own `sort_by_parameter_order` relies on.
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
        return _insert_json(session, table, rows, ids)
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


def _insert_json(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], ids: bool
) -> list[int]:
    """PostgreSQL: the rows as one JSON array of objects (`json_text`)."""
    dialect = session.get_bind().dialect
    sql = _json_insert(table, tuple(rows[0]), ids)
    result = session.connection().exec_driver_sql(sql, {"rows": json_text(table, rows, dialect)})
    return sorted(result.scalars()) if ids else []


def json_text(table: Table, rows: Sequence[dict[str, Any]], dialect: Dialect) -> str:
    """The rows as one JSON array of objects for `json_populate_recordset`, each value as the
    column's type reads it from JSON text (`_to_json`); a JSON column's value goes in as it is.
    The rows all name the same columns."""
    if not rows:
        return "[]"
    names = tuple(rows[0])
    converts = tuple(
        (name, convert)
        for name, convert in zip(names, _converters(table, names, dialect), strict=True)
        if convert is not None
    )
    if converts:
        rows = [dict(row) for row in rows]
        for row in rows:
            for name, convert in converts:
                row[name] = convert(row[name])
    return json.dumps(rows)


@functools.cache
def _json_insert(table: Table, names: tuple[str, ...], ids: bool) -> str:
    listed = ", ".join(names)
    return (
        f"INSERT INTO {table.name} ({listed}) SELECT {listed} FROM "
        f"json_populate_recordset(NULL::{table.name}, %(rows)s::json) WITH ORDINALITY "
        f"AS given ORDER BY given.ordinality" + (" RETURNING id" if ids else "")
    )


@functools.cache
def _processors(
    table: Table, names: tuple[str, ...], dialect: Dialect
) -> tuple[Callable[[Any], Any] | None, ...]:
    """How one value of each named column goes to the driver, found once per table and shape."""
    return tuple(_array_item(table.c[name], dialect) for name in names)


@functools.cache
def _converters(
    table: Table, names: tuple[str, ...], dialect: Dialect
) -> tuple[Callable[[Any], Any] | None, ...]:
    """How one value of each named column goes into the JSON, found once per table and shape."""
    return tuple(_to_json(table.c[name], dialect) for name in names)


def _to_json(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column's bind processing (encryption, UTC), then what JSON cannot say as such: a
    time as ISO 8601 text, an infinite or NaN float as the text PostgreSQL reads for it."""
    if isinstance(column.type, JSON):
        return None  # nested as it is: the database keeps that JSON text
    process = column.type.bind_processor(dialect)
    if isinstance(column.type, UTCDateTime):
        assert process is not None
        return functools.partial(_time_text, process)
    if isinstance(column.type, Float):
        return _float if process is None else functools.partial(_float_of, process)
    return process


def _time_text(process: Callable[[Any], Any], value: datetime | None) -> str | None:
    moment = process(value)
    return None if moment is None else moment.isoformat()


def _float_of(process: Callable[[Any], Any], value: Any) -> float | str | None:
    return _float(process(value))


def _float(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


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
