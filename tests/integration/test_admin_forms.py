"""The pack page's structured forms (R-8.1): each valid save lands in the draft's YAML in place,
comments kept; each invalid one shows its error next to the input and changes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.access import users
from engine.records import drafts
from engine.records.versions import PackSource
from signin.auth import hash_password
from tests.conftest import web_app
from wsgi import services

PASSWORD = "admin password 1"
PAGE = "/admin/packs/after_sales"


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    app = web_app(tmp_path, pack=after_sales, WTF_CSRF_ENABLED=False)
    service = services(app)
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


def draft_file(app: Flask, name: str) -> str | None:
    with services(app).session_factory() as session:
        draft = drafts.get_draft(session, "after_sales")
        return None if draft is None else draft.files[name]


def errors_next_to(page: str, name: str) -> list[str]:
    pattern = (
        r'<div class="invalid-feedback d-block field-error" '
        rf'data-field="{re.escape(name)}">([^<]*)</div>'
    )
    return re.findall(pattern, page)


def calendar_form(**changes: str) -> dict[str, str]:
    form = {
        "target": "cn_workdays",
        "hours:0:days": "mon-fri",
        "hours:0:ranges": "09:00-18:00",
        "hours:1:days": "",
        "hours:1:ranges": "",
        "closed": "",
        "working": "",
        "country": "CN",
    }
    return form | changes


def test_a_calendar_gets_closed_and_working_dates_saturday_hours_and_a_country(
    app: Flask, ops: FlaskClient, after_sales: PackSource
) -> None:
    saved = ops.post(
        f"{PAGE}/form/calendar",
        data=calendar_form(
            **{"hours:1:days": "sat", "hours:1:ranges": "10:00-16:00"},
            closed="2026-10-09\n2026-10-10",
            working="2026-09-27",
            country="HK",
        ),
    )
    assert saved.status_code == 302
    text = draft_file(app, "pack.yaml")
    assert text is not None
    assert (
        "    hours: {mon-fri: \"09:00-18:00\", sat: '10:00-16:00'}\n"
        "    holidays: {country: HK}\n"
        "    closed: [2026-10-09, 2026-10-10]\n"
        "    working: [2026-09-27]\n"
    ) in text
    assert "# R-2.8 Business calendars. P0 runs around the clock" in text  # comments kept
    untouched = after_sales.files["pack.yaml"].split("calendars:")[0]
    assert text.startswith(untouched)
    page = ops.get(PAGE).get_data(as_text=True)
    assert "+    closed: [2026-10-09, 2026-10-10]" in page and 'id="publish"' in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"closed": "2026-13-01"}, "closed", "不是日期：2026-13-01"),
        ({"country": "china"}, "country", "invalid country &#39;CHINA&#39;"),
        ({"hours:0:ranges": "9 to 5"}, "hours:0:ranges", "09:00-18:00"),
        ({"hours:0:ranges": ""}, "hours:0:ranges", "请填写时段"),
    ],
)
def test_an_invalid_calendar_value_is_shown_at_its_input_and_saves_nothing(
    app: Flask, ops: FlaskClient, changes: dict[str, str], field: str, message: str
) -> None:
    refused = ops.post(f"{PAGE}/form/calendar", data=calendar_form(**changes))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert any(message in error for error in errors_next_to(page, field)), errors_next_to(
        page, field
    )
    assert 'id="form-failed"' in page
    assert draft_file(app, "pack.yaml") is None


def routing_form(**changes: str) -> dict[str, str]:
    form = {
        "rule:0:order": "1",
        "rule:0:when": "record.category in ('quality', 'function')",
        "rule:0:department": "rnd",
        "rule:1:order": "2",
        "rule:1:when": "record.category == 'service'",
        "rule:1:department": "training",
        "rule:2:order": "3",
        "rule:2:when": "record.category == 'logistics'",
        "rule:2:department": "supply_chain",
        "rule:3:order": "4",
        "rule:3:when": "",
        "rule:3:department": "service_desk",
        "rule:new:order": "5",
        "rule:new:when": "",
        "rule:new:department": "",
    }
    return form | changes


def test_routing_rules_are_added_removed_and_reordered_in_place(
    app: Flask, ops: FlaskClient
) -> None:
    saved = ops.post(
        f"{PAGE}/form/routing",
        data=routing_form(
            **{
                "rule:1:remove": "1",
                "rule:2:order": "0",
                "rule:new:order": "1.5",
                "rule:new:when": "record.channel == 'email'",
                "rule:new:department": "service_desk",
            }
        ),
    )
    assert saved.status_code == 302
    text = draft_file(app, "pack.yaml")
    assert text is not None
    assert (
        "# logistics → supply chain. The first rule whose `when` holds wins.\ndepartments:" in text
    )
    assert (
        "routing:\n"
        "  - when: \"record.category == 'logistics'\"\n"
        "    department: supply_chain\n"
        "  - when: \"record.category in ('quality', 'function')\"\n"
        "    department: rnd\n"
        "  - when: record.channel == 'email'\n"
        "    department: service_desk\n"
        "  - department: service_desk\n\n"
        "# R-2.8 Business calendars."
    ) in text


def test_a_routing_rule_with_a_broken_condition_is_refused_at_its_input(
    app: Flask, ops: FlaskClient
) -> None:
    refused = ops.post(
        f"{PAGE}/form/routing",
        data=routing_form(**{"rule:new:when": "record.category ==", "rule:new:department": "rnd"}),
    )
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert errors_next_to(page, "rule:new:when"), page[:2000]
    assert 'value="record.category =="' in page  # what was typed stays to be fixed
    assert draft_file(app, "pack.yaml") is None


def accept_form(**changes: str) -> dict[str, str]:
    form = {
        "target": "feedback|accept",
        "f:0:order": "1",
        "f:0:field": "category",
        "f:0:required": "1",
        "f:1:order": "2",
        "f:1:field": "priority",
        "f:1:required": "1",
        "f:2:order": "3",
        "f:2:field": "resources",
        "f:new:order": "4",
        "f:new:field": "",
    }
    return form | changes


def test_a_transition_form_gets_a_field_a_new_order_and_a_required_flag(
    app: Flask, ops: FlaskClient
) -> None:
    saved = ops.post(
        f"{PAGE}/form/form",
        data=accept_form(
            **{
                "f:2:required": "1",
                "f:2:order": "0",
                "f:new:field": "product",
                "f:new:order": "2.5",
            }
        ),
    )
    assert saved.status_code == 302
    text = draft_file(app, "feedback.yaml")
    assert text is not None
    assert (
        "        form:\n"
        "          - {field: resources, required: true}\n"
        "          - {field: category, required: true}\n"
        "          - {field: priority, required: true}\n"
        "          - {field: product}\n"
        "        effects:\n"
    ) in text
    assert "      # R-2.9 Simple problems are solved on the spot, in one step.\n" in text


def test_a_transition_form_with_an_unknown_field_is_refused_at_its_input(
    app: Flask, ops: FlaskClient
) -> None:
    refused = ops.post(f"{PAGE}/form/form", data=accept_form(**{"f:new:field": "colour"}))
    assert refused.status_code == 400
    errors = errors_next_to(refused.get_data(as_text=True), "f:new:field")
    assert any("colour" in e for e in errors), errors
    assert draft_file(app, "feedback.yaml") is None


def test_a_choice_field_gets_a_choice_and_loses_one(app: Flask, ops: FlaskClient) -> None:
    form = {
        "target": "feedback|resources",
        "c:0:value": "remote",
        "c:0:label": "远程协助",
        "c:1:value": "on_site",
        "c:1:label": "上门服务",
        "c:1:remove": "1",
        "c:2:value": "spare_part",
        "c:2:label": "备件更换",
        "c:3:value": "refund",
        "c:3:label": "退款",
    }
    assert ops.post(f"{PAGE}/form/choices", data=form).status_code == 302
    text = draft_file(app, "feedback.yaml")
    assert text is not None
    assert "        choices: {remote: 远程协助, spare_part: 备件更换, refund: 退款}\n" in text
    refused = ops.post(f"{PAGE}/form/choices", data=form | {"c:3:label": ""})
    assert refused.status_code == 400
    assert errors_next_to(refused.get_data(as_text=True), "c:3:label") == ["请填写显示的名称。"]


def test_campaign_timing_caps_and_tier_numbers_change_in_place(
    app: Flask, ops: FlaskClient
) -> None:
    saved = ops.post(
        f"{PAGE}/sla",
        data={
            "v:campaigns|birthday_greeting|trigger|at": "10:30",
            "v:campaigns|birthday_greeting|quiet_hours": "22:00-08:00",
            "v:campaigns|birthday_greeting|cap|max": "2",
            "v:campaigns|birthday_greeting|cap|per": "7 days",
            "v:campaigns|shipping_notice|cap|max": "1",
            "v:campaigns|shipping_notice|cap|per": "1 day",
            "v:campaigns|holiday_greeting|quiet_hours": "",
            "v:tiers|high_value|when|spend_percentile|min": "0.85",
        },
    )
    assert saved.status_code == 302
    text = draft_file(app, "care.yaml")
    assert text is not None
    assert '    trigger: {on: birthday, at: "10:30"}\n' in text
    assert '    quiet_hours: "22:00-08:00"\n    cap: {max: 2, per: 7 days}\n' in text
    assert '    quiet_hours: "22:00-08:00"\n    cap: {max: 1, per: 1 day}\n' in text
    assert "      spend_percentile: {min: 0.85}\n" in text
    assert "# R-5.3 Care campaigns.\n" in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("v:campaigns|birthday_greeting|quiet_hours", "25:00-08:00"),
        ("v:tiers|high_value|when|spend_percentile|min", "most"),
        ("v:record_types|feedback|sla|policies|P1|resolve|within", "soon"),
    ],
)
def test_an_invalid_single_value_is_shown_at_its_input_and_saves_nothing(
    app: Flask, ops: FlaskClient, name: str, value: str
) -> None:
    refused = ops.post(f"{PAGE}/sla", data={name: value})
    assert refused.status_code == 400
    assert errors_next_to(refused.get_data(as_text=True), name)
    assert draft_file(app, "care.yaml") is None
