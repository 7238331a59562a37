"""The supervisors' dashboard, the printable review and its export (R-4.2 – R-4.4), the staff
warning form (R-6.1) and improvement actions from the page (R-7)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboard.export import safe, to_xlsx
from engine.access import users
from engine.customers.satisfaction import Answer
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.store.models import EarlyWarning, ImprovementAction
from signin.auth import hash_password
from tests.conftest import web_app
from wsgi import services

PASSWORD = "dashboard password 1"


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    app = web_app(tmp_path, pack=after_sales)
    service = services(app)
    with service.uow() as uow:
        for name, role in (("zhang", "supervisor"), ("liu", "agent")):
            users.add_user(uow.session, name, role, PASSWORD, hash_password, service.clock.now())
        uow.commit()
    for category, description in (
        ("quality", "=HYPERLINK(1)"),
        ("quality", "x"),
        ("logistics", "y"),
    ):
        service.create_record(
            "after_sales",
            NewRecord(
                record_type="feedback",
                channel="phone",
                category=category,
                fields={"customer_no": "C-1", "contact": "13812345678", "description": description},
            ),
            actor="t",
        )
    return app


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    data = {"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    assert client.post("/login", data=data).status_code == 302
    return client


def csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_the_dashboard_shows_figures_charts_and_top_problems(app: Flask) -> None:
    page = signed_in(app, "zhang").get("/dashboard?period=7d")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    # four KPI charts, two self-service ones (issue #23), two churn ones (issue #25)
    assert body.count("<svg") == 8
    assert 'id="kpi-volume"' in body and "<strong>3</strong>" in body
    assert "产品质量" in body and "67% · 2" in body  # the top problem with its share
    assert "客户满意度 CSAT" in body  # a declared target


def test_the_dashboard_shows_the_nps_the_default_pack_asks(app: Flask) -> None:
    """after_sales asks the 0–10 recommend question (R-4.1): two promoters (10, 9) and one
    detractor (6) of three answers are an NPS of 33.3 on the dashboard."""
    service = services(app)
    for nps in (10, 9, 6):
        record = service.create_record(
            "after_sales",
            NewRecord(
                record_type="feedback",
                channel="phone",
                fields={"customer_no": "C-2", "contact": "13812345678", "description": "z"},
            ),
            actor="t",
        )
        service.transition(record.id, "solve_on_spot", {"solution": "重启"}, actor="t")
        service.answer_satisfaction(record.id, Answer(5, nps=nps), via="link", actor="customer")
    body = signed_in(app, "zhang").get("/dashboard?period=7d").get_data(as_text=True)
    shown = re.search(r'id="kpi-nps">.*?<strong>([^<]+)</strong>', body, re.S)
    assert shown is not None and shown.group(1) == "33.3"


@pytest.mark.parametrize(
    "query",
    [
        "period=1y",
        "from=2026-13-01",
        "from=2026-12-01&to=2026-11-01",
        "channel=fax",
        "team=x",
        "pack=x",
    ],
)
def test_bad_filters_are_a_400_that_says_what(app: Flask, query: str) -> None:
    assert signed_in(app, "zhang").get(f"/dashboard?{query}").status_code == 400


def test_the_dashboard_is_for_supervisors_not_agents(app: Flask) -> None:
    assert signed_in(app, "liu").get("/dashboard").status_code == 403


def test_the_review_prints_and_exports_with_cells_defused(app: Flask) -> None:
    client = signed_in(app, "zhang")
    review = client.get("/dashboard/review?period=30d")
    assert review.status_code == 200 and "高频问题" in review.get_data(as_text=True)
    exported = client.get("/dashboard/export.csv?period=30d")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(exported.get_data().decode("utf-8-sig"))))
    assert ["反馈量", "3.0"] in rows and ["产品质量", "2", "0.6667"] in rows
    xlsx = client.get("/dashboard/export.xlsx?period=30d")
    with zipfile.ZipFile(io.BytesIO(xlsx.get_data())) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "产品质量" in sheet and "<v>3</v>" in sheet
    assert client.get("/dashboard/export.pdf").status_code == 404


def test_text_cells_that_start_a_formula_are_defused() -> None:
    assert [safe(c) for c in ("=1+1", "+a", "-a", "@a", "a=b", -20, None)] == [
        "'=1+1", "'+a", "'-a", "'@a", "a=b", -20, None,
    ]  # fmt: skip
    with zipfile.ZipFile(io.BytesIO(to_xlsx([["=cmd|' /C calc'!A0"]]))) as z:
        assert '<t xml:space="preserve">\'=cmd' in z.read("xl/worksheets/sheet1.xml").decode()


def test_staff_report_a_warning_by_the_form(app: Flask) -> None:
    client = signed_in(app, "liu")
    token = csrf(client, "/warnings")
    data = {"csrf_token": token, "pack": "after_sales", "title": "门店反映", "level": "important",
            "description": "三位客户说冰箱有异味"}  # fmt: skip
    assert client.post("/warnings", data=data).status_code == 302
    assert client.post("/warnings", data={**data, "level": "red"}).status_code == 400
    page = client.get("/warnings").get_data(as_text=True)
    assert "门店反映" in page
    with services(app).uow() as uow:
        [warning] = uow.session.query(EarlyWarning).all()
        assert (warning.source, warning.level, warning.raised_by) == ("staff", "important", "liu")


def test_a_supervisor_creates_an_action_and_sees_its_value_before(app: Flask) -> None:
    client = signed_in(app, "zhang")
    token = csrf(client, "/dashboard")
    data = {"csrf_token": token, "pack": "after_sales", "title": "更换承运商", "owner": "supply",
            "deadline": "2099-01-01T18:00", "metric": "volume", "category": "logistics",
            "window_days": "7"}  # fmt: skip
    assert client.post("/improvements", data=data).status_code == 302
    with services(app).uow() as uow:
        [action] = uow.session.query(ImprovementAction).all()
        assert (action.metric, action.category, action.value_after) == ("volume", "logistics", None)
    assert "更换承运商" in client.get("/dashboard").get_data(as_text=True)
    refused = client.post("/improvements", data={**data, "deadline": "2000-01-01T00:00"})
    assert refused.status_code == 302
    with services(app).uow() as uow:
        assert uow.session.query(ImprovementAction).count() == 1
