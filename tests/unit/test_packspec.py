"""Meaning checks beyond the schema report each problem once, at its path (R-8.1)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from engine.specs.build import build_pack_spec, jsonable
from workflows.loader import load_pack

PACK = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return jsonable(load_pack(PACK).data)  # type: ignore[no-any-return]


def problems(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    spec, found = build_pack_spec(data)
    assert spec is None
    return [(p.path, p.message) for p in found]


def test_the_default_pack_builds_with_its_numbers(data: dict[str, Any]) -> None:
    spec, found = build_pack_spec(data)
    assert found == [] and spec is not None
    feedback = spec.record_type("feedback")
    assert feedback.sla is not None
    p1 = feedback.sla.terms_for("P1")
    assert (p1["respond"].within.text, p1["resolve"].within.text) == (
        "4 working hours",
        "3 working days",
    )
    assert spec.calendars["cn_workdays"].working_day_seconds == 9 * 3600
    assert [p.id for p in spec.priorities] == ["P0", "P1", "P2"]
    assert spec.raised("P1") == "P0" and spec.raised("P0") == "P0"


def test_an_invalid_calendar_is_reported_once_not_again_where_it_is_used(
    data: dict[str, Any],
) -> None:
    broken = copy.deepcopy(data)
    broken["calendars"]["cn_workdays"]["hours"] = {"mon-fri": "18:00-09:00"}
    found = problems(broken)
    assert len(found) == 1
    assert found[0][0][:3] == ("calendars", "cn_workdays", "hours")


def test_a_working_duration_on_a_follow_up_needs_a_calendar(data: dict[str, Any]) -> None:
    broken = copy.deepcopy(data)
    broken["record_types"]["feedback"]["followups"]["progress_update"]["every"] = "1 working day"
    assert problems(broken) == [
        (
            ("record_types", "feedback", "followups", "progress_update", "every"),
            "'1 working day' counts working time but no calendar is set",
        )
    ]


def test_a_closed_initial_stage_is_refused(data: dict[str, Any]) -> None:
    broken = copy.deepcopy(data)
    broken["record_types"]["feedback"]["initial"] = "closed"
    paths = [path for path, _ in problems(broken)]
    assert ("record_types", "feedback", "initial") in paths


def test_an_unknown_form_field_suggests_the_right_one(data: dict[str, Any]) -> None:
    broken = copy.deepcopy(data)
    broken["record_types"]["feedback"]["transitions"]["close"]["form"][0] = {"field": "satisfction"}
    spec, found = build_pack_spec(broken)
    assert spec is None
    assert found[0].message == "unknown field 'satisfction'"
    assert found[0].hint == "did you mean 'satisfaction'?"


def test_the_customer_reply_and_first_reply_keys_are_read(data: dict[str, Any]) -> None:
    spec, found = build_pack_spec(data)
    assert found == [] and spec is not None
    feedback = spec.record_type("feedback")
    assert feedback.customer_reply == "customer_replied"
    assert feedback.sla is not None and feedback.sla.targets["respond"].met_by_first_reply
    assert not feedback.sla.targets["resolve"].met_by_first_reply


def test_a_customer_reply_transition_must_exist_and_ask_for_nothing(
    data: dict[str, Any],
) -> None:
    unknown = copy.deepcopy(data)
    unknown["record_types"]["feedback"]["customer_reply"] = "customer_repled"
    assert problems(unknown) == [
        (("record_types", "feedback", "customer_reply"), "unknown transition 'customer_repled'")
    ]
    asks = copy.deepcopy(data)
    asks["record_types"]["feedback"]["customer_reply"] = "wait_for_customer"
    ((path, message),) = problems(asks)
    assert path == ("record_types", "feedback", "customer_reply")
    assert "asks for wait_reason" in message


def test_a_channels_intake_is_read_and_checked(data: dict[str, Any]) -> None:
    spec, found = build_pack_spec(data)
    assert found == [] and spec is not None
    email = spec.intake["email"]
    assert (email.record_type, email.priority, email.text_field) == (
        "feedback",
        "P2",
        "description",
    )
    wrong = copy.deepcopy(data)
    del wrong["instant_answers"]  # its hand-over names intake.online_chat, replaced here
    wrong["intake"] = {
        "fax": {"record_type": "feedbak", "priority": "P9", "department": "nowhere"},
        "email": {"record_type": "feedback", "text_field": "colour"},
    }
    assert [(p, m) for p, m in problems(wrong)] == [
        (("intake", "fax"), "unknown channel 'fax'"),
        (("intake", "fax", "department"), "unknown department 'nowhere'"),
        (("intake", "fax", "record_type"), "unknown record type 'feedbak'"),
        (("intake", "fax", "priority"), "unknown priority 'P9'"),
        (("intake", "email", "text_field"), "record type 'feedback' has no text field 'colour'"),
    ]


def test_a_keyword_monitor_on_a_personal_field_is_refused(data: dict[str, Any]) -> None:
    """Issue #22 item 4: personal fields are stored encrypted, where SQL counts no words."""
    broken = copy.deepcopy(data)
    broken["monitors"]["negative_words"]["field"] = "customer_name"
    assert problems(broken) == [
        (
            ("monitors", "negative_words", "field"),
            "field 'customer_name' of record type 'feedback' is personal: it is stored "
            "encrypted, so its words cannot be counted",
        )
    ]
