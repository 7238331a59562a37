"""Long imports run as background jobs (issue #22 item 5, R-1.7, R-8.3): set-based writes with
a bounded number of statements, a job claimed exactly once by the scheduler's sweep, progress
and a result report on a page, and an upload over the limit answered with a page in the
user's language that names the limit."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, func, select

from engine.access import users
from engine.access.crypto import lookup_hash
from engine.customers import bulk, importjobs, imports
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.services import Services
from engine.services.imports import IMPORT_ZONE
from engine.store.db import make_session_factory
from engine.store.models import (
    AuditEntry,
    Customer,
    CustomerEvent,
    ImportJob,
    Order,
    Record,
    User,
)
from engine.time.clock import VirtualClock
from signin.auth import hash_password
from tests.conftest import web_app
from wsgi import services

HEADER = "number,name,contact,tier,birthday,consent_marketing"


def customers_csv(count: int, *, bad: tuple[int, ...] = ()) -> str:
    """`count` customers; the rows numbered in `bad` (spreadsheet numbering) with a bad birthday."""
    lines = [HEADER]
    for i in range(1, count + 1):
        birthday = "1990-02-30" if i + 1 in bad else f"1990-{1 + i % 12:02d}-{1 + i % 28:02d}"
        lines.append(f"C-{i:05d},客户{i},138{i:08d},,{birthday},{'是' if i % 2 else '否'}")
    return "\n".join(lines) + "\n"


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_an_import_is_set_based_and_matches_the_one_by_one_path(
    db_engine: Engine, clock: VirtualClock, after_sales: PackSource
) -> None:
    services = Services(make_session_factory(db_engine), clock=clock)
    services.publish(after_sales, by="test")
    # Someone known before, with an open record: made VIP by the file, their record moves up.
    services.save_customer("C-00002", {"name": "旧名", "contact": "13900000000"})
    record = services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            fields={"customer_no": "C-00002", "contact": "13900000000", "description": "x"},
        ),
        actor="api",
    )
    text = customers_csv(2500).replace(
        "C-00002,客户2,13800000002,,", "C-00002,客户2,13800000002,vip,"
    )
    checked = imports.check(text, IMPORT_ZONE)
    with statements(db_engine) as seen, services.uow() as uow:
        assert (
            imports.apply(uow.session, services.latest_specs(uow.session), checked, clock.now())
            == 2500
        )
        uow.commit()
    # Before: 2 or more statements per row (over 5,000); now a handful per chunk of 1,000.
    assert len(seen) < 40, len(seen)
    with services.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 2500
        two = session.scalars(select(Customer).where(Customer.number == "C-00002")).one()
        three = session.scalars(select(Customer).where(Customer.number == "C-00003")).one()
        events = session.scalar(
            select(func.count()).select_from(CustomerEvent).where(CustomerEvent.kind == "consent")
        )
        rank = session.get(Record, record.id).tier_rank  # type: ignore[union-attr]
    assert (two.name, two.contact, two.tier) == ("客户2", "13800000002", "vip")
    assert two.contact_hash == lookup_hash("13800000002")
    assert (three.birthday, three.birth_md) == (date(1990, 4, 4), 404)
    assert (three.consent_marketing, three.consent_source) == (True, "import")
    assert events == 1250  # the odd numbers granted marketing consent, each kept in history
    assert rank == 0  # a VIP now: served first


def test_purchases_are_set_based_too_and_one_in_the_future_is_a_bad_row(
    db_engine: Engine, clock: VirtualClock
) -> None:
    services = Services(make_session_factory(db_engine), clock=clock)
    lines = ["customer,external_id,amount,currency,ordered_at,shipped_at"]
    lines += [f"C-{i % 300},SO-{i},{i}.5,CNY,2026-08-01," for i in range(1500)]
    lines.append("C-1,SO-1,1.5,CNY,2026-08-01,2026-08-03")  # a repeat: SO-1 has shipped
    lines.append("C-2,SO-X,9,CNY,2099-01-01,")
    checked = imports.check("\n".join(lines), IMPORT_ZONE, clock.now())
    assert [(e.row, e.column) for e in checked.errors] == [(len(lines), "ordered_at")]
    with statements(db_engine) as seen, services.uow() as uow:
        assert (
            imports.apply(uow.session, services.latest_specs(uow.session), checked, clock.now())
            == 1501
        )
        uow.commit()
    assert len(seen) < 40, len(seen)  # before: 3 or more statements per row
    with services.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 300
        assert session.scalar(select(func.count()).select_from(Order)) == 1500
        one = session.scalars(select(Order).where(Order.external_id == "SO-1")).one()
    assert one.shipped_at == datetime(2026, 8, 3, tzinfo=IMPORT_ZONE)


def test_a_job_is_claimed_exactly_once_and_again_only_when_its_worker_died(
    db_engine: Engine, clock: VirtualClock
) -> None:
    services = Services(make_session_factory(db_engine), clock=clock)
    checked = imports.check(customers_csv(3), IMPORT_ZONE)
    job_id = services.queue_import(checked, filename="c.csv", data=b"x", good_rows=False, by="ops")
    factory = make_session_factory(db_engine)
    with factory() as first, factory() as second:
        assert importjobs.claim(first, "w1", clock.now()) == job_id
        first.commit()
        assert importjobs.claim(second, "w2", clock.now()) is None
        second.commit()
    clock.advance(importjobs.LEASE + timedelta(seconds=1))  # w1 died: no beat for the lease
    with factory() as third:
        assert importjobs.claim(third, "w3", clock.now()) == job_id
        third.commit()
        assert third.get(ImportJob, job_id).worker == "w3"  # type: ignore[union-attr]


@pytest.fixture
def ops(tmp_path: Path) -> tuple[Flask, FlaskClient]:
    app = web_app(tmp_path, WTF_CSRF_ENABLED=False, IMPORT_INLINE_ROWS=10)
    with services(app).uow() as uow:
        now = services(app).clock.now()
        users.add_user(uow.session, "ops", "operations", "ops password 1", hash_password, now)
        uow.commit()
    client = app.test_client()
    client.post("/login", data={"username": "ops", "password": "ops password 1"})
    return app, client


def post(client: FlaskClient, text: str, **form: str) -> Any:
    data: dict[str, Any] = {"file": (io.BytesIO(text.encode()), "kunden.csv"), **form}
    return client.post("/admin/imports/", data=data, content_type="multipart/form-data")


def test_a_long_import_is_a_job_with_progress_and_a_report(
    ops: tuple[Flask, FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, client = ops
    monkeypatch.setattr(bulk, "CHUNK", 10)
    answer = post(client, customers_csv(25, bad=(4, 9)), good_rows="1")
    assert answer.status_code == 302
    page_url = answer.headers["Location"]
    waiting = client.get(page_url).get_data(as_text=True)
    assert 'data-status="queued"' in waiting and 'http-equiv="refresh"' in waiting
    with services(app).session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0  # not yet
    seen: list[tuple[int, int]] = []
    real = importjobs.progress

    def watched(session: Any, job_id: int, done: int, total: int, now: Any) -> None:
        seen.append((done, total))
        real(session, job_id, done, total, now)

    monkeypatch.setattr(importjobs, "progress", watched)
    assert services(app).run_import_job("w1") is not None
    assert services(app).run_import_job("w1") is None  # done: nothing runs it twice
    assert seen == [(10, 23), (20, 23), (23, 23)]
    report = client.get(page_url).get_data(as_text=True)
    assert 'data-status="done"' in report and 'http-equiv="refresh"' not in report
    assert "已导入 23 行" in report
    assert "第 4 行，birthday 列" in report and "第 9 行，birthday 列" in report
    with services(app).session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 23
        job = session.scalars(select(ImportJob)).one()
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "import.customers"))
        entry = audit.one()
    assert job.data is None  # the file, personal data, is not kept once imported
    assert (entry.actor, entry.detail["rows"], entry.detail["bad_rows"]) == ("ops", 23, 2)


def test_a_short_import_is_written_while_the_page_waits(ops: tuple[Flask, FlaskClient]) -> None:
    app, client = ops
    answer = post(client, customers_csv(8))
    assert answer.status_code == 200 and "已导入 8 行" in answer.get_data(as_text=True)
    with services(app).session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_a_job_that_fails_says_so_without_personal_data(ops: tuple[Flask, FlaskClient]) -> None:
    app, client = ops
    page_url = post(client, customers_csv(12)).headers["Location"]

    def broken(*args: Any) -> Any:
        raise RuntimeError("INSERT … 13800000001")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(imports, "apply_in_chunks", broken)
        services(app).run_import_job("w1")
    page = client.get(page_url).get_data(as_text=True)
    assert 'data-status="failed"' in page and "RuntimeError" in page
    assert "13800000001" not in page
    with services(app).uow() as uow:
        uow.session.scalars(select(User).where(User.username == "ops")).one().locale = "en"
        uow.commit()
    english = client.get(page_url).get_data(as_text=True)
    assert "The import failed: RuntimeError" in english
    assert not re.search(r"[\u3000-\u9fff\uff00-\uffef]", english)  # no Chinese at all


def test_an_upload_over_the_limit_is_a_page_in_the_users_language_naming_it(
    tmp_path: Path,
) -> None:
    app = web_app(tmp_path, WTF_CSRF_ENABLED=False, MAX_CONTENT_LENGTH=64 * 1024)
    with services(app).uow() as uow:
        now = services(app).clock.now()
        users.add_user(uow.session, "ops", "operations", "ops password 1", hash_password, now)
        uow.commit()
    client = app.test_client()
    client.post("/login", data={"username": "ops", "password": "ops password 1"})
    big = customers_csv(2000)
    chinese = post(client, big)
    assert chinese.status_code == 413 and chinese.mimetype == "text/html"
    assert "一次最多可提交 64 KiB" in chinese.get_data(as_text=True)
    assert "CARELOOP_MAX_CONTENT_LENGTH" in chinese.get_data(as_text=True)
    with services(app).uow() as uow:
        user = uow.session.scalars(select(User).where(User.username == "ops")).one()
        user.locale = "en"
        uow.commit()
    english = post(client, big).get_data(as_text=True)
    assert "At most 64 KiB can be sent at once" in english
    assert "一次" not in english
