"""Creating a record from the desk (issue #21): a phone call typed in on the pack's form, the
customer found and shown masked, a same-subject open record offered instead, hostile input
refused with 400 or 404, never a 500."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from engine.access import users
from engine.records.intake import NewRecord
from engine.records.personal import all_fields
from engine.records.versions import PackSource
from engine.store.models import Record, RecordEvent, ThreadMessage
from signin.auth import hash_password
from tests.integration.test_desk import PASSWORD, create, make_app, signed_in
from wsgi import services

TOKEN = r'name="csrf_token" type="hidden" value="([^"]+)"'
CALL = {
    "channel": "phone",
    "priority": "P1",
    "customer_no": "C-9",
    "customer_name": "李雷",
    "contact": "13900001111",
    "product": "滚筒洗衣机",
    "description": "洗衣机不脱水",
}


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Iterator[Flask]:
    yield make_app(tmp_path, after_sales, WTF_CSRF_ENABLED=False)


def records(app: Flask) -> list[Record]:
    with services(app).session_factory() as session:
        query = select(Record).options(selectinload(Record.customer)).order_by(Record.id)
        return list(session.scalars(query))


def new_id(location: str) -> int:
    return int(location.rstrip("/").rsplit("/", 1)[-1].split("#")[0])


def test_an_agent_creates_a_record_for_a_phone_call(app: Flask) -> None:
    """R-1.1, R-1.2, R-1.4: the pack's form for the first feedback type, phone preselected;
    posted, the record is created by the agent and the page says so."""
    client = signed_in(app, "li")
    form = client.get("/records/new")
    page = form.get_data(as_text=True)
    assert form.status_code == 200
    assert "售后反馈" in page and "问题描述 *" in page and "客户编号 *" in page
    assert '<option selected value="phone">电话</option>' in page
    assert '<option selected value="P2">P2 一般</option>' in page
    assert 'type="date"' in page and "<textarea" in page
    assert "解决方案" not in page  # a field of handling, not of intake

    response = client.post("/records/new?pack=after_sales&type=feedback", data=CALL)
    assert response.status_code == 302
    record_id = new_id(response.headers["Location"])
    created = records(app)[-1]
    assert created.id == record_id
    assert created.customer is not None and created.customer.number == "C-9"
    assert (created.channel, created.priority) == ("phone", "P1")
    assert created.fields["description"] == "洗衣机不脱水"
    with services(app).session_factory() as session:
        actor = session.scalars(
            select(RecordEvent.actor).where(RecordEvent.record_id == record_id)
        ).first()
    assert actor == "li"
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"已创建记录 #{record_id}" in shown


def test_in_english_the_form_speaks_english(app: Flask) -> None:
    """The desk's own words are translated; the pack's labels are the pack's."""
    create(app)
    client = signed_in(app, "li")
    client.post("/me/language", data={"locale": "en"})
    page = client.get("/records/new").get_data(as_text=True)
    assert "New record" in page and "Find customer" in page and "Create record" in page
    assert "新建记录" not in page and "查找客户" not in page and "创建记录" not in page
    data = {**CALL, "desk_lookup": "C-1"}
    warned = client.post("/records/new", data=data).get_data(as_text=True)
    assert "Create anyway" in warned and "Add to #1" in warned
    assert "仍然新建" not in warned and "添加到" not in warned


def test_the_queue_offers_new_record_to_agents_and_supervisors(app: Flask) -> None:
    """R-1.6: besides the API, a person typing at the desk."""
    for who in ("li", "zhao"):
        assert 'href="/records/new"' in signed_in(app, who).get("/queue").get_data(as_text=True)


def test_a_customer_found_by_phone_is_shown_masked(app: Flask) -> None:
    """R-1.2, R-8.3: found through the contact's keyed hash, shown as 王* and 138****5678."""
    create(app)
    page = (
        signed_in(app, "li")
        .post("/records/new", data={"desk_lookup": "138-1234-5678", "find": "1"})
        .get_data(as_text=True)
    )
    assert "已找到客户" in page and "C-1" in page
    assert "王*" in page and "138****5678" in page
    assert "王芳" not in page and "13812345678" not in page


def test_a_customer_found_by_number_lends_the_stored_contact_unseen(app: Flask) -> None:
    """R-1.2: a blank contact takes the customer's own; the page never shows it in full."""
    create(app)
    client = signed_in(app, "li")
    page = client.post("/records/new", data={"desk_lookup": "C-1", "find": "1"})
    assert "13812345678" not in page.get_data(as_text=True)
    data = {
        "desk_lookup": "C-1",
        "channel": "walk_in",
        "priority": "P2",
        "description": "门店送修",
        "desk_confirm": "1",
    }
    response = client.post("/records/new", data=data)
    assert response.status_code == 302
    created = records(app)[-1]
    assert all_fields(created)["contact"] == "13812345678"
    assert (created.fields["customer_no"], created.channel) == ("C-1", "walk_in")


def test_a_missing_required_field_is_a_400_with_the_typed_values_kept(app: Flask) -> None:
    """R-1.2: the engine's refusal, in Chinese, beside the field; nothing is created."""
    data = {**CALL, "description": ""}
    response = signed_in(app, "li").post("/records/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "请填写此项。" in page and "未能创建" in page
    assert 'value="李雷"' in page and 'value="13900001111"' in page and "滚筒洗衣机" in page
    assert records(app) == []


def test_an_open_record_on_the_same_subject_is_offered_and_the_call_added_to_it(
    app: Flask,
) -> None:
    """R-1.7: one customer, one open record per subject: the call joins the first record's
    thread as the customer's words."""
    first = create(app)
    client = signed_in(app, "li")
    data = {
        "desk_lookup": "C-1",
        "channel": "phone",
        "priority": "P2",
        "description": "又响了，声音更大",
    }
    warned = client.post("/records/new", data=data)
    page = warned.get_data(as_text=True)
    assert warned.status_code == 200
    assert "该客户已有同一主题的未结记录" in page
    assert f"添加到 #{first}" in page and "待受理" in page and "滚筒异响" in page
    assert "仍然新建" in page and 'name="desk_confirm" type="hidden" value="1"' in page
    assert len(records(app)) == 1

    added = client.post("/records/new", data={**data, "add_to": str(first)})
    assert added.status_code == 302
    assert added.headers["Location"].endswith(f"/records/{first}#thread")
    assert len(records(app)) == 1
    with services(app).session_factory() as session:
        message = session.scalars(
            select(ThreadMessage).where(ThreadMessage.record_id == first)
        ).one()
    assert (message.direction, message.body, message.channel) == ("in", "又响了，声音更大", "phone")


def test_a_known_customer_number_typed_in_the_form_is_warned_too(app: Flask) -> None:
    """R-1.7: without the look-up, the customer number itself finds the customer."""
    first = create(app)
    data = {**CALL, "customer_no": "C-1", "desk_lookup": "no such customer"}
    page = signed_in(app, "li").post("/records/new", data=data).get_data(as_text=True)
    assert f"添加到 #{first}" in page
    assert len(records(app)) == 1


def test_the_warning_shows_at_most_sixty_characters_of_a_description(app: Flask) -> None:
    services(app).create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            fields={
                "customer_no": "C-1",
                "contact": "13812345678",
                "description": "甲" * 59 + "乙" * 41,
            },
        ),
        actor="api",
    )
    data = {**CALL, "desk_lookup": "C-1"}
    page = signed_in(app, "li").post("/records/new", data=data).get_data(as_text=True)
    assert "甲" * 59 + "…" in page and "乙" not in page


def test_create_anyway_makes_a_second_record(app: Flask) -> None:
    """R-1.7: the warning advises; an agent who knows it is another matter goes on."""
    create(app)
    data = {**CALL, "desk_lookup": "C-1", "customer_no": "", "description": "另一台冰箱不制冷"}
    response = signed_in(app, "li").post("/records/new", data={**data, "desk_confirm": "1"})
    assert response.status_code == 302
    assert len(records(app)) == 2


def test_another_category_is_not_the_same_subject(app: Flask) -> None:
    """R-1.5: the open record has no category of logistics; the new one is created at once."""
    create(app)
    data = {**CALL, "desk_lookup": "C-1", "category": "logistics"}
    assert signed_in(app, "li").post("/records/new", data=data).status_code == 302


def test_adding_to_a_record_not_offered_is_a_404(app: Flask) -> None:
    other = create(app, number="C-2")
    data = {**CALL, "desk_lookup": "C-1", "add_to": str(other)}
    create(app)
    assert signed_in(app, "li").post("/records/new", data=data).status_code == 404
    assert (
        signed_in(app, "li").post("/records/new", data={**data, "add_to": "x"}).status_code == 404
    )


def test_operations_and_anonymous_visitors_are_refused(app: Flask) -> None:
    """R-8.3: only the people who take calls create records at the desk."""
    service = services(app)
    with service.uow() as uow:
        users.add_user(
            uow.session, "ops", "operations", PASSWORD, hash_password, service.clock.now()
        )
        uow.commit()
    ops = signed_in(app, "ops")
    assert ops.get("/records/new").status_code == 403
    assert ops.post("/records/new", data=CALL).status_code == 403
    anonymous = app.test_client().get("/records/new")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert records(app) == []


@pytest.mark.parametrize(
    ("query", "data", "status"),
    [
        ("", {**CALL, "description": "坏了\x00"}, 400),
        ("", {**CALL, "desk_lookup": "C-1\x00"}, 400),
        ("", {**CALL, "description": "长" * 100_000}, 400),
        ("", {**CALL, "priority": "P9"}, 400),
        ("", {**CALL, "channel": "pigeon"}, 400),
        ("", {**CALL, "purchased_on": "2026-13-45"}, 400),
        ("", {**CALL, "customer_no": "C" * 500}, 400),
        ("?type=nonsense", CALL, 404),
        ("?pack=nonsense", CALL, 404),
        ("?pack=after_sales&type=nonsense", CALL, 404),
    ],
)
def test_hostile_input_is_refused_never_a_500(
    app: Flask, query: str, data: dict[str, str], status: int
) -> None:
    response = signed_in(app, "li").post(f"/records/new{query}", data=data)
    assert response.status_code == status
    assert records(app) == []


def test_unknown_types_are_404_on_the_form_too(app: Flask) -> None:
    client = signed_in(app, "li")
    assert client.get("/records/new?type=nonsense").status_code == 404
    assert client.get("/records/new?pack=nonsense").status_code == 404


def test_the_form_posts_only_with_its_csrf_token(tmp_path: Path, after_sales: PackSource) -> None:
    """ASVS 4.2.2: like every form of the desk; with its token the call is created."""
    app = make_app(tmp_path, after_sales)
    client = app.test_client()
    token = re.search(TOKEN, client.get("/login").get_data(as_text=True))
    assert token is not None
    signed = client.post(
        "/login", data={"username": "li", "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert signed.status_code == 302
    assert client.post("/records/new", data=CALL).status_code == 400
    assert records(app) == []
    token = re.search(TOKEN, client.get("/records/new").get_data(as_text=True))
    assert token is not None
    response = client.post("/records/new", data={**CALL, "csrf_token": token.group(1)})
    assert response.status_code == 302
