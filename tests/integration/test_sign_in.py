"""Sign-in: guessing throttled in the database, a fresh session on sign-in, sign-out everywhere,
API tokens stored only as hashes (ASVS 6.3.1, 7.2.4, 7.4.3, 6.4 / 9.x for tokens)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.access import tokens
from engine.access.signin import MAX_FAILURES
from engine.store.models import ApiToken
from engine.time.clock import VirtualClock
from ops.settings import Settings
from tests.conftest import SHANGHAI, web_app
from tests.integration.test_permissions import PASSWORD, add_staff
from wsgi import create_app, services


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    app = web_app(tmp_path, WTF_CSRF_ENABLED=False)
    services(app).clock = VirtualClock(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    add_staff(app)
    return app


def attempt(client: FlaskClient, password: str, address: str = "10.0.0.1") -> int:
    response = client.post(
        "/login",
        data={"username": "agent", "password": password},
        environ_base={"REMOTE_ADDR": address},
    )
    return response.status_code


def test_after_too_many_failures_even_the_right_password_waits(app: Flask) -> None:
    client = app.test_client()
    for _ in range(MAX_FAILURES):
        assert attempt(client, "wrong password") == 400
    response = client.post(
        "/login",
        data={"username": "agent", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    assert attempt(client, PASSWORD, address="10.0.0.2") == 302  # another place is not locked
    services(app).clock.advance(timedelta(minutes=16))  # type: ignore[attr-defined]
    assert attempt(client, PASSWORD) == 302  # the lock lifts by itself


def test_the_count_is_shared_by_every_process(app: Flask) -> None:
    """A second app on the same database (another worker) sees the same failures."""
    for _ in range(MAX_FAILURES):
        attempt(app.test_client(), "wrong password")
    other = create_app(
        {"DATABASE_URL": app.config["DATABASE_URL"], "TESTING": True, "SECRET_KEY": "test"}
    )
    other.extensions["careloop"].clock = services(app).clock
    other.config["WTF_CSRF_ENABLED"] = False
    assert attempt(other.test_client(), PASSWORD) == 429


def test_a_success_clears_the_count(app: Flask) -> None:
    client = app.test_client()
    for _ in range(MAX_FAILURES - 1):
        attempt(client, "wrong password")
    assert attempt(client, PASSWORD) == 302
    for _ in range(MAX_FAILURES - 1):
        attempt(client, "wrong password")
    assert attempt(client, PASSWORD) == 302


def test_signing_in_starts_a_fresh_session(app: Flask) -> None:
    client = app.test_client()
    with client.session_transaction() as planted:
        planted["planted"] = "by an attacker"
        planted["csrf_token"] = "known to an attacker"
    assert attempt(client, PASSWORD) == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != "known to an attacker"
        assert session["_user_id"].endswith(".0")


def test_sign_out_everywhere_ends_every_session_of_the_user(app: Flask) -> None:
    phone, desk, other_user = app.test_client(), app.test_client(), app.test_client()
    for client in (phone, desk):
        assert attempt(client, PASSWORD) == 302
    other_user.post("/login", data={"username": "supervisor", "password": PASSWORD})
    assert desk.get("/queue").status_code == 200
    assert phone.post("/logout/everywhere").status_code == 302
    for client in (phone, desk):
        response = client.get("/queue")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert other_user.get("/queue").status_code == 200  # only that user's sessions end
    assert attempt(desk, PASSWORD) == 302  # signing in again works
    assert desk.get("/queue").status_code == 200


def test_api_tokens_are_stored_only_as_a_hash(app: Flask) -> None:
    service = services(app)
    with service.uow() as uow:
        _, plain = tokens.issue(uow.session, "shop", ["read"], service.clock.now())
        uow.commit()
    with service.session_factory() as session:
        row = session.execute(select(ApiToken.__table__)).one()
    assert plain not in repr(tuple(row))  # in no column
    assert row.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert row.prefix == plain[:10]  # enough to recognise it in a list, not to use it


def test_session_cookies_are_secure_unless_the_settings_say_insecure(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cookies.db"
    secure = create_app(settings=Settings.for_tests(database_url=url, insecure_cookies=False))
    assert secure.config["SESSION_COOKIE_SECURE"] and secure.config["REMEMBER_COOKIE_SECURE"]
    plain = create_app(settings=Settings.for_tests(database_url=url, insecure_cookies=True))
    assert not plain.config["SESSION_COOKIE_SECURE"]
    assert not plain.config["REMEMBER_COOKIE_SECURE"]


def test_passwords_are_stored_with_scrypt_outside_the_test_suite() -> None:
    """The suite hashes cheaply (tests/conftest.py); a real process keeps Werkzeug's scrypt."""
    code = "from signin.auth import hash_password; print(hash_password('x'))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.startswith("scrypt:"), run.stdout
