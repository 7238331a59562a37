"""`/api/v1/channels/{channel}/…` (issue #20, part 3): the team's SMS and WeChat gateways push
what customers wrote and what became of our replies, signed with the shared secret.

Through the Flask test client, signing each body as docs/channels.md tells a gateway to
(tests/gateway.py): a new number opens a record (R-1.1), a repeat is harmless, a missing,
wrong or stale signature is a 401 problem, a channel without a gateway a 404; a receipt
shows on the record page and in the API thread; the desk answers a caller by SMS unless the
customer prefers another channel.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.access import tokens, users
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.store.db import make_engine
from engine.store.migrate import upgrade
from ops.settings import Settings
from signin.auth import hash_password
from tests.gateway import signature
from tests.integration.test_desk import PASSWORD
from tests.integration.test_desk_thread import thread_section
from wsgi import create_app, services

SECRET = b"gateway-secret"
PHONE = "13812345678"
TOKENS = itertools.count(1)
MESSAGES = "/api/v1/channels/sms/messages?pack=after_sales"


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path}/gateways.db"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = Settings.for_tests(
        gateways=(("sms", "http://127.0.0.1:9/sms"), ("wechat", "http://127.0.0.1:9/wx")),
        gateway_secret=SECRET.decode(),
    )
    config = {"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "test"}
    app = create_app({**config, "WTF_CSRF_ENABLED": False}, settings=settings)
    service = services(app)
    service.publish(after_sales, by="test")
    with service.uow() as uow:
        now = service.clock.now()
        users.add_user(
            uow.session, "li", "agent", PASSWORD, hash_password, now, team="service_desk"
        )
        uow.commit()
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def push(client: FlaskClient, url: str, payload: dict[str, Any], **sign: Any) -> TestResponse:
    """POST the body as a gateway does, signed over its exact bytes (or as `sign` says)."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    header = sign.get("header") or signature(sign.get("secret", SECRET), body, sign.get("at"))
    headers = {"Content-Type": "application/json", "X-Careloop-Signature": header}
    return client.post(url, data=body, headers=headers)


def by_phone(app: Flask, number: str = "C-9") -> int:
    fields = {
        "customer_no": number,
        "customer_name": "王芳",
        "contact": PHONE,
        "description": "异响",
    }
    new = NewRecord(record_type="feedback", fields=fields, channel="phone", priority="P1")
    return services(app).create_record("after_sales", new, actor="api").id


def token(app: Flask, name: str, *scopes: str) -> dict[str, str]:
    service = services(app)
    with service.uow() as uow:
        named = f"{name}-{next(TOKENS)}"
        _, plain = tokens.issue(uow.session, named, list(scopes), service.clock.now())
        uow.commit()
    return {"Authorization": f"Bearer {plain}"}


def reader(app: Flask) -> dict[str, str]:
    return token(app, "reader", "read", "personal")


def test_an_sms_from_a_new_number_opens_a_record_and_its_repeat_is_harmless(
    app: Flask, client: FlaskClient
) -> None:
    """R-1.1: SMS is one more way in; the gateway retrying after a timeout adds nothing."""
    message = {"id": "sms-1", "from": "13900001111", "text": "空调不制冷", "received_at": None}
    first = push(client, MESSAGES, message)
    assert first.status_code == 201, first.get_json()
    created = first.get_json()
    assert created["action"] == "created"
    again = push(client, MESSAGES, message)
    assert again.status_code == 200
    assert again.get_json() == {**created, "action": "duplicate"}
    url = f"/api/v1/records/{created['record_id']}"
    record = client.get(url, headers=reader(app)).get_json()
    assert (record["channel"], record["fields"]["description"]) == ("sms", "空调不制冷")
    (entry,) = client.get(f"{url}/messages", headers=reader(app)).get_json()["items"]
    assert (entry["id"], entry["channel"], entry["text"]) == (
        created["message_id"],
        "sms",
        "空调不制冷",
    )


def test_an_sms_joins_the_named_record_or_the_senders_open_one(
    app: Flask, client: FlaskClient
) -> None:
    older, newer = by_phone(app), by_phone(app)
    plain = push(client, MESSAGES, {"id": "sms-2", "from": "138 1234 5678", "text": "在吗"})
    assert plain.get_json()["action"] == "joined" and plain.get_json()["record_id"] == newer
    named = push(client, MESSAGES, {"id": "sms-3", "from": PHONE, "text": f"[CL-{older}] 进展？"})
    assert (named.status_code, named.get_json()["record_id"]) == (201, older)


@pytest.mark.parametrize(
    ("sign", "detail"),
    [
        ({"secret": b"guessed"}, "does not match"),
        ({"at": time.time() - 600}, "more than 5 minutes"),
        ({"header": "v1=abc"}, "send X-Careloop-Signature"),
    ],
)
def test_a_message_without_the_gateways_signature_is_refused(
    app: Flask, client: FlaskClient, sign: dict[str, Any], detail: str
) -> None:
    answer = push(client, MESSAGES, {"id": "sms-4", "from": PHONE, "text": "hi"}, **sign)
    assert answer.status_code == 401 and answer.mimetype == "application/problem+json"
    assert detail in answer.get_json()["detail"]
    bare = client.post(MESSAGES, json={"id": "sms-4", "from": PHONE, "text": "hi"})
    assert bare.status_code == 401


def test_a_channel_without_a_gateway_or_a_pack_that_is_not_there_is_not_found(
    client: FlaskClient,
) -> None:
    message = {"id": "x-1", "from": PHONE, "text": "hi"}
    chat = push(client, "/api/v1/channels/online_chat/messages?pack=after_sales", message)
    assert chat.status_code == 404 and "online_chat" in chat.get_json()["detail"]
    nowhere = push(client, "/api/v1/channels/sms/messages?pack=retail_shop", message)
    assert nowhere.status_code == 404
    no_pack = push(client, "/api/v1/channels/sms/messages", message)
    assert no_pack.status_code == 422


def test_a_receipt_shows_delivered_on_the_desk_and_in_the_api(
    app: Flask, client: FlaskClient
) -> None:
    """R-3.2: the desk sees that the answer reached the customer, or why it did not."""
    record_id = by_phone(app)
    agent = app.test_client()
    agent.post("/login", data={"username": "li", "password": PASSWORD})
    page = agent.get(f"/records/{record_id}").get_data(as_text=True)
    assert '<option value="sms" selected>' in thread_section(page)  # a caller: answered by SMS
    sent = agent.post(f"/records/{record_id}/reply", data={"text": "明早上门。", "channel": "sms"})
    assert sent.status_code == 302
    assert "回复已加入发送队列。" in agent.get(f"/records/{record_id}").get_data(as_text=True)
    agent.post(f"/records/{record_id}/reply", data={"text": "改为下午。", "channel": "sms"})
    first, second = [e.message.outbox_id for e in services(app).thread(record_id)]
    receipts = "/api/v1/channels/sms/receipts"
    done = push(client, receipts, {"id": f"careloop-outbox-{first}", "status": "delivered"})
    assert done.status_code == 200 and done.get_json()["state"] == "delivered"
    failed = {"id": f"careloop-outbox-{second}", "status": "failed", "reason": "关机"}
    assert push(client, receipts, failed).status_code == 200
    thread = thread_section(agent.get(f"/records/{record_id}").get_data(as_text=True))
    assert 'data-state="delivered"' in thread and "已送达" in thread
    assert 'data-state="failed"' in thread and "关机" in thread
    items = client.get(f"/api/v1/records/{record_id}/messages", headers=reader(app)).get_json()
    assert [(m["state"], m["error"]) for m in items["items"]] == [
        ("delivered", None),
        ("failed", "关机"),
    ]
    unknown = push(client, receipts, {"id": "careloop-outbox-999999", "status": "delivered"})
    assert unknown.status_code == 404


def test_a_customer_who_prefers_wechat_is_answered_there(app: Flask, client: FlaskClient) -> None:
    record_id = by_phone(app, "C-12")
    writer = token(app, "writer", "read", "write")
    saved = client.put(
        "/api/v1/customers/C-12", json={"preferred_channel": "wechat"}, headers=writer
    )
    assert saved.status_code == 200 and saved.get_json()["preferred_channel"] == "wechat"
    agent = app.test_client()
    agent.post("/login", data={"username": "li", "password": PASSWORD})
    page = agent.get(f"/records/{record_id}").get_data(as_text=True)
    assert '<option value="wechat" selected>' in thread_section(page)


def test_the_openapi_description_names_the_gateway_endpoints_and_their_signature(
    client: FlaskClient,
) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/channels/{channel}/messages", "/api/v1/channels/{channel}/receipts"):
        assert spec["paths"][path]["post"]["security"] == [{"gatewaySignature": []}]
    scheme = spec["components"]["securitySchemes"]["gatewaySignature"]
    assert scheme["name"] == "X-Careloop-Signature"
