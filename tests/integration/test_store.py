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


# SQLAlchemy cannot reflect SQLite's expression indexes (it warns and leaves them out), so
# there the queue index is checked by its SQL in the next test instead.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_migrations_produce_exactly_the_models(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"include_object": include_object}),
            Model.metadata,
        )
    assert diff == []
    assert is_current(db_engine)


def test_the_queue_and_the_sweep_have_their_indexes(db_engine: Engine) -> None:
    timers = {ix["name"]: ix["column_names"] for ix in inspect(db_engine).get_indexes("timers")}
    assert timers["ix_timers_due"] == ["status", "due_at"]
    if db_engine.dialect.name == "postgresql":
        for kind in ("contacts", "others"):
            assert timers[f"ix_timers_pending_{kind}"] == ["due_at", "id"]
    with db_engine.connect() as connection:
        if db_engine.dialect.name == "sqlite":
            sql = connection.scalar(
                text("SELECT sql FROM sqlite_master WHERE name = 'ix_records_queue'")
            )
        else:
            sql = connection.scalar(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_records_queue'")
            )
    columns = " ".join(str(sql).split()).split("(", 1)[1]
    for quote_or_paren in '"()':
        columns = columns.replace(quote_or_paren, "")
    assert columns == "is_open, priority_rank, tier_rank, next_deadline IS NULL, next_deadline, id"


def test_the_queue_page_is_read_off_its_index_without_a_sort(db_engine: Engine) -> None:
    """R-2.6 at scale: SQLite sorted a whole priority group before the index spelled out
    "no deadline last" (docs/performance.md, row 4)."""
    from datetime import UTC

    from engine.records import queue
    from engine.store.models import User

    if db_engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's plan depends on its statistics; row 4 of bench/ measures it")
    for wanted in (queue.QueueFilter(), queue.QueueFilter(breached=True)):
        statement = (
            queue._filtered(User(username="a"), wanted, datetime.now(UTC))
            .order_by(*queue.URGENCY)
            .limit(25)
        )
        sql = str(statement.compile(db_engine, compile_kwargs={"literal_binds": True}))
        with db_engine.connect() as connection:
            plan = [row[3] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
        assert any("ix_records_queue" in step for step in plan), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan


@pytest.mark.parametrize("contacts", [False, True], ids=["timers", "contacts"])
def test_each_claim_reads_its_timers_in_order_from_an_index(
    db_engine: Engine, contacts: bool
) -> None:
    """Issue #24 item 2: by `(status, due_at)` PostgreSQL's plan for the contacts' claim was a
    scan of the whole timers table each batch, so a catch-up's cost grew with the table's size
    squared. There each claim repeats its partial index's predicate, so the index serves it in
    order (no sort) even in a generic plan (a prepared statement's); SQLite reads `(status,
    due_at)`, whose entries it removes as soon as a timer fires."""
    from datetime import UTC

    from engine.time.claims import _due

    postgres = db_engine.dialect.name == "postgresql"
    statement = _due(datetime.now(UTC), 200, (), contacts=contacts, postgres=postgres)
    with db_engine.connect() as connection:
        if not postgres:
            sql = str(statement.compile(db_engine, compile_kwargs={"literal_binds": True}))
            plan = [row[3] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
            assert any("USING INDEX ix_timers_due" in step for step in plan), plan
            assert not any("TEMP B-TREE" in step for step in plan), plan
            return
        # An empty table is cheaper to scan than to read by any index: only whether the
        # index can serve the claim at all, its parameters unknown, is asked here.
        connection.exec_driver_sql("SET enable_seqscan = off")
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        compiled = statement.compile(db_engine)
        steps = connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars()
        plan = list(steps)
    wanted = "ix_timers_pending_contacts" if contacts else "ix_timers_pending_others"
    assert any(wanted in step for step in plan), plan
    assert not any("Sort" in step for step in plan), plan


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
