"""Canned responses and keyboard shortcuts on the desk (issue #21, items 4 and 7).

Through the test client, as tests/integration/test_desk.py drives the desk: texts rendered for
the record on the server (personal fields masked, R-1.2, R-8.3), a reply that applies the
canned response's transition (R-3.1), an agent's own texts kept from everyone else, and a
hostile text refused when it is saved.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.customers.profiles import upsert_customer
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.store.models import CannedResponse, Record, ThreadMessage
from tests.integration.test_desk import make_app, signed_in
from wsgi import services

OWN = (
    "{{ customer.name }}您好，{{ record.product }}（{{ reference }}），"
    "联系方式 {{ record.contact }}，姓名 {{ record.customer_name }}。{{ agent }}"
)


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Iterator[Flask]:
    yield make_app(tmp_path, after_sales, WTF_CSRF_ENABLED=False)


def record_for(app: Flask, *, accepted: bool = False) -> int:
    """A washing-machine record of 王芳's; accepted, it is in progress with the training team."""
    service = services(app)
    with service.uow() as uow:
        upsert_customer(uow.session, "C-1", {"name": "王芳"}, service.clock.now())
        uow.commit()
    fields = {
        "customer_no": "C-1",
        "customer_name": "王芳",
        "contact": "13812345678",
        "product": "滚筒洗衣机",
        "description": "滚筒异响",
    }
    new = NewRecord(record_type="feedback", channel="phone", priority="P1", fields=fields)
    record_id = service.create_record("after_sales", new, actor="api").id
    if accepted:
        service.transition(
            record_id, "accept", {"category": "service", "priority": "P2"}, actor="zhao"
        )
    return record_id


def offered(client: FlaskClient, record_id: int, q: str = "") -> dict[str, dict[str, Any]]:
    """What the reply box's search finds on the record, by key."""
    response = client.get(f"/records/{record_id}/canned", query_string={"q": q})
    assert response.status_code == 200 and response.is_json
    return {item["key"]: item for item in response.get_json()}


def stored(app: Flask) -> list[CannedResponse]:
    with services(app).session_factory() as session:
        return list(session.scalars(select(CannedResponse).order_by(CannedResponse.id)))


def test_the_texts_are_rendered_for_the_record_with_personal_fields_masked(app: Flask) -> None:
    """R-1.2, R-8.3: the customer's own name addresses them; their contact stays masked."""
    record_id = record_for(app)
    client = signed_in(app, "li")
    assert client.post("/me/canned", data={"title": "问候", "body": OWN}).status_code == 302
    texts = offered(client, record_id)
    photo = texts["pack:photo_received"]["text"]
    assert photo.startswith("王芳，") and "滚筒洗衣机" in photo and f"CL-{record_id}" in photo
    own = texts[f"own:{stored(app)[0].id}"]["text"]
    assert own.startswith("王芳您好，滚筒洗衣机") and own.endswith("li")
    assert "138****5678" in own and "13812345678" not in own and "王*" in own
    # The waiting transition is offered only from a stage that has it (pending has not).
    assert texts["pack:proof_of_purchase"]["transition"] is None
    assert "13812345678" not in json.dumps(texts, ensure_ascii=False)
    assert list(offered(client, record_id, "发票")) == ["pack:proof_of_purchase"]
    assert 'data-canned="/records/' in client.get(f"/records/{record_id}").get_data(as_text=True)
    assert signed_in(app, "wang").get(f"/records/{record_id}/canned").status_code == 200


def test_another_teams_agent_gets_404_for_a_routed_records_texts(app: Flask) -> None:
    record_id = record_for(app, accepted=True)  # routed to training
    assert signed_in(app, "wang").get(f"/records/{record_id}/canned").status_code == 404


def test_a_reply_with_a_canned_text_applies_its_transition_once_sent(app: Flask) -> None:
    """R-3.1: asking for the proof of purchase puts the record to wait on the customer."""
    record_id = record_for(app, accepted=True)
    client = signed_in(app, "zhao")
    chosen = offered(client, record_id)["pack:proof_of_purchase"]
    assert chosen["transition"] == "wait_for_customer" and chosen["then"] == "发送后：等待客户"
    form = {"text": chosen["text"], "channel": "phone", "canned": chosen["key"], "then": "1"}
    response = client.post(f"/records/{record_id}/reply", data=form)
    assert response.status_code == 302
    with services(app).session_factory() as session:
        record = session.get_one(Record, record_id)
        assert record.stage == "waiting_customer"
        assert record.fields["wait_reason"] == "等待客户提供购买凭证"
    # Sent again from a stage that no longer has the transition: refused, the reply stands.
    again = client.post(f"/records/{record_id}/reply", data=form, follow_redirects=True)
    assert "不能再执行快捷回复所带的处理" in again.get_data(as_text=True)
    with services(app).session_factory() as session:
        count = select(func.count()).where(ThreadMessage.record_id == record_id)
        assert session.scalar(count.select_from(ThreadMessage)) == 2


def test_an_unticked_transition_is_not_applied(app: Flask) -> None:
    record_id = record_for(app, accepted=True)
    client = signed_in(app, "zhao")
    form = {"text": "请提供凭证", "channel": "phone", "canned": "pack:proof_of_purchase"}
    assert client.post(f"/records/{record_id}/reply", data=form).status_code == 302
    with services(app).session_factory() as session:
        assert session.get_one(Record, record_id).stage == "in_progress"


def test_an_agents_own_texts_are_theirs_alone(app: Flask) -> None:
    li, wang = signed_in(app, "li"), signed_in(app, "wang")
    assert li.post("/me/canned", data={"title": "问候", "body": "您好"}).status_code == 302
    canned_id = stored(app)[0].id
    assert "问候" in li.get("/me/canned").get_data(as_text=True)
    assert "问候" not in wang.get("/me/canned").get_data(as_text=True)
    assert wang.get(f"/me/canned/{canned_id}").status_code == 404
    assert wang.post(f"/me/canned/{canned_id}", data={"title": "x", "body": "y"}).status_code == 404
    assert wang.post(f"/me/canned/{canned_id}/delete").status_code == 404
    assert li.get(f"/me/canned/{canned_id}").status_code == 200
    changed = {"title": "问候语", "body": "{{ customer.name }}您好"}
    assert li.post(f"/me/canned/{canned_id}", data=changed).status_code == 302
    assert [(c.title, c.body, c.owner) for c in stored(app)] == [("问候语", changed["body"], "li")]
    assert li.post(f"/me/canned/{canned_id}/delete").status_code == 302
    assert stored(app) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{{ ''.__class__ }}", "'__class__' is not allowed"),
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            "For",
        ),
        ("{{ 'x' * 1000000000 }}", "Mul"),
        ("{{ custmer.name }}", "unknown name 'custmer'"),
        ("{{ customer.name", "does not parse"),
    ],
)
def test_a_hostile_or_broken_text_is_refused_with_its_reason(
    app: Flask, body: str, reason: str
) -> None:
    """R-8.3: a text typed on a page never reaches Python internals or runs unbounded."""
    response = signed_in(app, "li").post("/me/canned", data={"title": "坏", "body": body})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert reason in page.replace("&#39;", "'") and "未能保存" in page
    assert stored(app) == []


def test_the_desk_shows_its_keys_in_either_language(app: Flask) -> None:
    """Item 7: the help overlay and the hover titles, in Chinese and in English."""
    record_id = record_for(app)
    client = signed_in(app, "li")
    page = client.get(f"/records/{record_id}").get_data(as_text=True)
    assert "keys.js" in page and "键盘快捷键" in page and 'title="快捷键：R"' in page
    assert 'title="快捷键：I"' in page and "领取下一条" in page
    client.post("/me/language", data={"locale": "en"})
    page = client.get(f"/records/{record_id}").get_data(as_text=True)
    assert "Keyboard shortcuts" in page and 'title="Shortcut: R"' in page
    assert "My canned responses" in client.get("/me/canned").get_data(as_text=True)
