"""What a new user met on every face (issue #22, "Why"): a database that is away is a 503 that
says when to retry, never a 500; English pages that format a translated string; the API's
documentation page; `careloop scheduler --status` on a database nobody migrated (R-1.6,
R-4.2, docs/deploy.md)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner
from flask import Flask

from cli import careloop
from engine.access import users
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from signin.auth import hash_password
from tests.conftest import web_app
from wsgi import create_app, services

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "faces password 22"
# A PostgreSQL that does not answer: port 1 on this machine refuses every connection.
AWAY = "postgresql+psycopg://postgres@127.0.0.1:1/careloop?connect_timeout=2"


@pytest.fixture
def away() -> Flask:
    return create_app(
        {"DATABASE_URL": AWAY, "TESTING": True, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False}
    )


def test_the_api_answers_503_with_retry_after_while_the_database_is_away(away: Flask) -> None:
    answer = away.test_client().get(
        "/api/v1/records", headers={"Authorization": "Bearer cl_x_nothing"}
    )
    assert answer.status_code == 503
    assert answer.headers["Retry-After"].isdigit()
    assert answer.mimetype == "application/problem+json"
    assert "retry" in answer.get_json()["detail"]


@pytest.mark.parametrize(("language", "words"), [("en", "try again"), ("zh", "请稍后重试")])
def test_pages_answer_503_in_the_users_language(away: Flask, language: str, words: str) -> None:
    answer = away.test_client().post(
        "/login",
        data={"username": "zhao", "password": "x"},
        headers={"Accept-Language": language},
    )
    assert answer.status_code == 503 and answer.headers["Retry-After"].isdigit()
    assert words in answer.get_data(as_text=True)


def test_every_translated_string_survives_jinja_formatting() -> None:
    """Jinja's new-style gettext applies `%` to every translation, variables or not: a stray
    `%` (`CSAT (%)`) made the dashboard a 500 for English users."""
    po = ROOT / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        catalog = [m for m in read_po(handle) if m.id and m.string]
    assert catalog
    for message in catalog:
        for text in (message.id, message.string):
            assert isinstance(text, str)
            text % defaultdict(int)  # raises ValueError on a stray %


@pytest.fixture
def english(tmp_path: Path, after_sales: PackSource) -> Flask:
    app = web_app(tmp_path, pack=after_sales, WTF_CSRF_ENABLED=False)
    service = services(app)
    with service.uow() as uow:
        users.add_user(
            uow.session,
            "amy",
            "supervisor",
            PASSWORD,
            hash_password,
            service.clock.now(),
            locale="en",
        )
        uow.commit()
    fields = {"customer_no": "C-1", "contact": "13812345678", "description": "E3"}
    new = NewRecord(record_type="feedback", channel="phone", category="quality", fields=fields)
    service.create_record("after_sales", new, actor="t")
    return app


@pytest.mark.parametrize("page", ["/dashboard?period=30d", "/dashboard/review?period=30d"])
def test_the_dashboard_and_the_review_render_for_english_users(english: Flask, page: str) -> None:
    client = english.test_client()
    assert client.post("/login", data={"username": "amy", "password": PASSWORD}).status_code == 302
    answer = client.get(page)
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert 'lang="en"' in text and "(percent)" in text


def test_the_docs_page_runs_a_swagger_ui_that_reads_openapi_3_1(english: Flask) -> None:
    client = english.test_client()
    assert client.get("/api/v1/openapi.json").get_json()["openapi"].startswith("3.1")
    assert client.get("/api/v1/docs").status_code == 200
    bundle = client.get("/api/v1/swagger-ui/swagger-ui-bundle.js")
    major = re.search(rb'version:"(\d+)\.\d+\.\d+"', bundle.get_data())
    bundle.close()
    assert major is not None and int(major.group(1)) >= 5  # 4.x cannot render OpenAPI 3.1


def test_scheduler_status_on_an_unmigrated_database_says_to_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARELOOP_DATABASE_URL", f"sqlite:///{tmp_path}/new.db")
    result = CliRunner().invoke(careloop, ["scheduler", "--status"])
    assert result.exit_code != 0
    assert "careloop db upgrade" in result.output
    assert "Traceback" not in result.output and "no such table" not in result.output


def test_a_signed_in_user_gets_the_503_page_too(english: Flask, tmp_path: Path) -> None:
    """The layout names the user, whom loading needs the database: the page still renders."""
    client = english.test_client()
    assert client.post("/login", data={"username": "amy", "password": PASSWORD}).status_code == 302
    services(english).session_factory.kw["bind"].dispose()
    (tmp_path / "web.db").unlink()  # the database is gone: every table is missing
    answer = client.get("/queue")
    assert answer.status_code == 503 and answer.headers["Retry-After"].isdigit()
    assert "请稍后重试" in answer.get_data(as_text=True) or "try again" in answer.get_data(
        as_text=True
    )
