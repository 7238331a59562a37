"""Issue #25 item 6: the pack page warns above its tabs when a calendar's holiday data runs out
within 60 days, and loads an uploaded year's schedule (text or .ics) into the draft, whose
preview shows the added dates (R-2.8); /status lists the same warning. Dates are made up.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.access import users
from engine.records import drafts
from engine.records.versions import PackSource
from engine.time.clock import VirtualClock
from signin.auth import hash_password
from tests.conftest import web_app
from wsgi import services

PASSWORD = "admin password 1"
PAGE = "/admin/packs/after_sales"
LOAD = f"{PAGE}/calendar/cn_workdays/load"
ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//example//made up//EN
BEGIN:VEVENT
UID:a@example
DTSTART;VALUE=DATE:20270101
SUMMARY:\xe5\x85\x83\xe6\x97\xa6 \xe4\xbc\x91
END:VEVENT
BEGIN:VEVENT
UID:b@example
DTSTART;VALUE=DATE:20270213
SUMMARY:\xe4\xb8\x8a\xe7\x8f\xad
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    app = web_app(tmp_path, pack=after_sales, WTF_CSRF_ENABLED=False)
    service = services(app)
    service.clock = VirtualClock(datetime(2026, 11, 15, 12, tzinfo=UTC))
    with service.uow() as uow:
        users.add_user(
            uow.session, "ops", "operations", PASSWORD, hash_password, service.clock.now()
        )
        uow.commit()
    return app


@pytest.fixture
def ops(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.post("/login", data={"username": "ops", "password": PASSWORD})
    return client


def draft_file(app: Flask) -> str | None:
    with services(app).session_factory() as session:
        draft = drafts.get_draft(session, "after_sales")
        return None if draft is None else draft.files["pack.yaml"]


def test_the_page_warns_above_its_tabs_in_november_not_in_june(
    app: Flask, ops: FlaskClient
) -> None:
    page = ops.get(PAGE).get_data(as_text=True)
    assert page.index('id="calendar-warnings"') < page.index('id="pack-tabs"')
    assert "calendar &#39;cn_workdays&#39; reaches 2027 within 60 days" in page
    assert "workflows/after_sales/pack.yaml:" in page and "covered_until: 2027" in page
    assert f'action="{LOAD}"' in page
    services(app).clock = VirtualClock(datetime(2026, 6, 1, tzinfo=UTC))
    assert 'id="calendar-warnings"' not in ops.get(PAGE).get_data(as_text=True)


def test_an_uploaded_ics_lands_in_the_draft_and_its_preview_shows_the_dates(
    app: Flask, ops: FlaskClient
) -> None:
    response = ops.post(
        LOAD, data={"schedule": (io.BytesIO(ICS), "2027.ics")}, content_type="multipart/form-data"
    )
    assert response.status_code == 302 and response.location.endswith(PAGE)
    text = draft_file(app)
    assert text is not None and "    covered_until: 2027\n" in text
    assert "    closed:\n      - 2027-01-01\n" in text
    page = ops.get(PAGE).get_data(as_text=True)
    assert "+      - 2027-02-13" in page and "+    covered_until: 2027" in page  # the preview
    assert 'id="calendar-warnings"' not in page  # the draft covers 2027 now
    assert 'id="publish"' in page


def test_a_bad_upload_says_which_line_and_changes_nothing(app: Flask, ops: FlaskClient) -> None:
    bad = "2027-01-01 休\n2027-01-02 maybe\n".encode()
    response = ops.post(
        LOAD,
        data={"schedule": (io.BytesIO(bad), "2027.txt")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "第 2 行" in page and "2027-01-02 maybe" in page
    assert draft_file(app) is None
    missing = ops.post(LOAD, data={}, content_type="multipart/form-data", follow_redirects=True)
    assert "请选择一个官方安排文件" in missing.get_data(as_text=True)
    unknown = ops.post(
        f"{PAGE}/calendar/nope/load",
        data={"schedule": (io.BytesIO(ICS), "2027.ics")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "no calendar &#39;nope&#39;" in unknown.get_data(as_text=True)
    assert draft_file(app) is None


def test_the_status_page_lists_the_warning(app: Flask) -> None:
    page = app.test_client().get("/status").get_data(as_text=True)
    assert "cn_workdays" in page and "reaches 2027 within 60 days" in page
    services(app).clock = VirtualClock(datetime(2026, 6, 1, tzinfo=UTC))
    assert "cn_workdays" not in app.test_client().get("/status").get_data(as_text=True)


def test_the_scheduler_status_for_monitors_carries_the_warning(app: Flask) -> None:
    """/status/scheduler, which monitors poll, says what `scheduler --status --json` says."""
    report = app.test_client().get("/status/scheduler").get_json()
    assert [w["calendar"] for w in report["calendar_warnings"]] == ["cn_workdays"]
    services(app).clock = VirtualClock(datetime(2026, 6, 1, tzinfo=UTC))
    assert app.test_client().get("/status/scheduler").get_json()["calendar_warnings"] == []
