"""Two agents on one record (issue #21 item 2): each sees that the other is there, and a form
refused as stale keeps what was typed (R-2.3: one owner acts on a record at a time).

The engine on SQLite and PostgreSQL (`services`, a virtual clock); the desk through the test
client, its clock swapped for a virtual one.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from engine.access import users
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.models import RecordViewer
from engine.time.clock import VirtualClock
from signin.auth import hash_password
from tests.conftest import SHANGHAI
from tests.integration.test_desk import PASSWORD, create, make_app, prefixed, row_version, signed_in
from wsgi import services as app_services


def record(services: Services) -> int:
    fields = {"customer_no": "C-1", "contact": "13812345678", "description": "滚筒异响"}
    new = NewRecord(record_type="feedback", fields=fields, channel="phone", priority="P2")
    return services.create_record("after_sales", new, actor="li").id


def test_each_agent_sees_the_other_until_their_page_stops_beating(
    services: Services, clock: VirtualClock
) -> None:
    with services.uow() as uow:
        for name, shown in (("li", "李娜"), ("wu", "吴磊")):
            users.add_user(
                uow.session, name, "agent", PASSWORD, hash_password, clock.now(), display_name=shown
            )
        uow.commit()
    record_id, other_id = record(services), record(services)
    assert services.viewing(record_id, "li") == []
    assert services.viewing(record_id, "wu") == ["李娜"]
    assert services.viewing(other_id, "zhou") == []  # another record: nobody else there
    clock.advance(timedelta(seconds=40))
    assert services.viewing(record_id, "li") == ["吴磊"]  # 40 s since wu's beat: still there
    clock.advance(timedelta(seconds=61))
    assert services.viewing(record_id, "li") == []  # wu's page stopped beating a minute ago
    with services.session_factory() as session:
        left = session.scalars(
            select(RecordViewer.username).where(RecordViewer.record_id == record_id)
        )
        assert list(left) == ["li"]  # the stale row is gone, not only hidden


def test_a_beat_refreshes_one_row_per_person_and_record(
    services: Services, clock: VirtualClock
) -> None:
    record_id = record(services)
    for _beat in range(3):
        services.viewing(record_id, "li")
        clock.advance(timedelta(seconds=20))
    with services.session_factory() as session:
        rows = session.scalars(select(RecordViewer)).all()
        assert [(r.username, r.seen_at) for r in rows] == [
            ("li", datetime(2026, 11, 23, 9, 0, 40, tzinfo=SHANGHAI))
        ]


# The desk ------------------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    app = make_app(tmp_path, after_sales, WTF_CSRF_ENABLED=False)
    app_services(app).clock = VirtualClock(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    service = app_services(app)
    with service.uow() as uow:
        users.add_user(
            uow.session,
            "zhang",
            "agent",
            PASSWORD,
            hash_password,
            service.clock.now(),
            display_name="张三",
            team="service_desk",
        )
        uow.commit()
    return app


def test_the_record_page_beats_and_names_the_other_agent_in_each_language(app: Flask) -> None:
    record_id = create(app)
    li, zhang = signed_in(app, "li"), signed_in(app, "zhang")
    page = li.get(f"/records/{record_id}").get_data(as_text=True)
    assert f'data-url="/records/{record_id}/presence"' in page and "presence.js" in page
    assert li.post(f"/records/{record_id}/presence").get_json() == {"others": [], "text": ""}
    zhang.post(f"/records/{record_id}/presence")
    assert li.post(f"/records/{record_id}/presence").get_json()["text"] == "张三 也在查看此记录"
    li.post("/me/language", data={"locale": "en"})
    answer = li.post(f"/records/{record_id}/presence").get_json()
    assert answer["text"] == "张三 is also viewing this record"
    app_services(app).clock.advance(timedelta(seconds=61))  # type: ignore[attr-defined]
    assert li.post(f"/records/{record_id}/presence").get_json()["others"] == []


def test_another_teams_record_has_no_presence_for_an_agent(app: Flask) -> None:
    record_id = create(app)
    app_services(app).transition(
        record_id, "accept", {"category": "service", "priority": "P2"}, actor="other"
    )  # routed to training: not the R&D team's
    assert signed_in(app, "wang").post(f"/records/{record_id}/presence").status_code == 404


def test_a_stale_transition_form_reloads_the_record_and_keeps_what_was_typed(
    app: Flask,
) -> None:
    record_id = create(app)
    client = signed_in(app, "zhao")
    stale = row_version(app, record_id)
    app_services(app).transition(
        record_id, "accept", {"category": "service", "priority": "P2"}, actor="other"
    )
    typed = prefixed("wait_for_customer", wait_reason="等客户发送故障照片", row_version=stale)
    response = client.post(f"/records/{record_id}/transitions/wait_for_customer", data=typed)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "您填写的内容已保留，请核对后再提交" in page
    assert "等客户发送故障照片" in page  # what was typed is back in the form
    assert "处理中" in page  # the record as it is now
    fresh = row_version(app, record_id)
    assert f'name="wait_for_customer-row_version" type="hidden" value="{fresh}"' in page
    # Sent again as it stands, the kept form goes through.
    again = client.post(
        f"/records/{record_id}/transitions/wait_for_customer",
        data=prefixed("wait_for_customer", wait_reason="等客户发送故障照片", row_version=fresh),
    )
    assert again.status_code == 302


def test_the_heartbeat_needs_the_pages_csrf_token_in_its_header(
    tmp_path: Path, after_sales: PackSource
) -> None:
    """presence.js sends the token the page carries as X-CSRFToken; without it, 400."""
    app = make_app(tmp_path, after_sales)  # CSRF on, as served
    record_id = create(app)
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login)
    token = token or re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert token is not None
    client.post("/login", data={"username": "li", "password": PASSWORD, "csrf_token": token[1]})
    page = client.get(f"/records/{record_id}").get_data(as_text=True)
    found = re.search(r'data-csrf="([^"]+)"', page)
    assert found is not None
    assert client.post(f"/records/{record_id}/presence").status_code == 400
    answer = client.post(f"/records/{record_id}/presence", headers={"X-CSRFToken": found[1]})
    assert answer.status_code == 200 and answer.get_json()["others"] == []
