"""The intake write path's statements (issue #24 item 1, R-1.1, R-1.6): a record's intake is a
fixed, small number of statements whatever the pack, known customer or new, warm caches.

Counted with `before_cursor_execute`, so a statement sent once with many rows counts once: the
round trips are what an intake waits on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event, select, text

from engine.access import tokens
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.db import make_engine, make_session_factory
from engine.store.models import Customer, Record
from tests.conftest import ROOT, truncate, web_app
from wsgi import services as app_services

# With the newest version, the spec and the webhook subscriptions cached: the customer found or
# created with its computed tier (one statement on PostgreSQL, an upsert and a read of the tier
# on SQLite), then the record, its clocks, its search document, its creation event and its
# timers: one chained statement on PostgreSQL (`intakerows._chain`), the fewest the database
# allows, since the customer's tier picks the SLA terms the rest is computed from; one INSERT
# a table on SQLite. SQLite's driver sends a BEGIN IMMEDIATE as a statement, and SQLAlchemy
# inserts rows with RETURNING one at a time there (SQLite does not promise their order), so its
# clocks are a statement each, and the history's rows take their ids from one read of the
# largest (`rowinsert.insert_rows`, the sweep's batches as well): calls into the process, no
# round trips.
INTAKE_STATEMENTS = {"postgresql": 2, "sqlite": 9}
CLOCKS = "INSERT INTO sla_clocks"


def pinned(statements: list[str]) -> int:
    """The statements, the clock inserts counted once."""
    clocks = sum(s.startswith(CLOCKS) for s in statements)
    return len(statements) - clocks + min(clocks, 1)


@pytest.fixture(scope="module")
def finance() -> PackSource:
    from workflows.validate import checked_source

    return checked_source(ROOT / "workflows" / "finance")


def after_sales_record(number: str) -> tuple[str, NewRecord]:
    return "after_sales", NewRecord(
        record_type="feedback",
        channel="online_chat",
        priority="P1",
        fields={
            "customer_no": number,
            "customer_name": "王芳",
            "contact": "13812345678",
            "description": "洗衣机显示 E3",
        },
    )


def finance_record(number: str) -> tuple[str, NewRecord]:
    return "finance", NewRecord(
        record_type="complaint",
        channel="phone",
        fields={
            "customer_no": number,
            "customer_name": "李雷",
            "phone": "13900001111",
            "description": "信用卡年费重复扣收",
        },
    )


def shown(counts: list[int], statements: list[str]) -> str:
    """The counts and the last intake's statements, a line each, to see which one came."""
    return f"{counts}\n" + "\n".join(" ".join(s.split())[:400] for s in statements)


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("make", [after_sales_record, finance_record])
def test_an_intake_is_a_fixed_small_number_of_statements_whatever_the_pack(
    services: Services, db_engine: Engine, finance: PackSource, make: Any
) -> None:
    services.publish(finance, by="test")
    pack, warm = make("C-0")
    services.intake(pack, warm, actor="test")  # the newest version and its spec, cached
    counts = []
    for number in ("C-NEW", "C-0"):  # a first contact, then a known customer
        pack, new = make(number)
        with counted(db_engine) as statements:
            record, created = services.intake(pack, new, actor="test")
        assert created
        counts.append(pinned(statements))
    expected = INTAKE_STATEMENTS[db_engine.dialect.name]
    assert counts == [expected, expected], shown(counts, statements)
    clock_inserts = sum(s.startswith(CLOCKS) for s in statements)
    # PostgreSQL: the clocks go inside the record's chained statement.
    assert clock_inserts == (0 if db_engine.dialect.name == "postgresql" else len(record.clocks))
    with services.uow() as uow:
        stored = uow.session.get_one(Record, record.id)
        assert stored.customer is not None and stored.customer.number == "C-0"
        assert len(stored.clocks) == len(record.clocks) > 0
        assert uow.session.scalars(select(Customer.number).order_by(Customer.number)).all() == [
            "C-0",
            "C-NEW",
        ]


def test_an_empty_batch_writes_nothing(services: Services, db_engine: Engine) -> None:
    """A campaign's day with nobody to serve hands intake no records: no statement, no row."""
    from engine.records.intake import create_records

    with services.uow() as uow:
        version = services.specs.latest(uow.session, "after_sales")
        spec = services.specs.of(version)
        with counted(db_engine) as statements:
            made = create_records(
                uow.session, spec, version, [], actor="test", now=services.clock.now()
            )
        uow.commit()
    assert made == [] and statements == []


def test_the_api_answers_an_intake_in_the_statements_of_the_intake(tmp_path: Any) -> None:
    from workflows.validate import checked_source

    app: Flask = web_app(tmp_path, pack=checked_source(ROOT / "workflows" / "after_sales"))
    service = app_services(app)
    with service.uow() as uow:
        _, plain = tokens.issue(uow.session, "bot", ["read", "write"], service.clock.now())
        uow.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {plain}"}
    body = {
        "pack": "after_sales",
        "type": "feedback",
        "channel": "online_chat",
        "fields": {"customer_no": "C-1", "contact": "13812345678", "description": "E3"},
    }
    assert client.post("/api/v1/records", json=body, headers=headers).status_code == 201
    # The first use notes the token's use (a write, once a minute), which empties the cache.
    assert client.get("/api/v1/records?limit=1", headers=headers).status_code == 200
    bind = service.session_factory.kw["bind"]
    with counted(bind) as statements:
        answer = client.post(
            "/api/v1/records", json={**body, "external_id": "m-2"}, headers=headers
        )
    assert answer.status_code == 201, answer.get_json()
    # The intake's statements, and the check that no earlier push carried the external id.
    expected = INTAKE_STATEMENTS["sqlite"] + 1
    assert pinned(statements) == expected, shown([pinned(statements)], statements)
    written = answer.get_json()
    stored = client.get(f"/api/v1/records/{written['id']}", headers=headers).get_json()
    assert written == stored  # built from what was written, the same as read back
    assert written["sla"] and written["customer"] == "C-1"


@pytest.mark.pg
def test_an_intakes_statements_are_planned_once_per_connection(
    pg_database: str, after_sales: PackSource
) -> None:
    """PostgreSQL plans a prepared statement's first five runs for their values, then keeps
    one generic plan if it costs no more: the customer statement with arrays of one never
    qualified and was planned afresh on every intake (issue #24). psycopg prepares a
    statement on its sixth run; on one connection, fifteen intakes later both statements
    have run five times on their generic plan."""
    engine = make_engine(pg_database, pool_size=1, max_overflow=0)  # one connection for all
    try:
        truncate(engine)
        service = Services(make_session_factory(engine))
        service.publish(after_sales, by="test")
        for number in range(15):
            service.intake(*after_sales_record(f"C-{number % 3}"), actor="test")
        with engine.connect() as connection:
            plans = connection.execute(
                text(
                    "SELECT split_part(statement, ' ', 6), generic_plans, custom_plans"
                    " FROM pg_prepared_statements WHERE statement LIKE 'WITH %'"
                )
            ).all()
    finally:
        engine.dispose()
    assert sorted(plans) == [("customers", 5, 5), ("records", 5, 5)], plans
