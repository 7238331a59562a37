"""The pack JSON Schema: the shipped pack passes; each mistake gets a short message at its line."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from engine.time.durations import DurationError, parse_duration
from workflows.loader import load_pack
from workflows.schema import json_compatible, schema_errors, schema_path

SHIPPED = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"


@pytest.fixture
def pack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped pack, loaded from its parent so errors read `after_sales/...`."""
    shutil.copytree(SHIPPED, tmp_path / "after_sales")
    monkeypatch.chdir(tmp_path)
    return Path("after_sales")


def edit(folder: Path, file: str, old: str, new: str) -> str:
    """Make one mistake in a copied file and return the new text."""
    text = (folder / file).read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {file}"
    text = text.replace(old, new)
    (folder / file).write_text(text, encoding="utf-8")
    return text


def expect(file: str, text: str, line_containing: str, token: str, message: str) -> str:
    """The error line expected at `token`, on the first line of `text` with `line_containing`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line_containing in line:
            return f"after_sales/{file}:{number}:{line.index(token) + 1}: {message}"
    raise AssertionError(f"no line contains {line_containing!r}")


def error_lines(folder: Path) -> list[str]:
    return [str(error) for error in schema_errors(load_pack(folder))]


def duration_problem(value: object) -> str:
    """How the engine's duration parser explains `value`, as an error line ends."""
    with pytest.raises(DurationError) as caught:
        parse_duration(value)
    return f"{caught.value.message} ({caught.value.hint})"


def schema_mappings(node: object) -> Iterator[dict[str, object]]:
    """Every sub-schema that describes a mapping with named keys."""
    if isinstance(node, dict):
        if "properties" in node or "patternProperties" in node:
            yield node
        for value in node.values():
            yield from schema_mappings(value)
    elif isinstance(node, list):
        for value in node:
            yield from schema_mappings(value)


def test_the_schema_is_valid_draft_2020_12_with_an_id() -> None:
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("pack.schema.json")


def test_every_mapping_in_the_schema_is_closed_and_documented_for_editors() -> None:
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    condition = schema["$defs"]["field"]["if"]  # only tests the field type, describes nothing
    mappings = [node for node in schema_mappings(schema) if node is not condition]
    assert len(mappings) > 20
    for node in mappings:
        assert node["additionalProperties"] is False, node.get("title")
        assert node.get("title") and node.get("description"), node
        properties = node.get("properties", {})
        assert isinstance(properties, dict)
        for name, prop in properties.items():
            assert "title" in prop or "$ref" in prop, name


def test_the_shipped_after_sales_pack_passes_the_schema() -> None:
    assert schema_errors(load_pack(SHIPPED)) == []


def test_yaml_dates_are_checked_as_iso_strings() -> None:
    data = {"closed": [date(2024, 10, 1)], "at": datetime(2024, 1, 2, 3, 4)}
    assert json_compatible(data) == {"closed": ["2024-10-01"], "at": "2024-01-02T03:04:00"}


def test_calendar_dates_pass_and_an_impossible_one_is_reported(pack_dir: Path) -> None:
    text = edit(
        pack_dir,
        "pack.yaml",
        "    holidays: {country: CN}",
        "    holidays: {country: CN}\n"
        "    closed: [2024-10-01]\n"
        "    working: [2024-09-29, 2024-02-30]",
    )
    assert error_lines(pack_dir) == [
        expect("pack.yaml", text, "working:", "2024-02-30",
               "invalid date '2024-02-30' (write dates as YYYY-MM-DD)"),
    ]  # fmt: skip


def test_an_unknown_key_is_reported_at_the_key_with_did_you_mean(pack_dir: Path) -> None:
    text = edit(pack_dir, "feedback.yaml", "    stages:\n", "    stagse:\n")
    lines = error_lines(pack_dir)
    unknown = "unknown key 'stagse' (did you mean 'stages'?)"
    assert expect("feedback.yaml", text, "stagse:", "stagse", unknown) in lines
    missing = "missing required key 'stages'"
    assert expect("feedback.yaml", text, "  feedback:", "feedback", missing) in lines


def test_an_unknown_key_without_a_close_match_lists_the_allowed_keys(pack_dir: Path) -> None:
    text = edit(
        pack_dir,
        "feedback.yaml",
        "      pending: {kind: open, title: 待受理}",
        "      pending: {kind: open, title: 待受理, colour: red}",
    )
    assert error_lines(pack_dir) == [
        expect("feedback.yaml", text, "colour", "colour",
               "unknown key 'colour' (allowed keys: kind, title, description)"),
    ]  # fmt: skip


def test_an_id_that_breaks_the_naming_rule_is_reported_at_the_key(pack_dir: Path) -> None:
    text = edit(pack_dir, "feedback.yaml", "      waiting_customer: {", "      Waiting-Customer: {")
    assert error_lines(pack_dir) == [
        expect("feedback.yaml", text, "Waiting-Customer", "W",
               "invalid key 'Waiting-Customer' "
               "(stage ids use lower-case letters, digits and _, starting with a letter)"),
    ]  # fmt: skip


def test_a_scalar_where_a_list_belongs_says_what_it_got(pack_dir: Path) -> None:
    text = edit(
        pack_dir,
        "feedback.yaml",
        "        from: [pending]\n        to: in_progress",
        "        from: pending\n        to: in_progress",
    )
    assert error_lines(pack_dir) == [
        expect("feedback.yaml", text, "from: pending", "pending",
               "expected a list, got text 'pending' (write it as a list: [pending])"),
    ]  # fmt: skip


def test_a_bad_duration_is_explained_by_the_duration_parser_at_its_value(pack_dir: Path) -> None:
    text = edit(pack_dir, "feedback.yaml", "within: 3 working days", "within: 3 wrking days")
    (line,) = error_lines(pack_dir)
    problem = duration_problem("3 wrking days")
    assert line == expect("feedback.yaml", text, "wrking", "3 wrking", problem)
    assert line.endswith(
        ": unknown duration unit 'wrking days' in '3 wrking days' (did you mean 'working days'?)"
    )


def test_a_number_where_a_duration_belongs_gets_the_parser_message(pack_dir: Path) -> None:
    text = edit(pack_dir, "feedback.yaml", "after: 4h,", "after: 4,")
    assert error_lines(pack_dir) == [
        expect("feedback.yaml", text, "after: 4,", "4,", duration_problem(4)),
    ]


def test_a_duration_the_parser_accepts_is_not_an_error(pack_dir: Path) -> None:
    edit(pack_dir, "feedback.yaml", "respond: {within: 2h,", "respond: {within: 2 Hours,")
    edit(pack_dir, "feedback.yaml", "every: 24h", "every: 1天")
    assert error_lines(pack_dir) == []


def test_a_misspelt_enum_value_lists_the_values_and_suggests_one(pack_dir: Path) -> None:
    text = edit(pack_dir, "feedback.yaml", "{kind: active, title", "{kind: actve, title")
    assert error_lines(pack_dir) == [
        expect("feedback.yaml", text, "actve", "actve",
               "'actve' is not one of open, active, waiting, resolved, closed "
               "(did you mean 'active'?)"),
    ]  # fmt: skip


def test_a_missing_required_key_points_at_its_parent(pack_dir: Path) -> None:
    text = edit(pack_dir, "feedback.yaml", "        to: closed\n", "")
    assert error_lines(pack_dir) == [
        expect("feedback.yaml", text, "      close:", "close", "missing required key 'to'"),
    ]


def test_a_missing_top_level_key_points_at_the_start_of_pack_yaml(pack_dir: Path) -> None:
    text = edit(pack_dir, "pack.yaml", "name: after_sales\n", "")
    assert error_lines(pack_dir) == [
        expect("pack.yaml", text, "format: 1", "format", "missing required key 'name'"),
    ]


def test_an_error_in_each_file_is_reported_in_its_own_file_sorted(pack_dir: Path) -> None:
    pack_text = edit(
        pack_dir, "pack.yaml", "timezone: Asia/Shanghai\n\n", "timezone: Asia/Shangai\n\n"
    )
    feedback = edit(pack_dir, "feedback.yaml", "      warning: 80%", "      warning: 80 %")
    assert error_lines(pack_dir) == [
        expect("feedback.yaml", feedback, "warning: 80 %", "80",
               "invalid percentage '80 %' (write it like 80%)"),
        expect("pack.yaml", pack_text, "Shangai", "Asia",
               "unknown time zone 'Asia/Shangai' (did you mean 'Asia/Shanghai'?)"),
    ]  # fmt: skip


def test_a_choice_field_needs_its_choices(pack_dir: Path) -> None:
    text = edit(pack_dir, "feedback.yaml", "        choices: {remote", "        choies: {remote")
    assert error_lines(pack_dir) == [
        expect("feedback.yaml", text, "      resources:", "resources",
               "missing required key 'choices'"),
        expect("feedback.yaml", text, "choies", "choies",
               "unknown key 'choies' (did you mean 'choices'?)"),
    ]  # fmt: skip


def test_a_mistyped_effect_is_explained_by_the_shape_it_resembles(pack_dir: Path) -> None:
    text = edit(pack_dir, "feedback.yaml", "- assign: routing", "- assign: routng")
    assert error_lines(pack_dir) == [
        expect("feedback.yaml", text, "routng", "routng", "expected 'routing', got 'routng'"),
    ]


def test_a_form_entry_of_the_wrong_type_names_both_allowed_types(pack_dir: Path) -> None:
    text = edit(pack_dir, "feedback.yaml", "- {field: priority, required: true}", "- [priority]")
    assert error_lines(pack_dir) == [
        expect("feedback.yaml", text, "- [priority]", "[",
               "expected text or a mapping, got a list"),
    ]  # fmt: skip


def test_met_by_needs_exactly_one_of_leaving_or_entering(pack_dir: Path) -> None:
    edit(
        pack_dir,
        "feedback.yaml",
        "met_by: {leaving: {stages: [pending]}, first_reply: true}",
        "met_by: {leaving: {stages: [pending]}, entering: {kinds: [active]}}",
    )
    text = edit(pack_dir, "feedback.yaml", "met_by: {entering: {kinds: [resolved]}}", "met_by: {}")
    assert error_lines(pack_dir) == [
        expect("feedback.yaml", text, "met_by: {leaving", "met_by",
               "use only one of 'leaving' or 'entering'"),
        expect("feedback.yaml", text, "met_by: {}", "met_by",
               "missing one of 'leaving' or 'entering'"),
    ]  # fmt: skip


def test_a_followup_missing_half_of_its_shape_names_the_missing_key(pack_dir: Path) -> None:
    text = edit(pack_dir, "feedback.yaml", "        every: 24h\n", "")
    assert error_lines(pack_dir) == [
        expect("feedback.yaml", text, "progress_update:", "progress",
               "missing required key 'every' ('while_in' needs 'every')"),
    ]  # fmt: skip


def test_an_empty_selector_lists_what_it_may_hold(pack_dir: Path) -> None:
    text = edit(pack_dir, "feedback.yaml", "pause_in: {kinds: [waiting]}", "pause_in: {}")
    assert error_lines(pack_dir) == [
        expect("feedback.yaml", text, "pause_in", "{",
               "this mapping must not be empty (use stages, kinds)"),
    ]  # fmt: skip


def test_an_unquoted_time_that_yaml_reads_as_a_number_asks_for_quotes(pack_dir: Path) -> None:
    text = edit(
        pack_dir,
        "pack.yaml",
        'hours: {mon-fri: "09:00-18:00"}',
        'hours: {mon-fri: "09:00-18:00", sat: 18:00}',
    )
    assert error_lines(pack_dir) == [
        expect("pack.yaml", text, "sat: 18:00", "18:00}",
               "expected text, got number 1080 (put the value in quotes)"),
    ]  # fmt: skip


def test_long_values_are_cut_short_in_messages(pack_dir: Path) -> None:
    edit(pack_dir, "feedback.yaml", "{kind: active, title", "{kind: " + "x" * 200 + ", title")
    (line,) = error_lines(pack_dir)
    assert "x" * 200 not in line and f"'{'x' * 39}…' is not one of" in line
