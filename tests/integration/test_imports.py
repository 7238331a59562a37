"""CSV import of customers and purchases: bad rows named by row and column, nothing half-written."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.access import users
from engine.records.versions import PackSource
from engine.store.models import Customer, Order
from signin.auth import hash_password
from tests.conftest import web_app
from wsgi import services

ORDERS = ["customer,external_id,amount,currency,ordered_at"] + [
    f"C-{i},SO-{i},{100 + i}.50,CNY,2026-08-0{i}" for i in range(1, 10)
]


@pytest.fixture
def ops(tmp_path: Path, after_sales: PackSource) -> tuple[Flask, FlaskClient]:
    app = web_app(tmp_path, WTF_CSRF_ENABLED=False)
    with services(app).uow() as uow:
        users.add_user(
            uow.session,
            "ops",
            "operations",
            "ops password 1",
            hash_password,
            services(app).clock.now(),
        )
        uow.commit()
    client = app.test_client()
    client.post("/login", data={"username": "ops", "password": "ops password 1"})
    return app, client


def upload(
    client: FlaskClient, text: str, *, encoding: str = "utf-8", good_rows: bool = False
) -> tuple[int, str]:
    data: dict[str, str | tuple[io.BytesIO, str]] = {
        "file": (io.BytesIO(text.encode(encoding)), "data.csv")
    }
    if good_rows:
        data["good_rows"] = "1"
    response = client.post("/admin/imports/", data=data, content_type="multipart/form-data")
    return response.status_code, response.get_data(as_text=True)


def counts(app: Flask) -> tuple[int, int]:
    with services(app).session_factory() as session:
        return (
            session.scalar(select(func.count()).select_from(Customer)) or 0,
            session.scalar(select(func.count()).select_from(Order)) or 0,
        )


def test_a_bad_date_on_row_7_is_named_and_nothing_is_written(
    ops: tuple[Flask, FlaskClient],
) -> None:
    app, client = ops
    lines = list(ORDERS)
    lines[6] = "C-6,SO-6,106.50,CNY,2026-13-45"  # spreadsheet row 7: header is row 1
    status, page = upload(client, "\n".join(lines))
    assert status == 400
    assert "第 7 行，ordered_at 列" in page and "未写入任何数据" in page
    assert counts(app) == (0, 0)


def test_good_rows_are_imported_on_request(ops: tuple[Flask, FlaskClient]) -> None:
    app, client = ops
    lines = list(ORDERS)
    lines[6] = "C-6,SO-6,abc,CNY,2026-08-06"
    status, page = upload(client, "\n".join(lines), good_rows=True)
    assert status == 200 and "第 7 行，amount 列" in page and "已导入 8 行" in page
    assert counts(app) == (8, 8)


def test_an_excel_gb18030_customer_file_merges_duplicates(ops: tuple[Flask, FlaskClient]) -> None:
    app, client = ops
    text = (
        "number,name,contact,tier\r\nC-1,张伟,13800000001,\r\nC-2,李娜,13800000002,vip\r\n"
        "C-1,,,vip\r\n"
    )
    status, page = upload(client, text, encoding="gb18030")
    assert status == 200 and "已导入 3 行" in page
    with services(app).session_factory() as session:
        rows = session.scalars(select(Customer).order_by(Customer.number)).all()
    assert [(c.number, c.name, c.tier) for c in rows] == [
        ("C-1", "张伟", "vip"),
        ("C-2", "李娜", "vip"),
    ]
    status, _ = upload(client, "number,name\nC-1,张伟\n")
    assert counts(app)[0] == 2  # a second import merges again


def test_a_file_without_its_required_columns_is_refused(ops: tuple[Flask, FlaskClient]) -> None:
    app, client = ops
    status, page = upload(client, "customer,external_id,amount\nC-1,SO-1,10\n")
    assert status == 400 and "第 1 行，ordered_at 列：缺少必需的列" in page
    binary = {"file": (io.BytesIO(b"\xff\xff\x00\x01"), "data.csv")}
    response = client.post("/admin/imports/", data=binary, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "neither UTF-8 nor GB18030" in response.get_data(as_text=True)


def test_birthdays_time_zones_and_consent_come_in_with_the_customers(
    ops: tuple[Flask, FlaskClient],
) -> None:
    """R-5.3 / R-8.3: what campaigns need, from a shop's spreadsheet, consent with its source."""
    app, client = ops
    text = (
        "number,name,birthday,timezone,consent_marketing\n"
        "C-1,张伟,1992/2/29,Asia/Shanghai,是\n"
        "C-2,李娜,1988-12-01,Europe/Berlin,否\n"
    )
    status, page = upload(client, text)
    assert status == 200 and "已导入 2 行" in page
    with services(app).session_factory() as session:
        rows = session.scalars(select(Customer).order_by(Customer.number)).all()
    assert [(str(c.birthday), c.birth_md, c.consent_marketing) for c in rows] == [
        ("1992-02-29", 229, True),
        ("1988-12-01", 1201, False),
    ]
    assert rows[0].consent_source == "import" and rows[1].timezone == "Europe/Berlin"


def test_a_bad_birthday_time_zone_or_consent_is_named_by_row_and_column(
    ops: tuple[Flask, FlaskClient],
) -> None:
    app, client = ops
    text = (
        "number,birthday,timezone,consent_marketing\n"
        "C-1,1990-02-30,Asia/Shanghai,是\n"
        "C-2,1990-01-01,Mars/Base,是\n"
        "C-3,1990-01-01,Asia/Shanghai,maybe\n"
    )
    status, page = upload(client, text)
    assert status == 400
    assert "第 2 行，birthday 列" in page
    assert "第 3 行，timezone 列" in page
    assert "第 4 行，consent_marketing 列" in page
    assert counts(app) == (0, 0)
