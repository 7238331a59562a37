"""The REST API (R-1.6): tokens, validation against the pack, problem details, safe retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.access import tokens
from engine.delivery.outbox import deliver_due
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.db import make_engine, make_session_factory
from engine.store.migrate import upgrade
from engine.store.models import Record
from ops.settings import Settings
from schedules.worker import senders_for
from wsgi import create_app, services

PHONE = "13812345678"
RECORD: dict[str, Any] = {
    "pack": "after_sales",
    "type": "feedback",
    "channel": "online_chat",
    "priority": "P1",
    "fields": {
        "customer_no": "C-77",
        "customer_name": "王芳",
        "contact": PHONE,
        "description": "洗衣机显示 E3",
    },
}


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path}/api.db"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    services(app).publish(after_sales, by="test")
    yield app


def token(app: Flask, *scopes: str) -> dict[str, str]:
    service: Services = services(app)
    with service.uow() as uow:
        _, plain = tokens.issue(
            uow.session, f"t{len(scopes)}{'-'.join(scopes)}", scopes, service.clock.now()
        )
        uow.commit()
    return {"Authorization": f"Bearer {plain}"}


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def writer(app: Flask) -> dict[str, str]:
    return token(app, "read", "write")


def records_count(app: Flask) -> int:
    with make_session_factory(make_engine(app.config["DATABASE_URL"]))() as session:
        return session.scalar(select(func.count()).select_from(Record)) or 0


def problem_of(response: Any) -> dict[str, Any]:
    assert response.mimetype == "application/problem+json", response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    assert body["status"] == response.status_code
    return body


def test_every_api_endpoint_requires_a_token(app: Flask, client: FlaskClient) -> None:
    public = {"/api/v1/openapi.json", "/api/v1/docs", "/api/v1/swagger-ui/<path:filename>"}
    # The gateways sign their requests instead (tests/integration/test_channels_api.py).
    public |= {f"/api/v1/channels/<string:channel>/{kind}" for kind in ("messages", "receipts")}
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.rule in public:
            continue
        path = re.sub(r"<int[^>]*>", "1", rule.rule).replace("<string:number>", "C-1")
        assert rule.methods is not None
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, json={})
            assert response.status_code == 401, (method, path)
            assert "Bearer" in response.headers["WWW-Authenticate"]
            problem_of(response)
            checked += 1
    assert checked >= 8
    bad = client.get("/api/v1/records", headers={"Authorization": "Bearer clp_nope"})
    assert bad.status_code == 401


def test_a_read_token_cannot_write(app: Flask, client: FlaskClient) -> None:
    response = client.post("/api/v1/records", json=RECORD, headers=token(app, "read"))
    assert response.status_code == 403
    assert "write" in problem_of(response)["detail"]


def test_a_revoked_token_is_refused(app: Flask, client: FlaskClient) -> None:
    headers = token(app, "read")
    with services(app).uow() as uow:
        tokens.revoke(uow.session, "t1read", services(app).clock.now())
        uow.commit()
    assert client.get("/api/v1/records", headers=headers).status_code == 401


def test_create_a_record_with_its_clocks_and_masked_personal_data(
    app: Flask, client: FlaskClient, writer: dict[str, str]
) -> None:
    response = client.post("/api/v1/records", json=RECORD, headers=writer)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["stage"], body["priority"], body["customer"]) == ("pending", "P1", "C-77")
    assert body["fields"]["contact"] == "138****5678"
    assert body["fields"]["customer_name"] == "王*"
    assert {c["target"] for c in body["sla"]} == {"respond", "resolve"}
    full = client.get(f"/api/v1/records/{body['id']}", headers=token(app, "read", "personal"))
    assert full.get_json()["fields"]["contact"] == PHONE


@pytest.mark.parametrize(
    ("change", "status", "path"),
    [
        ({"received_at": "2026-11-23T09:00:00"}, 422, "/received_at"),
        ({"received_at": "2999-01-01T09:00:00+08:00"}, 422, "/fields/received_at"),
        ({"fields": {**RECORD["fields"], "colour": "red"}}, 422, "/fields/colour"),
        ({"colour": "red"}, 422, "/colour"),
        ({"channel": "fax"}, 422, "/fields/channel"),
        ({"pack": "nope"}, 404, None),
        ({"type": "nope"}, 404, None),
        ({"fields": {"customer_no": "C-1"}}, 422, "/fields/contact"),
    ],
)
def test_bad_input_gets_a_problem_naming_the_field(
    app: Flask,
    client: FlaskClient,
    writer: dict[str, str],
    change: dict[str, Any],
    status: int,
    path: str | None,
) -> None:
    response = client.post("/api/v1/records", json={**RECORD, **change}, headers=writer)
    assert response.status_code == status
    body = problem_of(response)
    if path is not None:
        assert path in [e["path"] for e in body.get("errors", [])], body
    assert records_count(app) == 0


def test_malformed_bodies_are_4xx_not_500(
    app: Flask, client: FlaskClient, writer: dict[str, str]
) -> None:
    broken = client.post(
        "/api/v1/records", data="{", headers={**writer, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and problem_of(broken)
    text = client.post(
        "/api/v1/records", data="hi", headers={**writer, "Content-Type": "text/plain"}
    )
    assert text.status_code == 415 and problem_of(text)
    huge = client.post(
        "/api/v1/records",
        data='{"pack": "' + "x" * (2 * 1024 * 1024) + '"}',
        headers={**writer, "Content-Type": "application/json"},
    )
    assert huge.status_code == 413 and problem_of(huge)


def test_a_replayed_post_with_the_same_key_creates_one_record(
    app: Flask, client: FlaskClient, writer: dict[str, str]
) -> None:
    headers = {**writer, "Idempotency-Key": "chat-msg-1"}
    first = client.post("/api/v1/records", json=RECORD, headers=headers)
    again = client.post("/api/v1/records", json=RECORD, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert records_count(app) == 1
    other = client.post("/api/v1/records", json={**RECORD, "priority": "P0"}, headers=headers)
    assert other.status_code == 409
    assert "different request" in problem_of(other)["detail"]


def test_a_failed_request_frees_its_key_for_a_retry(
    app: Flask, client: FlaskClient, writer: dict[str, str]
) -> None:
    headers = {**writer, "Idempotency-Key": "k-2"}
    body = {**RECORD, "channel": "fax"}
    assert client.post("/api/v1/records", json=body, headers=headers).status_code == 422
    assert client.post("/api/v1/records", json=body, headers=headers).status_code == 422


def test_a_channel_message_id_deduplicates_records(
    app: Flask, client: FlaskClient, writer: dict[str, str]
) -> None:
    body = {**RECORD, "external_id": "wx-msg-9"}
    first = client.post("/api/v1/records", json=body, headers=writer)
    again = client.post("/api/v1/records", json=body, headers=writer)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    assert records_count(app) == 1


def test_transitions_notes_and_conflicts(
    app: Flask, client: FlaskClient, writer: dict[str, str]
) -> None:
    record = client.post("/api/v1/records", json=RECORD, headers=writer).get_json()
    url = f"/api/v1/records/{record['id']}"
    accepted = client.post(
        f"{url}/transitions",
        json={
            "transition": "accept",
            "fields": {"category": "quality", "priority": "P1"},
            "expected_version": record["row_version"],
        },
        headers=writer,
    )
    assert accepted.status_code == 200, accepted.get_json()
    assert (accepted.get_json()["stage"], accepted.get_json()["department"]) == (
        "in_progress",
        "rnd",
    )
    stale = client.post(
        f"{url}/transitions",
        json={
            "transition": "resolve",
            "fields": {"solution_type": "service", "solution": "x"},
            "expected_version": record["row_version"],
        },
        headers=writer,
    )
    assert stale.status_code == 409 and "reload" in problem_of(stale)["detail"]
    wrong = client.post(f"{url}/transitions", json={"transition": "accept"}, headers=writer)
    assert wrong.status_code == 409
    note = client.post(
        f"{url}/notes", json={"kind": "message.in", "text": "客户补充了照片"}, headers=writer
    )
    assert note.status_code == 201
    assert client.get("/api/v1/records/999999", headers=writer).status_code == 404


def test_listing_pages_with_a_cursor_and_filters(
    app: Flask, client: FlaskClient, writer: dict[str, str]
) -> None:
    ids = [
        client.post("/api/v1/records", json=RECORD, headers=writer).get_json()["id"]
        for _ in range(5)
    ]
    first = client.get("/api/v1/records?limit=2&priority=P1&open=true", headers=writer).get_json()
    assert [r["id"] for r in first["items"]] == ids[::-1][:2]
    second = client.get(
        f"/api/v1/records?limit=2&cursor={first['next_cursor']}", headers=writer
    ).get_json()
    assert [r["id"] for r in second["items"]] == ids[::-1][2:4]
    assert client.get("/api/v1/records?limit=0", headers=writer).status_code == 422
    assert client.get("/api/v1/records?bogus=1", headers=writer).status_code == 422
    assert client.get("/api/v1/records?priority=P2", headers=writer).get_json()["items"] == []


def test_customers_orders_and_the_360_view(
    app: Flask, client: FlaskClient, writer: dict[str, str]
) -> None:
    created = client.put(
        "/api/v1/customers/C-77", json={"name": "王芳", "contact": PHONE}, headers=writer
    )
    assert created.status_code == 201 and created.get_json()["contact"] == "138****5678"
    assert (
        client.put("/api/v1/customers/C-77", json={"tier": "vip"}, headers=writer).status_code
        == 200
    )
    order = {
        "external_id": "SO-1",
        "amount": 3999,
        "ordered_at": "2026-08-01T10:00:00+08:00",
        "items": [{"sku": "X5", "qty": 1}],
    }
    assert (
        client.post("/api/v1/customers/C-77/orders", json=order, headers=writer).status_code == 201
    )
    assert (
        client.post("/api/v1/customers/C-77/orders", json=order, headers=writer).status_code == 200
    )
    naive = {**order, "external_id": "SO-2", "ordered_at": "2026-08-01T10:00:00"}
    assert (
        client.post("/api/v1/customers/C-77/orders", json=naive, headers=writer).status_code == 422
    )
    client.post("/api/v1/records", json=RECORD, headers=writer)
    view = client.get("/api/v1/customers/C-77", headers=writer).get_json()
    assert view["customer"]["tier"] == "vip"
    assert [o["external_id"] for o in view["orders"]] == ["SO-1"]
    assert len(view["records"]) == 1
    assert client.get("/api/v1/customers/nobody", headers=writer).status_code == 404


def test_a_customers_profile_consent_shipping_and_tier_through_the_api(
    app: Flask, client: FlaskClient, writer: dict[str, str]
) -> None:
    """R-5.1, R-5.3, R-8.3: what care needs comes in by the API; the tier comes back."""
    profile = {
        "birthday": "1990-11-24",
        "timezone": "Europe/Berlin",
        "consent_marketing": True,
        "consent_source": "app",
    }
    saved = client.put("/api/v1/customers/C-78", json=profile, headers=writer).get_json()
    assert saved["consent_marketing"] is True and saved["consent_at"] is not None
    assert saved["timezone"] == "Europe/Berlin"
    bad = client.put("/api/v1/customers/C-78", json={"timezone": "Mars/Base"}, headers=writer)
    assert bad.status_code == 422 and "timezone" in bad.get_data(as_text=True)
    order = {"external_id": "SO-9", "amount": 99, "ordered_at": "2026-11-20T10:00:00+08:00"}
    client.post("/api/v1/customers/C-78/orders", json=order, headers=writer)
    shipped = {**order, "shipped_at": "2026-11-21T09:00:00+08:00"}
    again = client.post("/api/v1/customers/C-78/orders", json=shipped, headers=writer)
    assert again.status_code == 200 and again.get_json()["shipped_at"].startswith("2026-11-21T")
    view = client.get("/api/v1/customers/C-78", headers=writer).get_json()
    assert view["tiers"] == {
        "after_sales": {"tier": "potential", "rule": "potential: first_purchase_within 3 months"}
    }


def test_the_openapi_description_and_its_page(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/records" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and b"swagger-ui" in page.data
    asset = client.get("/api/v1/swagger-ui/swagger-ui-bundle.js")
    asset.close()
    assert asset.status_code == 200


class Receiver(BaseHTTPRequestHandler):
    got: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:  # noqa: N802
        Receiver.got.append(
            (dict(self.headers), self.rfile.read(int(self.headers["Content-Length"])))
        )
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet: the test reads the requests."""


def test_subscribed_integrations_get_signed_record_events(
    app: Flask, client: FlaskClient, writer: dict[str, str]
) -> None:
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.got = []
    app.config["OUTBOUND_ALLOW"] = ("127.0.0.1",)  # the receiver is local: allowed by name
    local = Settings.for_tests(outbound_allow=("127.0.0.1",))
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
        bad = client.post(
            "/api/v1/subscriptions", json={"url": url, "events": ["record.eaten"]}, headers=writer
        )
        assert bad.status_code == 422
        made = client.post(
            "/api/v1/subscriptions",
            json={"url": url, "events": ["record.created", "record.transitioned"]},
            headers=writer,
        )
        assert made.status_code == 201
        secret = made.get_json()["secret"]
        listed = client.get("/api/v1/subscriptions", headers=writer).get_json()
        assert [s["url"] for s in listed] == [url] and "secret" not in listed[0]
        record = client.post("/api/v1/records", json=RECORD, headers=writer).get_json()
        client.post(
            f"/api/v1/records/{record['id']}/transitions",
            json={"transition": "accept", "fields": {"category": "service", "priority": "P2"}},
            headers=writer,
        )
        service = services(app)
        delivery = deliver_due(
            service.session_factory, senders_for(service, local), service.clock.now()
        )
        assert delivery.sent == 2
        assert (
            client.delete(
                f"/api/v1/subscriptions/{made.get_json()['id']}", headers=writer
            ).status_code
            == 204
        )
        client.post("/api/v1/records", json=RECORD, headers=writer)
        assert (
            deliver_due(
                service.session_factory, senders_for(service, local), service.clock.now()
            ).sent
            == 0
        )
    finally:
        server.shutdown()
        server.server_close()
    types = [json.loads(body)["type"] for _headers, body in Receiver.got]
    assert types == ["record.created", "record.transitioned"]
    for headers, body in Receiver.got:
        stamp, _, signature = headers["X-Careloop-Signature"].partition(",v1=")
        expected = hmac.new(
            secret.encode(), f"{stamp[2:]}.".encode() + body, hashlib.sha256
        ).hexdigest()
        assert signature == expected
        assert PHONE.encode() not in body and "王芳".encode() not in body


def test_a_token_notes_its_use_at_most_once_a_minute(app: Flask) -> None:
    """Every request used to write `last_used_at`: a write transaction before any work."""
    service = services(app)
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with service.uow() as uow:
        _, plain = tokens.issue(uow.session, "usage", ["read"], start)
        uow.commit()

    def use(at: datetime) -> datetime | None:
        with service.uow() as uow:
            token = tokens.authenticate(uow.session, plain, at)
            assert token is not None
            uow.commit()
            return token.last_used_at

    assert use(start) == start
    assert use(start + timedelta(seconds=59)) == start
    assert use(start + timedelta(seconds=60)) == start + timedelta(seconds=60)
