"""Hostile input never reaches a 500, on SQLite and PostgreSQL alike (issue #22 item 1).

Identifiers past the INTEGER columns, NUL bytes and lone surrogates, implausible times and
deep JSON are refused at the door (`engine.bounds`, `web.bounds`) with a 4xx that says what,
the same on both databases (R-1.6: nothing a client sends can cause a 500; ASVS 5.1.3/5.1.4).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from engine.access import tokens, users
from engine.errors import InvalidInput
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.models import Record, RollupDay
from signin.auth import hash_password
from tests.conftest import truncate, web_app
from wsgi import create_app, services

PASSWORD = "hostile input 22"
RECORD: dict[str, Any] = {
    "pack": "after_sales",
    "type": "feedback",
    "channel": "online_chat",
    "priority": "P1",
    "fields": {
        "customer_no": "C-22",
        "customer_name": "王芳",
        "contact": "13812345678",
        "description": "洗衣机显示 E3",
    },
}


@pytest.fixture
def app(db_engine: Engine, after_sales: PackSource) -> Iterator[Flask]:
    """The whole app with its real error handlers (exceptions are not re-raised), on each
    database `db_engine` gives."""
    url = db_engine.url.render_as_string(hide_password=False)
    if db_engine.dialect.name == "postgresql":
        truncate(db_engine)
    app = create_app(
        {
            "DATABASE_URL": url,
            "TESTING": True,
            "PROPAGATE_EXCEPTIONS": False,
            "SECRET_KEY": "test",
            "SESSION_COOKIE_SECURE": False,
            "WTF_CSRF_ENABLED": False,
        }
    )
    service = services(app)
    service.publish(after_sales, by="test")
    with service.uow() as uow:
        users.add_user(uow.session, "zhao", "supervisor", PASSWORD, hash_password, now(app))
        users.add_user(
            uow.session, "amy", "supervisor", PASSWORD, hash_password, now(app), locale="en"
        )
        users.add_user(uow.session, "ops", "operations", PASSWORD, hash_password, now(app))
        uow.commit()
    yield app
    service.session_factory.kw["bind"].dispose()


@pytest.fixture
def lite(tmp_path: Path, after_sales: PackSource) -> Flask:
    """SQLite alone, for what the database cannot change (where sign-in sends the user)."""
    app = web_app(tmp_path, pack=after_sales, WTF_CSRF_ENABLED=False)
    with services(app).uow() as uow:
        users.add_user(uow.session, "zhao", "supervisor", PASSWORD, hash_password, now(app))
        uow.commit()
    return app


def now(app: Flask) -> Any:
    return services(app).clock.now()


@pytest.fixture
def bearer(app: Flask) -> dict[str, str]:
    service = services(app)
    with service.uow() as uow:
        _, plain = tokens.issue(uow.session, "hostile", ["read", "write"], now(app))
        uow.commit()
    return {"Authorization": f"Bearer {plain}"}


def signed_in(app: Flask, username: str = "zhao", next_url: str = "") -> FlaskClient:
    client = app.test_client()
    answer = client.post(f"/login{next_url}", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


def body(**changes: Any) -> dict[str, Any]:
    fields = {**RECORD["fields"], **changes.pop("fields", {})}
    return {**RECORD, **changes, "fields": fields}


def stored(app: Flask) -> int:
    with services(app).uow() as uow:
        return len(uow.session.scalars(select(Record.id)).all())


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/records/2147483648"),
        ("GET", "/api/v1/records/99999999999999999999"),
        ("GET", "/api/v1/records/2147483648/messages"),
        ("POST", "/api/v1/records/1/messages/4294967296/resend"),
        ("DELETE", "/api/v1/subscriptions/2147483648"),
    ],
)
def test_an_api_id_past_the_column_is_a_404(
    app: Flask, bearer: dict[str, str], method: str, path: str
) -> None:
    answer = app.test_client().open(path, method=method, headers=bearer, json={})
    assert answer.status_code == 404, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "path",
    ["/records/2147483648", "/customers/x/../../records/4294967296", "/admin/records/2147483648"],
)
def test_a_page_id_past_the_column_is_a_404_page(app: Flask, path: str) -> None:
    answer = signed_in(app).get(path)
    assert answer.status_code == 404, answer.get_data(as_text=True)[:300]


@pytest.mark.parametrize("view", ["user/edit", "record/details", "apitoken/edit"])
def test_an_admin_id_past_the_column_finds_nothing(app: Flask, view: str) -> None:
    """Flask-Admin's `?id=`: no such row, said as Flask-Admin says it, not a DataError."""
    answer = signed_in(app, "ops").get(f"/admin/{view}/?id=99999999999")
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]  # back to the list


def test_a_cursor_past_the_column_reads_from_the_newest(app: Flask, bearer: dict[str, str]) -> None:
    client = app.test_client()
    assert client.post("/api/v1/records", json=body(), headers=bearer).status_code == 201
    answer = client.get("/api/v1/records?cursor=3000000000", headers=bearer)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert len(answer.get_json()["items"]) == 1


@pytest.mark.parametrize(
    "query",
    ["/api/v1/records?pack=a%00b", "/api/v1/records?customer=%00", "/api/v1/records?x%00=1"],
)
def test_a_nul_in_the_query_is_a_400_problem(
    app: Flask, bearer: dict[str, str], query: str
) -> None:
    answer = app.test_client().get(query, headers=bearer)
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert "NUL" in answer.get_json()["detail"]


@pytest.mark.parametrize("text", ["x\u0000y", "\ud800", "ok \udfff"])
def test_a_record_field_with_a_nul_or_a_lone_surrogate_is_refused(
    app: Flask, bearer: dict[str, str], text: str
) -> None:
    raw = json.dumps(body(fields={"description": text}))  # ensure_ascii: "\\ud800" as sent
    answer = app.test_client().post(
        "/api/v1/records", data=raw, content_type="application/json", headers=bearer
    )
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert stored(app) == 0


def test_the_engine_refuses_them_too_whatever_the_door(app: Flask) -> None:
    new = NewRecord(
        record_type="feedback",
        channel="phone",
        fields={**RECORD["fields"], "description": "a\x00"},
    )
    with pytest.raises(InvalidInput, match="NUL"):
        services(app).create_record("after_sales", new, actor="test")


@pytest.mark.parametrize(
    "received_at", ["0001-01-01T00:00:00+08:00", "1900-01-01T00:00:00+00:00", "1999-12-31T00:00Z"]
)
def test_an_implausible_received_at_is_a_422(
    app: Flask, bearer: dict[str, str], received_at: str
) -> None:
    answer = app.test_client().post(
        "/api/v1/records", json=body(received_at=received_at), headers=bearer
    )
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert "received_at" in answer.get_data(as_text=True)
    assert stored(app) == 0


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+08:00", "1900-01-01T00:00:00Z"])
def test_an_order_from_year_1_or_1900_is_a_422(
    app: Flask, bearer: dict[str, str], moment: str
) -> None:
    client = app.test_client()
    assert client.post("/api/v1/records", json=body(), headers=bearer).status_code == 201
    order = {"external_id": "o-1", "amount": 1, "ordered_at": moment}
    answer = client.post("/api/v1/customers/C-22/orders", json=order, headers=bearer)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert "ordered_at" in answer.get_data(as_text=True)


def test_the_rollup_starts_no_earlier_than_the_bounds(app: Flask) -> None:
    """A record stored before the bounds, dated 1900, rolls up days from 2000 at the most."""
    new = NewRecord(record_type="feedback", channel="phone", fields=RECORD["fields"])
    created = services(app).create_record("after_sales", new, actor="test")
    with services(app).uow() as uow:
        row = uow.session.get(Record, created.id)
        assert row is not None
        row.received_at = datetime(1900, 1, 1, tzinfo=UTC)
        uow.commit()
    services(app).roll_up()
    with services(app).uow() as uow:
        days = uow.session.scalars(select(RollupDay.day)).all()
    assert days and min(days).year >= 2000


@pytest.mark.parametrize("depth", [65, 100_000])
def test_json_nested_too_deep_is_a_400(app: Flask, bearer: dict[str, str], depth: int) -> None:
    deep = "[" * depth + "]" * depth
    answer = app.test_client().post(
        "/api/v1/records", data=deep, content_type="application/json", headers=bearer
    )
    assert answer.status_code == 400, answer.get_data(as_text=True)[:300]
    assert "nested deeper" in answer.get_json()["detail"]


def test_a_nul_in_a_form_field_is_a_400_page_in_the_users_language(app: Flask) -> None:
    english = signed_in(app, "amy").post("/me/canned", data={"title": "a\x00b"})
    assert english.status_code == 400
    page = english.get_data(as_text=True)
    assert "cannot be saved" in page and "服务器" not in page
    chinese = signed_in(app).get("/queue?q=%00")
    assert chinese.status_code == 400
    assert "无法保存的字符" in chinese.get_data(as_text=True)


@pytest.mark.parametrize(
    "next_url",
    [
        "/\\evil.com",
        "//evil.com",
        "https:evil.com",
        "/\\/evil.com",
        "/%5Cevil.com",
        "/%5C%5Cevil.com",
        "%2F%2Fevil.com",
        "/\t/evil.com",
        "https://evil.com",
    ],
)
def test_next_never_leaves_the_site(lite: Flask, next_url: str) -> None:
    client = lite.test_client()
    answer = client.post(
        f"/login?next={quote(next_url, safe='%')}",
        data={"username": "zhao", "password": PASSWORD},
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] in ("/queue", "http://localhost/queue")


def test_next_still_leads_back_to_a_page_of_the_site(lite: Flask) -> None:
    client = lite.test_client()
    answer = client.post(
        "/login?next=/dashboard%3Fperiod%3D7d", data={"username": "zhao", "password": PASSWORD}
    )
    assert answer.headers["Location"].endswith("/dashboard?period=7d")


def test_the_migration_scrubs_what_was_stored_before_the_doors_checked(
    db_engine: Engine, after_sales: PackSource
) -> None:
    """A NUL stored in a record's fields broke that customer's export and erasure on
    PostgreSQL; migration 0027 replaces it (and lone surrogates) with U+FFFD, once."""
    from sqlalchemy import text

    from engine.services import Services
    from engine.store.db import make_session_factory
    from engine.store.migrate import downgrade, upgrade

    service = Services(make_session_factory(db_engine))
    service.publish(after_sales, by="test")
    new = NewRecord(record_type="feedback", channel="phone", fields=RECORD["fields"])
    record_id = service.create_record("after_sales", new, actor="test").id
    stored_json = json.dumps({**RECORD["fields"], "description": "a\x00b \ud800"})
    with db_engine.begin() as connection:
        connection.execute(
            text("UPDATE records SET fields = :f WHERE id = :id"),
            {"f": stored_json, "id": record_id},
        )
    downgrade(db_engine, "0026")
    upgrade(db_engine)
    with service.uow() as uow:
        row = uow.session.get(Record, record_id)
        assert row is not None and row.fields["description"] == "a\ufffdb \ufffd"
        assert row.fields["customer_no"] == "C-22"
    assert service.export_customer("C-22")["records"]


def test_a_csv_cell_with_a_nul_is_a_row_error_and_nothing_is_written() -> None:
    from zoneinfo import ZoneInfo

    from engine.customers import imports

    checked = imports.check("number,name\nC-1,王\x00芳\nC-2,李雷\n", ZoneInfo("Asia/Shanghai"))
    assert [(e.row, e.column) for e in checked.errors] == [(2, "name")]
    assert [row["number"] for row in checked.rows] == ["C-2"]


def test_ids_written_by_others_past_integer_find_nothing(services: Services) -> None:
    """A gateway's receipt or a reply's In-Reply-To may carry any number: past INTEGER it is
    no message of ours, not a DataError that stops the request or the mail job."""
    from engine.conversation import mailintake
    from engine.delivery import receipts
    from engine.errors import NotFound

    with services.uow() as uow:
        with pytest.raises(NotFound):
            receipts.take_receipt(uow.session, "sms", "careloop-outbox-99999999999", "failed", "")
        forged = "<careloop-outbox-99999999999@careloop>"
        assert mailintake._by_header(uow.session, "after_sales", forged) is None


def test_a_customers_message_with_a_nul_is_kept_readable(services: Services) -> None:
    """Mail and SMS cannot be refused at a door we own: the NUL becomes U+FFFD, so the
    message is stored on PostgreSQL too instead of failing the mail job for everyone."""
    from engine.conversation import thread

    new = NewRecord(record_type="feedback", channel="phone", fields=RECORD["fields"])
    record_id = services.create_record("after_sales", new, actor="test").id
    with services.uow() as uow:
        record = uow.session.get(Record, record_id)
        assert record is not None
        spec = services.specs.get(uow.session, record.pack_version_id)
        message = thread.receive(
            uow.session,
            spec,
            record,
            "hello\x00world",
            channel="sms",
            author="+86 138",
            now=services.clock.now(),
            subject="re\x00",
        )
        uow.commit()
        assert message is not None and message.body == "hello\ufffdworld"
        assert message.subject == "re\ufffd"


@pytest.mark.pg
def test_a_transition_while_postgresql_restarts_is_a_503(
    app: Flask, bearer: dict[str, str], db_engine: Engine
) -> None:
    """The server drops the connection in the middle of the transition's writes, as a
    restart does: the answer is a 503 with Retry-After, not a 500 (PendingRollbackError)."""
    if db_engine.dialect.name != "postgresql":
        pytest.skip("a server restart is PostgreSQL's")
    from sqlalchemy import create_engine, event, text

    client = app.test_client()
    record = client.post("/api/v1/records", json=body(), headers=bearer).get_json()
    engine = services(app).session_factory.kw["bind"]
    admin = create_engine(db_engine.url, isolation_level="AUTOCOMMIT")
    dropped: list[int] = []

    def restart(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("UPDATE records") and not dropped:
            dropped.append(conn.connection.dbapi_connection.info.backend_pid)
            with admin.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped[0]})

    event.listen(engine, "before_cursor_execute", restart)
    try:
        answer = client.post(
            f"/api/v1/records/{record['id']}/transitions",
            json={"transition": "accept", "fields": {"category": "quality", "priority": "P1"}},
            headers=bearer,
        )
    finally:
        event.remove(engine, "before_cursor_execute", restart)
        admin.dispose()
    assert dropped, "the transition wrote nothing"
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert answer.headers["Retry-After"].isdigit()
    again = client.post(
        f"/api/v1/records/{record['id']}/transitions",
        json={"transition": "accept", "fields": {"category": "quality", "priority": "P1"}},
        headers=bearer,
    )
    assert again.status_code == 200, again.get_data(as_text=True)  # back once it is back
