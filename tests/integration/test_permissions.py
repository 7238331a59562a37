"""One permission table, checked against every route and method of the web, admin and API.

ASVS 8.2.1–8.2.3, 8.3.1: access is decided on the server, for each function and each record.
The test walks `app.url_map` (every rule, every method it accepts) as each role, as an anonymous
visitor and with API tokens of each scope. A route not in the table fails the test, so a new
view cannot ship without saying who may use it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.access import tokens, users
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from signin.auth import hash_password
from tests.conftest import web_app
from wsgi import services

PASSWORD = "role password 1"
ROLES = ("agent", "supervisor", "operations")
PRINCIPALS = ("anonymous", *ROLES, "token:read", "token:write")
EVERYONE = PRINCIPALS
STAFF = ROLES
READERS = ("supervisor", "operations")
OPERATIONS = ("operations",)
READ_TOKEN = ("token:read",)
WRITE_TOKEN = ("token:write",)
WRITE = ("POST", "PUT", "PATCH", "DELETE")

# (methods, path pattern, principals allowed): the first row matching method and path decides.
PERMISSIONS: list[tuple[tuple[str, ...], str, tuple[str, ...]]] = [
    (("GET",), r"^/$", EVERYONE),
    (("GET", "POST"), r"^/login$", EVERYONE),
    (("POST",), r"^/logout$", STAFF),
    (("POST",), r"^/logout/everywhere$", STAFF),
    (("GET", "POST"), r"^/survey/[^/]+$", EVERYONE),  # the signed link is the permission
    # The chat box (issue #23): anyone may ask, vote and be handed over; CSRF like every form.
    (("GET",), r"^/help/[^/]+/chat$", EVERYONE),
    (("POST",), r"^/help/[^/]+/chat/(ask|vote|handover)$", EVERYONE),
    # The customer portal (issue #23): public help pages and web form; on the tracking page
    # the signed link is the permission (test_portal checks it opens its own record only).
    (("GET",), r"^/help/[^/]+/(a/\d+(-[^/]*)?|suggest|track/[^/]+(/files/\d+)?)?$", EVERYONE),
    (
        ("POST",),
        r"^/help/[^/]+/(a/\d+/vote|new/answered/\d+|track/[^/]+/(reply|confirm))$",
        EVERYONE,
    ),
    (("GET", "POST"), r"^/help/[^/]+/(new|track)$", EVERYONE),
    (("GET",), r"^/help-static/", EVERYONE),
    (("GET",), r"^/status(/scheduler)?$", EVERYONE),  # the packs' status page, counts
    (("GET",), r"^/(healthz|readyz)$", EVERYONE),
    # Counts only, to a client on this machine or one with the scrape token, signed in or not
    # (tests/ops/test_metrics.py checks who else is refused).
    (("GET",), r"^/metrics$", EVERYONE),
    (("GET",), r"^/(static|desk-static|admin/static|admin-assets)/", EVERYONE),
    (("GET",), r"^/api/v1/(openapi\.json|docs|swagger-ui/.*)$", EVERYONE),
    (("GET",), r"^/(queue|records/\d+|customers/[^/]+)$", STAFF),
    (("GET", "POST"), r"^/records/new$", ("agent", "supervisor")),  # a call typed in (#21)
    (("GET",), r"^/records/\d+/attachments/\d+$", STAFF),  # the record page's own check
    # A record's own files (issue #21): the record page's own check, 404 for another team.
    (("GET",), r"^/records/\d+/files/\d+(/preview)?$", STAFF),
    (("POST",), r"^/records/\d+/files$", STAFF),
    (("POST",), r"^/records/\d+/messages/\d+/resend$", STAFF),
    (("GET",), r"^/records/\d+/canned$", STAFF),  # the reply box's canned texts (issue #21)
    (("POST",), r"^/records/\d+/reveal$", READERS),
    (
        ("POST",),
        r"^/records/\d+/(transitions/[^/]+|known-problem|satisfaction|reply|note|deadline|merge|presence)$",
        STAFF,
    ),
    (("POST",), r"^/records/\d+/messages/\d+/resend$", STAFF),  # the record page's own check
    # The record page's corrections (issue #21): who may do which is the page's own check
    # (engine.records.editing.allowed, test_record_edit); the notices are one's own.
    (("POST",), r"^/records/\d+/(fields|assignee|priority|tags|followers)$", STAFF),
    (("GET",), r"^/me/notices$", STAFF),
    (("POST",), r"^/(queue/take|me/language)$", STAFF),
    # One's own canned responses (issue #21); another's is a 404 (test_canned_responses).
    (("GET", "POST"), r"^/me/canned(/\d+)?$", STAFF),
    (("POST",), r"^/me/canned/\d+/delete$", STAFF),
    (("GET",), r"^/queue/export\.(csv|xlsx)$", STAFF),  # the list its user sees, masked
    (("POST",), r"^/queue/views(/\d+/delete)?$", STAFF),  # one's own views only
    (("POST",), r"^/queue/bulk$", READERS),
    (("GET", "POST"), r"^/warnings$", STAFF),
    (("GET",), r"^/dashboard/reviews(/\d+)?$", READERS),  # the mailed reviews (issue #25)
    (("GET",), r"^/dashboard(/|$)", READERS),
    (("POST",), r"^/improvements$", READERS),
    (("GET",), r"^/kb/(articles/\d+)?$", STAFF),
    (("GET",), r"^/admin/$", READERS),
    (("GET", "POST"), r"^/admin/(record|auditentry|packversion|customer)/", READERS),
    (("GET",), r"^/admin/customer_care/", READERS),  # one customer's care page (issue #6)
    (("GET", "POST"), r"^/admin/supervise/", READERS),
    (("GET", "POST"), r"^/admin/(article|articleversion|knownproblem)/", READERS),
    (("GET",), r"^/admin/imports/job/", OPERATIONS),  # a background import's page (issue #22)
    (("GET", "POST"), r"^/admin/", OPERATIONS),
    # A file is personal data: `read` alone gets 403 (test_thread_attachments opens one).
    (("GET",), r"^/api/v1/records/\d+/messages/\d+/attachments/\d+$", ()),
    (("GET",), r"^/api/v1/records/\d+/attachments/\d+$", ()),  # a record's own file, too
    # A gateway signs its body (api/channels.py); no token nor session opens these.
    (("POST",), r"^/api/v1/channels/[^/]+/(messages|receipts)$", ()),
    (("GET",), r"^/api/v1/", READ_TOKEN),  # scopes do not nest: write does not read
    (WRITE, r"^/api/v1/", WRITE_TOKEN),
]
# Path parameters filled in so that each route names something that exists.
VALUES = {
    "int": "1",
    "number": "C-1",
    "pack": "after_sales",
    "transition_id": "accept",
    "export_type": "csv",
    "fmt": "csv",
    "filename": "x.css",
}


def allowed(method: str, path: str) -> tuple[str, ...]:
    for methods, pattern, principals in PERMISSIONS:
        if method in methods and re.search(pattern, path):
            return principals
    raise AssertionError(f"{method} {path} is not in the permission table")


def add_staff(app: Flask) -> None:
    service = services(app)
    with service.uow() as uow:
        for role in ROLES:
            users.add_user(
                uow.session, role, role, PASSWORD, hash_password, service.clock.now(), team="rnd"
            )
        uow.commit()


def issue_token(app: Flask, *scopes: str) -> str:
    service = services(app)
    with service.uow() as uow:
        _, plain = tokens.issue(uow.session, "-".join(scopes), scopes, service.clock.now())
        uow.commit()
    return plain


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    # CSRF is tested on its own (test_browser_safety); here it would hide the access decision.
    app = web_app(tmp_path, pack=after_sales, WTF_CSRF_ENABLED=False)
    add_staff(app)
    services(app).create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            fields={"customer_no": "C-1", "contact": "13812345678", "description": "x"},
        ),
        actor="t",
    )
    return app


def client_for(app: Flask, principal: str) -> FlaskClient:
    client = app.test_client()
    if principal.startswith("token:"):
        plain = issue_token(app, principal.removeprefix("token:"))
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {plain}"
    elif principal != "anonymous":
        response = client.post("/login", data={"username": principal, "password": PASSWORD})
        assert response.status_code == 302, principal
    return client


def routes(app: Flask) -> list[tuple[str, str]]:
    """Every (method, concrete path) the app answers; signing out comes last."""
    found = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<int[^>]*>", VALUES["int"], rule.rule)
        path = re.sub(
            r"<(?:\w+:)?(\w+)>", lambda m: VALUES.get(m.group(1), "csv"), path
        )  # <string:number>, <pack>, <path:filename> …
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.add((method, path))
    return sorted(found, key=lambda route: (route[1].startswith("/logout"), route))


def turned_away(response: TestResponse) -> bool:
    """Refused for want of a sign-in, a token, a role or a scope."""
    location = response.headers.get("Location", "")
    return response.status_code in (401, 403) or (
        response.status_code == 302 and "/login?next=" in location
    )


def is_refused(principal: str, path: str, response: TestResponse) -> bool:
    """Refused as the principal should be: 401/403 by the API, sign-in or 403/404 on the web."""
    status = response.status_code
    location = response.headers.get("Location", "")
    if path.startswith("/api/v1/channels/"):  # 404 while no gateway is set up, else 401
        return status in (401, 404)
    if path.startswith("/api/v1/"):
        return status in (401, 403)
    if principal == "anonymous" or principal.startswith("token:"):
        return status == 302 and "/login" in location
    # refused, or (Flask-Admin, for a read-only view's edit page) sent elsewhere
    return status in (403, 404) or (status == 302 and path not in location)


def test_every_route_answers_each_principal_as_the_table_says(app: Flask) -> None:
    found = routes(app)
    assert len(found) > 150
    for method, path in found:
        allowed(method, path)  # every route is declared, whoever asks
    for principal in PRINCIPALS:
        client = client_for(app, principal)
        for method, path in found:
            if principal.startswith("token:") and not path.startswith("/api/"):
                continue  # a bearer token is not a web session: checked below
            if path.startswith("/logout"):  # each sign-out on a session of its own
                client = client_for(app, principal)
            kwargs: dict[str, Any] = (
                {"json": {}} if path.startswith("/api/") and method in WRITE else {}
            )
            response = client.open(path, method=method, **kwargs)
            assert response.status_code < 500, (principal, method, path)
            if principal in allowed(method, path):
                assert not turned_away(response), (principal, method, path, response.status_code)
            else:
                assert is_refused(principal, path, response), (
                    principal,
                    method,
                    path,
                    response.status_code,
                )


def test_a_bearer_token_opens_no_web_page(app: Flask) -> None:
    client = client_for(app, "token:write")
    for path in ("/queue", "/records/1", "/admin/", "/admin/customer/", "/dashboard"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_a_web_session_opens_no_api_resource(app: Flask) -> None:
    """The API takes bearer tokens only: a signed-in cookie is not enough (no CSRF there)."""
    client = client_for(app, "operations")
    assert client.get("/api/v1/records/1").status_code == 401
    assert client.post("/api/v1/records", json={}).status_code == 401


def test_another_teams_record_is_hidden_from_an_agent_on_every_channel(app: Flask) -> None:
    """IDOR (ASVS 8.2.2): the desk, the satisfaction form and the admin all answer alike."""
    service = services(app)
    service.transition(1, "accept", {"category": "service", "priority": "P2"}, actor="t")
    # routed to training; the agent works in R&D
    agent = client_for(app, "agent")
    assert agent.get("/records/1").status_code == 404
    assert agent.get("/records/999").status_code == 404  # same answer: no hint it exists
    assert agent.post("/records/1/known-problem", data={"problem_id": "1"}).status_code == 404
    assert agent.post("/records/1/satisfaction", data={}).status_code == 404
    assert agent.post("/records/1/transitions/resolve", data={}).status_code == 404
    assert agent.post("/records/1/note", data={"text": "x"}).status_code == 404
    assert agent.post("/records/1/reply", data={"text": "x", "channel": "phone"}).status_code == 404
    assert agent.get("/admin/record/details/?id=1").status_code == 403
    assert agent.get("/admin/supervise/1").status_code == 403
    assert agent.get("/api/v1/records/1").status_code == 401  # a session is no API credential
    assert client_for(app, "supervisor").get("/records/1").status_code == 200
    reader = client_for(app, "token:read")
    assert reader.get("/api/v1/records/999").status_code == 404
    assert reader.post("/api/v1/records/1/notes", json={"text": "x"}).status_code == 403
