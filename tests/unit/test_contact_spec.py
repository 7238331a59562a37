"""The promised contacts and the deadline extension of a record type are checked at load time
(R-3.2, R-3.3, issue #20): each problem at its path, so the loader names the file and line."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from engine.specs.build import build_pack_spec, jsonable
from workflows.loader import load_pack

PACK = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"
CONTACTS = ("record_types", "feedback", "customer_contacts")


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return jsonable(load_pack(PACK).data)  # type: ignore[no-any-return]


def problems(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    spec, found = build_pack_spec(data)
    assert spec is None
    return [(p.path, p.message) for p in found]


def test_the_default_pack_promises_each_contact_of_r_3_2_and_r_3_3(data: dict[str, Any]) -> None:
    spec, found = build_pack_spec(data)
    assert found == [] and spec is not None
    feedback = spec.record_type("feedback")
    contacts = feedback.contacts
    assert contacts["acknowledgement"].on_event == "created"
    assert contacts["progress"].on_followup == "progress_update"
    assert contacts["progress"].unless_replied_within is not None
    assert contacts["progress"].unless_replied_within.text == "24h"
    assert contacts["deadline_moved"].on_event == "extended"
    assert contacts["callback"].on_followup == "satisfaction_callback"
    assert feedback.extension is not None
    assert (feedback.extension.target, feedback.extension.notice.text) == ("resolve", "1 day")
    # An SMS gets its own short wording; other channels the template's.
    acknowledgement = spec.template("acknowledgement")
    assert acknowledgement.texts("sms") != acknowledgement.texts("email")
    assert acknowledgement.texts("wechat") == acknowledgement.texts("email")


def test_a_contact_names_a_template_and_a_follow_up_that_exist(data: dict[str, Any]) -> None:
    broken = copy.deepcopy(data)
    contacts = broken["record_types"]["feedback"]["customer_contacts"]
    contacts["acknowledgement"]["message"] = "acknowledgment"
    contacts["progress"]["on"] = {"followup": "progress"}
    assert problems(broken) == [
        ((*CONTACTS, "acknowledgement", "message"), "unknown message template 'acknowledgment'"),
        ((*CONTACTS, "progress", "on", "followup"), "unknown follow-up 'progress'"),
    ]


def test_a_contact_on_an_unknown_event_or_stage_is_refused(data: dict[str, Any]) -> None:
    broken = copy.deepcopy(data)
    contacts = broken["record_types"]["feedback"]["customer_contacts"]
    contacts["acknowledgement"]["on"] = "closed"
    contacts["result"]["on"] = {"entering": {"stages": ["done"]}}
    found = problems(broken)
    assert ((*CONTACTS, "acknowledgement", "on"), "unknown event 'closed'") in found
    assert ((*CONTACTS, "result", "on", "entering", "stages", 0), "unknown stage 'done'") in found


def test_an_unknown_name_in_a_customer_template_is_a_load_error(data: dict[str, Any]) -> None:
    broken = copy.deepcopy(data)
    template = broken["messages"]["templates"]["acknowledgement"]
    template["channels"]["sms"]["body"] = "已受理，{{ promise }} 前解决"
    ((path, message),) = problems(broken)
    assert path == ("messages", "templates", "acknowledgement", "channels", "sms", "body")
    assert message == "unknown name 'promise' in template"


def test_an_extension_names_a_target_of_the_sla(data: dict[str, Any]) -> None:
    broken = copy.deepcopy(data)
    broken["record_types"]["feedback"]["extension"] = {"target": "resolution", "notice": "1 day"}
    assert problems(broken) == [
        (("record_types", "feedback", "extension", "target"), "unknown SLA target 'resolution'")
    ]
