"""What a browser is protected from: forged requests, state changed by GET, injected script,
cached personal data, framing, and formulas in exported spreadsheets.

ASVS 3.5.1 and 3.5.3 (CSRF, no state change over GET), 1.2.1/3.2.2 (output escaped), 3.4.x
(security headers), 14.3.2 (no-store), 1.2.10 (spreadsheet cells defused).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.store.models import Model
from tests.conftest import web_app
from tests.integration.test_permissions import PASSWORD, ROLES, add_staff, routes
from workflows.loader import load_pack_from_files
from workflows.validate import source_of
from wsgi import services

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
RAW = ("<script>alert(1)", "<img src=x")
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def signed_in(app: Flask, username: str) -> FlaskClient:
    """Sign in through the form, its CSRF token included."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 302
    return client


def new_record(app: Flask, **fields: str) -> int:
    values = {"customer_no": "C-1", "contact": "13812345678", "description": "x", **fields}
    record = services(app).create_record(
        "after_sales",
        NewRecord(record_type="feedback", channel="phone", priority="P1", fields=values),
        actor="t",
    )
    return record.id


# Rate-limit counters count reads too (the portal's article suggestions, issue #23): what a
# client did, not a change of state it could cause.
BOOKKEEPING = {"rate_limit_counters"}


def snapshot(app: Flask) -> dict[str, list[Any]]:
    """Every row of every table but the rate counters, for comparing before and after."""
    with services(app).session_factory() as session:
        return {
            table.name: [tuple(row) for row in session.execute(select(table)).all()]
            for table in Model.metadata.sorted_tables
            if table.name not in BOOKKEEPING
        }


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    app = web_app(tmp_path, pack=after_sales)
    add_staff(app)
    new_record(app)
    return app


def test_every_state_changing_web_route_refuses_a_request_without_csrf_token(app: Flask) -> None:
    """Signed in as operations (who may do everything), with no token: 400 and nothing changed."""
    client = signed_in(app, "operations")
    before = snapshot(app)
    checked = 0
    for method, path in routes(app):
        if method == "GET" or path.startswith("/api/"):
            continue  # the API takes bearer tokens, which a browser never sends by itself
        response = client.open(path, method=method, data={"x": "1"})
        assert response.status_code == 400, (method, path, response.status_code)
        assert "CSRF" in response.get_data(as_text=True), (method, path)
        checked += 1
    assert checked > 40
    assert snapshot(app) == before


def test_no_get_changes_state(app: Flask) -> None:
    """Each GET route, as each role, leaves every table as it was (ASVS 3.5.3)."""
    before = snapshot(app)
    for role in ROLES:
        client = signed_in(app, role)
        for method, path in routes(app):
            if method == "GET" and not path.startswith("/api/"):
                client.get(path)
                client.get(path + "?id=1")
    after = snapshot(app)
    changed = [name for name in before if before[name] != after[name]]
    assert changed == []


def test_headers_on_pages_json_and_exports(app: Flask) -> None:
    client = signed_in(app, "operations")
    pages = ["/records/1", "/customers/C-1", "/queue", "/admin/customer/", "/dashboard"]
    pages += ["/dashboard/export.csv", "/login", "/status"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        headers = response.headers
        assert headers["Cache-Control"] == "no-store", path
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        script_src = re.search(r"script-src ([^;]+)", csp)
        assert script_src is not None and "unsafe-inline" not in script_src.group(1), path
    assert app.test_client().get("/api/v1/openapi.json").headers["Cache-Control"] == "no-store"
    static = client.get("/desk-static/careloop.css")
    assert static.headers.get("Cache-Control") != "no-store"
    static.close()


def test_every_script_on_every_page_carries_the_requests_nonce(app: Flask) -> None:
    """No inline script runs unless we wrote it: the CSP nonce is on each script tag."""
    client = signed_in(app, "operations")
    pages = 0
    for method, path in routes(app):
        if method != "GET" or path.startswith(("/api/v1/docs", "/api/v1/swagger-ui")):
            continue
        response = client.get(path)
        if response.status_code != 200 or not response.content_type.startswith("text/html"):
            continue
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
        assert nonce is not None
        html = response.get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert f'nonce="{nonce.group(1)}"' in tag, (path, tag)
        pages += 1
    assert pages > 20


def test_xss_in_record_fields_is_escaped_everywhere_it_is_shown(app: Flask) -> None:
    new_record(app, description=XSS, customer_name=XSS, product=XSS)
    client = signed_in(app, "supervisor")
    for path in ("/records/2", "/queue", "/admin/record/", "/admin/supervise/2"):
        body = client.get(path).get_data(as_text=True)
        assert not any(raw in body for raw in RAW), path
    revealed = client.post(
        "/records/2/reveal",
        data={"csrf_token": csrf_of(client, "/records/2"), "reason": "客户来电核对"},
    )
    text = revealed.get_data(as_text=True)
    assert ESCAPED in text and not any(raw in text for raw in RAW)


def csrf_of(client: FlaskClient, path: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).get_data(True))
    assert found is not None, path
    return found.group(1)


@pytest.fixture
def hostile_pack(after_sales: PackSource) -> PackSource:
    """The default pack with script in its labels, titles and a message template."""
    files = dict(after_sales.files)
    files["feedback.yaml"] = (
        files["feedback.yaml"]
        .replace("title: 售后反馈", f"title: '{XSS}'")
        .replace("title: 处理中", f"title: '{XSS}'")
        .replace("label: 问题描述", f"label: '{XSS}'")
    )
    files["pack.yaml"] = (
        files["pack.yaml"]
        .replace("title: 家电售后反馈与客户关怀", "title: '=HYPERLINK(\"http://evil\")'")
        .replace("phone: {title: 电话}", "phone: {title: '@SUM(1+1)'}")
        .replace("产品：{{ record.product or '未填写' }}；", XSS + "{{ record.product }}；")
    )
    return source_of(load_pack_from_files("after_sales", files, "workflows/after_sales"))


def test_xss_in_pack_labels_titles_and_templates_is_escaped(
    tmp_path: Path, hostile_pack: PackSource
) -> None:
    app = web_app(tmp_path, pack=hostile_pack)
    add_staff(app)
    record_id = new_record(app)
    services(app).transition(
        record_id, "accept", {"category": "quality", "priority": "P1"}, actor="t"
    )
    from datetime import timedelta

    from engine.time.clock import VirtualClock

    services(app).clock = VirtualClock(services(app).clock.now() + timedelta(days=5))
    services(app).sweep()  # the breach: the template with script is rendered into the outbox
    client = signed_in(app, "operations")
    shown = 0
    for path in (
        f"/records/{record_id}",
        "/queue",
        "/dashboard",
        "/dashboard/review",
        "/admin/packs/after_sales",
        "/admin/outboxmessage/",
        "/admin/outboxmessage/details/?id=1",
    ):
        body = client.get(path).get_data(as_text=True)
        assert not any(raw in body for raw in RAW), path
        shown += ESCAPED in body
    assert shown >= 4


def test_spreadsheet_exports_defuse_formulas(tmp_path: Path, hostile_pack: PackSource) -> None:
    app = web_app(tmp_path, pack=hostile_pack)
    add_staff(app)
    new_record(app)
    client = signed_in(app, "supervisor")
    csv_text = client.get("/dashboard/export.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in csv_text and "'@SUM(1+1)" in csv_text
    assert not re.search(r'(^|,)"?=HYPERLINK', csv_text, re.M)
    xlsx = client.get("/dashboard/export.xlsx").data
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "&apos;=HYPERLINK" in sheet or "'=HYPERLINK" in sheet
    assert ">=HYPERLINK" not in sheet and ">@SUM" not in sheet


def test_an_uploaded_file_name_with_script_is_escaped(app: Flask) -> None:
    client = signed_in(app, "operations")
    token = csrf_of(client, "/admin/imports/")
    csv_body = "number,name,contact\nC-9,张三,13800000000\n".encode()
    response = client.post(
        "/admin/imports/",
        data={"csrf_token": token, "file": (io.BytesIO(csv_body), f"{XSS}.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    audit_log = client.get("/admin/auditentry/").get_data(as_text=True)
    assert ESCAPED in audit_log  # the name is shown, as text
    for body in (response.get_data(as_text=True), audit_log):
        assert not any(raw in body for raw in RAW)
