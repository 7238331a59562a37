"""The pool pings a PostgreSQL connection only after it sat idle (engine/store/db.py).

A connection the server dropped while it sat in the pool (a restart, an idle timeout) is
replaced before a request uses it; one returned a moment ago is handed out as it is, without
the round trip SQLAlchemy's pool_pre_ping spent on every checkout (issue #24). The idle
threshold is set per test instead of waited out.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from engine.store import db

pytestmark = pytest.mark.pg


@pytest.fixture
def engine(pg_database: str) -> Iterator[Engine]:
    engine = db.make_engine(pg_database, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(url: str, pid: int) -> None:
    """End that server process from a connection of its own, as a restart or an idle timeout
    would."""
    other = create_engine(url, poolclass=NullPool)
    with other.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    other.dispose()


def test_a_connection_dropped_while_idle_is_replaced_before_use(
    engine: Engine, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = backend(engine)
    terminate(pg_database, first)
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # as if it sat idle past the threshold
    assert backend(engine) != first  # a new server process, and no error


def test_a_connection_in_use_a_moment_ago_is_handed_out_unpinged(
    engine: Engine, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = backend(engine)
    terminate(pg_database, first)
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 3600.0)  # returned "a moment ago"
    with engine.connect() as connection:
        with pytest.raises(OperationalError) as raised:
            connection.execute(text("SELECT 1"))  # no ping: the request that finds it dead fails
        assert raised.value.connection_invalidated
        connection.rollback()
    assert backend(engine) != first  # and the pool connects anew for the next one
