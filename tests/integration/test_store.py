"""The store: migrations match the models on every backend, times stay aware, indexes exist."""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from engine.store.migrate import include_object, is_current
from engine.store.models import Model, PackVersion
from engine.store.types import UTCDateTime


def test_migrations_produce_exactly_the_models(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"include_object": include_object}),
            Model.metadata,
        )
    assert diff == []
    assert is_current(db_engine)


def test_the_queue_and_the_sweep_have_their_indexes(db_engine: Engine) -> None:
    inspector = inspect(db_engine)
    records = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("records")}
    timers = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("timers")}
    assert records["ix_records_queue"] == [
        "is_open",
        "priority_rank",
        "tier_rank",
        "next_deadline",
        "id",
    ]
    assert timers["ix_timers_due"] == ["status", "due_at"]


def test_a_naive_datetime_is_refused_by_the_store() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 11, 23, 9), None)  # type: ignore[arg-type]


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from engine.store.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_stored_times_come_back_aware_in_utc(db_engine: Engine) -> None:
    from zoneinfo import ZoneInfo

    from engine.store.db import make_session_factory

    moment = datetime(2026, 11, 23, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    with make_session_factory(db_engine)() as session:
        session.add(
            PackVersion(
                pack="p",
                version=1,
                files={},
                data={},
                source_hash="h",
                published_by="t",
                published_at=moment,
            )
        )
        session.commit()
    with make_session_factory(db_engine)() as session:
        stored = session.query(PackVersion).one()
        assert stored.published_at == moment
        assert stored.published_at.utcoffset() is not None
        assert stored.published_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
