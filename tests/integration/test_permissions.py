"""One permission table, checked against every GET page of the web and admin for each role.

A page not in the table fails the test, so a new view cannot ship without saying who may see it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import users
from engine.records import NewRecord
from engine.versions import PackSource
from forms.auth import hash_password
from tests.conftest import web_app
from wsgi import services

PASSWORD = "role password 1"
EVERYONE = ("anonymous", "agent", "supervisor", "operations")
STAFF = ("agent", "supervisor", "operations")
READERS = ("supervisor", "operations")
OPERATIONS = ("operations",)

# (path pattern, roles that may GET it): the first matching pattern decides.
PERMISSIONS: list[tuple[str, tuple[str, ...]]] = [
    (r"^/$", EVERYONE),
    (r"^/login$", EVERYONE),
    (r"^/survey/[^/]+$", EVERYONE),
    (r"^/status/scheduler$", EVERYONE),
    (r"^/(healthz|readyz)$", EVERYONE),
    # Counts only, to a client on this machine or one with the scrape token, signed in or not
    # (tests/ops/test_metrics.py checks who else is refused).
    (r"^/metrics$", EVERYONE),
    (r"^/api/v1/(openapi\.json|docs)$", EVERYONE),
    (r"^/(queue|records/\d+|customers/[^/]+)$", STAFF),
    (r"^/warnings$", STAFF),
    (r"^/dashboard(/|$)", READERS),
    (r"^/kb/(articles/\d+)?$", STAFF),
    (r"^/admin/$", READERS),
    (r"^/admin/(record|auditentry|packversion)/(details/)?$", READERS),
    (r"^/admin/customer/(details/)?$", READERS),
    (r"^/admin/supervise/", READERS),
    (r"^/admin/(article|articleversion|knownproblem)/", READERS),
    (r"^/admin/", OPERATIONS),
]
SKIP = re.compile(r"^/(static|desk-static|admin/static|admin-assets|api/v1/swagger-ui)/|^/api/v1/")


def allowed(path: str) -> tuple[str, ...]:
    for pattern, roles in PERMISSIONS:
        if re.search(pattern, path):
            return roles
    raise AssertionError(f"{path} is not in the permission table")


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    app = web_app(tmp_path, pack=after_sales)
    service = services(app)
    with service.uow() as uow:
        for role in STAFF:
            users.add_user(uow.session, role, role, PASSWORD, hash_password, service.clock.now())
        uow.commit()
    service.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            fields={"customer_no": "C-1", "contact": "13812345678", "description": "x"},
        ),
        actor="t",
    )
    return app


def client_for(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    if role != "anonymous":
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token is not None
        response = client.post(
            "/login", data={"username": role, "password": PASSWORD, "csrf_token": token.group(1)}
        )
        assert response.status_code == 302
    return client


def get_paths(app: Flask) -> list[str]:
    paths = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        path = re.sub(r"<int[^>]*>", "1", rule.rule)
        path = re.sub(r"<(string:)?number>", "C-1", path)
        path = re.sub(r"<pack>", "after_sales", path)
        path = re.sub(r"<[^>]+>", "csv", path)
        if not SKIP.search(path):
            paths.add(path)
    return sorted(paths)


def test_every_page_answers_each_role_as_the_table_says(app: Flask) -> None:
    paths = get_paths(app)
    assert len(paths) > 30
    for role in EVERYONE:
        client = client_for(app, role)
        for path in paths:
            response = client.get(path)
            status = response.status_code
            if role in allowed(path):
                assert status not in (401, 403) and not (
                    status == 302 and "/login" in response.headers.get("Location", "")
                ), (role, path, status)
            elif role == "anonymous":
                assert status == 302 and "/login" in response.headers["Location"], (path, status)
            else:  # refused, or (Flask-Admin, for a read-only view's edit page) sent away
                assert status in (403, 404) or (
                    status == 302 and path not in response.headers["Location"]
                ), (role, path, status)
