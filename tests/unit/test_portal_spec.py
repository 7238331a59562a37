"""The pack's `portal:` is checked at load time (issue #23, R-8.1): a field that does not exist
or cannot be typed, a form without a contact or a required field, an unknown channel: each a
problem at its path, so the loader points at the line; both shipped portals load clean."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from engine.specs.build import build_pack_spec, jsonable
from workflows.loader import load_pack

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return jsonable(load_pack(WORKFLOWS / "after_sales").data)  # type: ignore[no-any-return]


def problems(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    spec, found = build_pack_spec(data)
    assert spec is None
    return [(p.path, p.message) for p in found]


@pytest.mark.parametrize("pack", ["after_sales", "retail"])
def test_the_shipped_portals_load(pack: str) -> None:
    spec, found = build_pack_spec(jsonable(load_pack(WORKFLOWS / pack).data))
    assert found == [] and spec is not None and spec.portal is not None
    assert spec.portal.channel in spec.channels and spec.portal.contact_field == "contact"
    assert spec.portal.text_field == "description"
    assert spec.portal.colour.startswith("#")


def test_a_misspelt_field_is_a_problem_at_its_index(data: dict[str, Any]) -> None:
    broken = copy.deepcopy(data)
    broken["portal"]["fields"][3] = "purchase_on"
    assert (("portal", "fields", 3), "unknown field 'purchase_on'") in problems(broken)


def test_a_form_needs_a_contact_and_every_required_field(data: dict[str, Any]) -> None:
    broken = copy.deepcopy(data)
    broken["portal"]["fields"] = ["product", "description"]
    found = [message for _path, message in problems(broken)]
    assert "the web form asks for no contact field" in found
    assert "required field 'contact' is not public" in found


def test_the_desks_own_fields_are_never_public(data: dict[str, Any]) -> None:
    broken = copy.deepcopy(data)
    broken["portal"]["fields"].append("customer_no")
    found = problems(broken)
    assert any(path[:2] == ("portal", "fields") and "cannot be public" in m for path, m in found)


def test_an_unknown_channel_is_a_problem(data: dict[str, Any]) -> None:
    broken = copy.deepcopy(data)
    broken["portal"]["channel"] = "webform"
    assert (("portal", "channel"), "unknown channel 'webform'") in problems(broken)


def test_english_labels_name_public_fields(data: dict[str, Any]) -> None:
    spec, found = build_pack_spec(data)
    assert spec is not None and spec.portal is not None
    assert spec.portal.label("description", "问题描述", "en") == "What happened"
    assert spec.portal.label("description", "问题描述", "zh") == "问题描述"
    broken = copy.deepcopy(data)
    broken["portal"]["labels_en"]["lessons"] = "Lessons"
    assert (("portal", "labels_en", "lessons"), "unknown public field 'lessons'") in problems(
        broken
    )
