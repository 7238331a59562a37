"""Engines and sessions: SQLite by default (WAL, foreign keys on), PostgreSQL by URL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the pragmas and pools each backend needs (the URL: ops/settings.py)."""
    # Errors and logs never carry statement parameters: they hold personal data.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            # One shared connection, or every session would see its own empty database.
            kwargs.setdefault("poolclass", StaticPool)
        else:
            _ensure_parent(url)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    return engine


# A connection back in the pool less than this long ago is handed out without a ping, as
# HikariCP's aliveBypassWindowMs (500 ms) does: under load every request reused one a few
# milliseconds old, and SQLAlchemy's pool_pre_ping spent a round trip on each (3 % of an
# HTTP intake's CPU, issue #24). A server that went away (a restart takes seconds) leaves its
# connections idle longer than this, so they are still pinged and replaced before use.
PING_AFTER_IDLE = 0.5
_RETURNED = "careloop.returned"


def _ping_when_idle(engine: Engine) -> None:
    """pool_pre_ping for connections idle longer than `PING_AFTER_IDLE`: a dead one is
    replaced (DisconnectionError makes the pool connect anew), a live one handed out."""
    dialect = engine.dialect

    def returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_RETURNED)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return  # new, or in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(f"the idle connection failed its ping: {error}") from error

    event.listen(engine, "checkin", returned)
    event.listen(engine, "checkout", checkout)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _ensure_parent(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and not path.startswith(":"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy issue BEGIN itself, so transactions start where the UoW says.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Reads at random over a large table (a day's birthdays among a million customers, a
    # queue page's records) went through a read() call per page into a 2 MB cache: mapping
    # the file and a 32 MB cache per connection read them from the OS cache directly
    # (row 7 of bench/: 33 -> 19 ms at 1,000,000 customers). Address space, not memory.
    cursor.execute("PRAGMA mmap_size=1073741824")
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front: two writers queue instead of deadlocking.
    connection.exec_driver_sql("BEGIN IMMEDIATE")
