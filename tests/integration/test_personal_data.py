"""A known phone number and name never leave the server unmasked for roles that may not see them.

R-1.2, R-8.3: a customer is seeded with a phone number and a name; every page, JSON answer and
CSV/XLSX export an agent (and a supervisor, for the exports only supervisors reach) can fetch,
every API answer to a token without the `personal` scope, every captured log line and every
queued outbound message is searched for them.
"""

from __future__ import annotations

import io
import logging
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.store.models import OutboxMessage
from engine.time.clock import VirtualClock
from tests.conftest import DEFAULT_RECIPIENTS, SHANGHAI, web_app
from tests.integration.test_permissions import add_staff, client_for, routes
from workflows.loader import load_pack_from_files
from workflows.validate import source_of
from wsgi import services

PHONE = "13987654321"
NAME = "欧阳娜娜"
RECIPIENTS = """
  recipients:
    supervisor: {email: [supervisor@example.com]}
    manager: {email: [manager@example.com], webhook: true}
"""


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    text = DEFAULT_RECIPIENTS.sub(RECIPIENTS.lstrip("\n"), after_sales.files["pack.yaml"], 1)
    pack = source_of(
        load_pack_from_files(
            "after_sales", {**after_sales.files, "pack.yaml": text}, "workflows/after_sales"
        )
    )
    # The hook's port 9 on this machine: allowed by name, as an operator would (issue #22).
    app = web_app(tmp_path, pack=pack, WTF_CSRF_ENABLED=False, OUTBOUND_ALLOW=("127.0.0.1",))
    service = services(app)
    clock = VirtualClock(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    service.clock = clock
    add_staff(app)
    service.save_customer("C-1", {"name": NAME, "contact": PHONE})
    writer = client_for(app, "token:write")
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["record.created", "sla.breached"]}
    assert writer.post("/api/v1/subscriptions", json=hook).status_code == 201
    service.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            priority="P1",
            fields={
                "customer_no": "C-1",
                "customer_name": NAME,
                "contact": PHONE,
                "product": "洗碗机 D3",
                "description": "漏水",
            },
        ),
        actor="api",
    )
    clock.set(datetime(2026, 11, 23, 13, 0, tzinfo=SHANGHAI))  # the P1 breaches: mail is queued
    service.sweep()
    return app


def readable(body: bytes, content_type: str) -> str:
    """The text a person would see: XLSX unzipped, everything decoded."""
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            return "".join(z.read(name).decode("utf-8") for name in z.namelist())
    return body.decode("utf-8", errors="replace")


def test_the_phone_and_name_appear_nowhere_an_agent_or_a_plain_token_can_look(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: dict[str, str] = {}
    for principal in ("agent", "supervisor", "token:read"):
        client = client_for(app, principal)
        for method, path in routes(app):
            if method != "GET" or path.startswith(("/static", "/desk-static", "/admin/static")):
                continue
            if path.startswith(("/admin-assets", "/api/v1/swagger-ui")):
                continue
            for query in ("", "?id=1", "?q=C-1", "?search=C-1"):
                response = client.get(path + query)
                if response.status_code == 200:
                    seen[f"{principal} GET {path}{query}"] = readable(
                        response.data, response.content_type
                    )
    exports = [k for k in seen if "export" in k]
    assert any("dashboard/export.csv" in k for k in exports), exports
    assert any("/admin/customer/export/csv" in k for k in exports) or any(
        "/admin/customer/" in k for k in seen
    )
    assert any("/customers/C-1" in k for k in seen) and any("/records/1" in k for k in seen)
    assert any("/api/v1/records/1" in k for k in seen)
    assert any("/api/v1/customers/C-1" in k for k in seen)
    shown = [k for k, body in seen.items() if "139****4321" in body]  # masked, but shown
    assert any("/customers/C-1" in k for k in shown) and any("/records/1" in k for k in shown)
    assert any("/api/v1/" in k for k in shown), shown
    leaks = [k for k, body in seen.items() if PHONE in body or NAME in body]
    assert leaks == [], leaks
    assert PHONE not in caplog.text and NAME not in caplog.text
    with services(app).session_factory() as session:
        messages = session.scalars(select(OutboxMessage)).all()
    assert {m.channel for m in messages} >= {"email", "hook"}
    for message in messages:
        assert PHONE not in message.body + message.subject, message.channel
        assert NAME not in message.body + message.subject, message.channel
