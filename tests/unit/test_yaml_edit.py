"""In-place YAML edits for the admin's structured forms: comments and layout survive (R-8.1)."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from workflows.edit import delete_key, edit_sequence, set_value
from workflows.errors import PackInvalid

TEXT = """\
# a pack
calendars:
  office:
    timezone: Asia/Shanghai  # where the desk sits
    hours: {mon-fri: "09:00-18:00"}
    holidays: {country: CN}
routing:
  # technical problems go to R&D
  - when: "record.category == 'quality'"
    department: rnd
  # everything else
  - department: desk
form:
  - {field: category, required: true}
  - field: resources
tail: 1  # the end
"""


def test_setting_a_missing_key_adds_one_line_to_its_block_mapping() -> None:
    edited = set_value(TEXT, "pack.yaml", ("calendars", "office", "closed"), [date(2026, 10, 9)])
    assert "    holidays: {country: CN}\n    closed: [2026-10-09]\nrouting:" in edited
    assert edited.replace("    closed: [2026-10-09]\n", "") == TEXT


def test_setting_a_value_in_a_flow_mapping_keeps_the_rest_of_the_line() -> None:
    path = ("calendars", "office", "hours", "mon-fri")
    edited = set_value(TEXT, "pack.yaml", path, "10:00-18:00")
    assert '    hours: {mon-fri: "10:00-18:00"}\n' in edited  # quoted as it was
    assert yaml.safe_load(edited)["calendars"]["office"]["hours"] == {"mon-fri": "10:00-18:00"}


def test_deleting_a_key_removes_only_its_lines() -> None:
    edited = delete_key(TEXT, "pack.yaml", ("calendars", "office", "holidays"))
    assert edited == TEXT.replace("    holidays: {country: CN}\n", "")
    assert delete_key(TEXT, "pack.yaml", ("calendars", "office", "nothing")) == TEXT


def test_reordering_a_block_list_moves_each_item_with_the_comment_above_it() -> None:
    edited = edit_sequence(TEXT, "pack.yaml", ("routing",), [1, 0])
    data = yaml.safe_load(edited)
    assert [r["department"] for r in data["routing"]] == ["desk", "rnd"]
    assert "# everything else\n  - department: desk\n  - when:" in edited
    assert edited.endswith(
        "form:\n  - {field: category, required: true}\n  - field: resources\ntail: 1  # the end\n"
    )


def test_new_and_changed_items_take_the_style_of_the_list() -> None:
    routing = edit_sequence(
        TEXT,
        "pack.yaml",
        ("routing",),
        [0, {"when": "record.channel == 'email'", "department": "mail"}, 1],
    )
    assert "  - when: record.channel == 'email'\n    department: mail\n" in routing
    form = edit_sequence(TEXT, "pack.yaml", ("form",), [1, {"field": "category"}])
    assert "form:\n  - field: resources\n  - {field: category}\ntail: 1" in form
    emptied = edit_sequence(TEXT, "pack.yaml", ("form",), [])
    assert "form: []\ntail: 1  # the end\n" in emptied


def test_an_edit_of_a_missing_place_is_a_pack_error_not_a_crash() -> None:
    with pytest.raises(PackInvalid, match="no value at calendars.nowhere"):
        set_value(TEXT, "pack.yaml", ("calendars", "nowhere", "closed"), [])
    with pytest.raises(PackInvalid, match="no item 5"):
        edit_sequence(TEXT, "pack.yaml", ("routing",), [5])
