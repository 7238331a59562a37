"""Loading pack folders: merged data, positions, and errors that name file:line:column."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from workflows.errors import PackError, PackInvalid
from workflows.loader import load_pack, load_pack_from_files
from workflows.yamlmarks import load_yaml

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


def position(text: str, line_containing: str, token: str) -> tuple[int, int]:
    """1-based line and column of `token` on the first line containing `line_containing`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line_containing in line:
            return number, line.index(token) + 1
    raise AssertionError(f"no line contains {line_containing!r}")


def at(file: str, text: str, line_containing: str, token: str) -> str:
    """`after_sales/<file>:line:column` of `token`, as an error line starts."""
    line, column = position(text, line_containing, token)
    return f"after_sales/{file}:{line}:{column}"


def error_lines(folder: Path) -> list[str]:
    with pytest.raises(PackInvalid) as caught:
        load_pack(folder)
    assert str(caught.value) == "\n".join(str(error) for error in caught.value.errors)
    return [str(error) for error in caught.value.errors]


def test_pack_error_prints_like_a_compiler_error_with_the_hint_in_brackets() -> None:
    hint = "did you mean 'resolved'?"
    error = PackError("a/b.yaml", 3, 7, ("x",), "unknown stage 'resolvd'", hint)
    assert str(error) == "a/b.yaml:3:7: unknown stage 'resolvd' (did you mean 'resolved'?)"
    assert str(PackError("a/b.yaml", 1, 1, (), "broken")) == "a/b.yaml:1:1: broken"


def test_the_shipped_after_sales_pack_loads_with_its_files_merged() -> None:
    pack = load_pack(SHIPPED)
    assert pack.name == "after_sales"
    assert list(pack.files) == ["care.yaml", "feedback.yaml", "pack.yaml", "warnings.yaml"]
    assert pack.data["name"] == "after_sales"
    record_types = pack.data["record_types"]
    assert isinstance(record_types, dict)
    assert record_types["feedback"]["initial"] == "pending"
    assert re.fullmatch(r"[0-9a-f]{64}", pack.source_hash)


def test_positions_name_the_file_that_defines_the_path(pack_dir: Path) -> None:
    pack = load_pack(pack_dir)
    feedback = pack.files["feedback.yaml"]
    stage = ("record_types", "feedback", "stages", "pending")
    kind = position(feedback, "pending: {kind: open", "open")
    assert pack.where((*stage, "kind")) == ("after_sales/feedback.yaml", *kind)
    key = position(feedback, "pending: {kind", "pending")
    assert pack.where_key(stage) == ("after_sales/feedback.yaml", *key)
    zone = position(pack.files["pack.yaml"], "timezone:", "Asia")
    assert pack.where(("timezone",)) == ("after_sales/pack.yaml", *zone)


def test_a_missing_path_points_at_its_deepest_existing_parent(pack_dir: Path) -> None:
    pack = load_pack(pack_dir)
    stage = ("record_types", "feedback", "stages", "pending")
    assert pack.where((*stage, "description")) == pack.where(stage)
    start = position(pack.files["pack.yaml"], "format: 1", "format")
    assert pack.where(()) == ("after_sales/pack.yaml", *start)


def test_loading_from_stored_texts_gives_the_same_pack_as_the_folder(pack_dir: Path) -> None:
    from_folder = load_pack(pack_dir)
    from_texts = load_pack_from_files("after_sales", dict(from_folder.files), "after_sales")
    assert from_texts == from_folder
    assert from_texts.where(("timezone",)) == from_folder.where(("timezone",))


def test_the_source_hash_follows_the_texts_but_not_windows_line_ends(pack_dir: Path) -> None:
    files = dict(load_pack(pack_dir).files)
    original = load_pack_from_files("after_sales", files, "after_sales").source_hash
    crlf = {name: text.replace("\n", "\r\n") for name, text in files.items()}
    assert load_pack_from_files("after_sales", crlf, "after_sales").source_hash == original
    files["pack.yaml"] += "# a comment\n"
    assert load_pack_from_files("after_sales", files, "after_sales").source_hash != original


def test_sub_folders_and_other_files_are_not_part_of_the_pack(pack_dir: Path) -> None:
    (pack_dir / "scenarios" / "broken.yaml").write_text("a: [\n", encoding="utf-8")
    (pack_dir / "README.md").write_text("# notes\n", encoding="utf-8")
    (pack_dir / "extra.yml").write_text("channels:\n  fax: {title: 传真}\n", encoding="utf-8")
    pack = load_pack(pack_dir)
    assert list(pack.files) == [
        "care.yaml",
        "extra.yml",
        "feedback.yaml",
        "pack.yaml",
        "warnings.yaml",
    ]
    channels = pack.data["channels"]
    assert isinstance(channels, dict)
    assert "fax" in channels and "phone" in channels


def test_invalid_yaml_reports_file_line_and_column_of_the_problem(pack_dir: Path) -> None:
    text = edit(
        pack_dir,
        "feedback.yaml",
        "from: [pending]\n        to: in_progress",
        "from: [pending\n        to: in_progress",
    )
    start_line, start_column = position(text, "from: [pending", "[")
    after = text.splitlines()[start_line]  # the line after the unclosed bracket
    assert error_lines(pack_dir) == [
        f"{at('feedback.yaml', text, after, ':')}: invalid YAML: expected ',' or ']', but got ':' "
        f"(while parsing a flow sequence that starts at line {start_line}, column {start_column})"
    ]


def test_a_duplicate_key_is_reported_at_the_second_with_the_first_line(pack_dir: Path) -> None:
    old, new = "        to: closed\n", "        to: closed\n        from: [closed]\n"
    text = edit(pack_dir, "feedback.yaml", old, new)
    lines = text.splitlines()
    first = max(n for n, line in enumerate(lines, 1) if "from: [resolved]" in line)  # close's
    assert error_lines(pack_dir) == [
        f"{at('feedback.yaml', text, 'from: [closed]', 'from')}: duplicate key 'from' "
        f"(each key may appear once; the first is at line {first})"
    ]


def test_errors_of_every_file_are_reported_together(pack_dir: Path) -> None:
    old = "default_priority: P2"
    pack_text = edit(pack_dir, "pack.yaml", old, f"{old}\ndefault_priority: P1")
    old = "      closed: {kind: closed, title: 已关闭}"
    feedback = edit(pack_dir, "feedback.yaml", old, f"{old}\n      resolved: {{kind: resolved}}")
    lines = error_lines(pack_dir)
    assert len(lines) == 2
    priority = at("pack.yaml", pack_text, "default_priority: P1", "default")
    assert lines[0].startswith(f"{priority}: duplicate key 'default_priority'")
    resolved = at("feedback.yaml", feedback, "resolved: {kind: resolved}", "resolved")
    assert lines[1].startswith(f"{resolved}: duplicate key 'resolved'")


def test_record_types_split_across_files_are_merged(pack_dir: Path) -> None:
    complaint = (
        "record_types:\n"
        "  complaint:\n"
        "    title: 投诉\n"
        "    stages: {new: {kind: open, title: 新}}\n"
        "    initial: new\n"
    )
    (pack_dir / "complaint.yaml").write_text(complaint, encoding="utf-8")
    pack = load_pack(pack_dir)
    record_types = pack.data["record_types"]
    assert isinstance(record_types, dict)
    assert set(record_types) == {"feedback", "care_task", "early_warning", "complaint"}
    initial = position(complaint, "initial:", "new")
    assert pack.where(("record_types", "complaint", "initial")) == (
        "after_sales/complaint.yaml",
        *initial,
    )
    assert pack.where(("record_types", "feedback", "initial"))[0] == "after_sales/feedback.yaml"


def test_an_entry_defined_in_two_files_is_reported_at_the_second_place(pack_dir: Path) -> None:
    shutil.copy(pack_dir / "feedback.yaml", pack_dir / "more_feedback.yaml")
    text = (pack_dir / "feedback.yaml").read_text(encoding="utf-8")
    first_line, _ = position(text, "  feedback:", "feedback")
    assert error_lines(pack_dir) == [
        f"{at('more_feedback.yaml', text, '  feedback:', 'feedback')}: "
        "'record_types.feedback' is defined twice "
        f"(it is first defined at after_sales/feedback.yaml:{first_line})"
    ]


def test_a_plain_top_level_key_repeated_in_another_file_is_reported(pack_dir: Path) -> None:
    (pack_dir / "zone.yaml").write_text("# moved\ntimezone: Europe/Berlin\n", encoding="utf-8")
    first, _ = position((pack_dir / "pack.yaml").read_text(encoding="utf-8"), "timezone:", "t")
    assert error_lines(pack_dir) == [
        "after_sales/zone.yaml:2:1: 'timezone' is defined twice "
        f"(it is first defined at after_sales/pack.yaml:{first})"
    ]


def test_a_file_whose_top_level_is_not_a_mapping_is_an_error(pack_dir: Path) -> None:
    (pack_dir / "list.yaml").write_text("# oops\n- a\n- b\n", encoding="utf-8")
    assert error_lines(pack_dir) == [
        "after_sales/list.yaml:2:1: a pack file must hold a mapping of keys, not a list "
        "(write top-level keys such as `record_types:`)"
    ]


def test_an_empty_file_adds_nothing(pack_dir: Path) -> None:
    (pack_dir / "empty.yaml").write_text("# nothing yet\n", encoding="utf-8")
    assert load_pack(pack_dir).data == load_pack(SHIPPED).data


def test_an_empty_folder_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("empty").mkdir()
    assert error_lines(Path("empty")) == [
        "empty:1:1: no pack files in this folder (a pack needs at least pack.yaml)"
    ]


def test_a_missing_folder_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert error_lines(Path("nowhere")) == [
        "nowhere:1:1: pack folder does not exist (give the folder that holds pack.yaml)"
    ]


def test_a_file_that_is_not_utf8_is_reported_with_the_other_errors(pack_dir: Path) -> None:
    (pack_dir / "legacy.yaml").write_bytes("title: 售后".encode("gb18030"))
    edit(pack_dir, "pack.yaml", "format: 1", "format: 1\nformat: 1")
    lines = error_lines(pack_dir)
    assert lines[0].startswith("after_sales/legacy.yaml:1:1: file is not UTF-8 text")
    assert lines[1].startswith("after_sales/pack.yaml:") and "duplicate key 'format'" in lines[1]


def test_keys_stay_text_as_written_so_yes_and_on_are_not_booleans() -> None:
    data, _ = load_yaml("choices: {yes: 是, on: 开, 1: 一}\nwhen: 2024-10-01\n", "t.yaml")
    assert data == {"choices": {"yes": "是", "on": "开", "1": "一"}, "when": date(2024, 10, 1)}


def test_an_impossible_date_stays_text_for_the_schema_to_report() -> None:
    data, marks = load_yaml("closed:\n  - 2024-13-01\n", "t.yaml")
    assert data == {"closed": ["2024-13-01"]}
    assert marks.locate(("closed", 0)) == (2, 5)


def test_merge_keys_work_and_explicit_keys_override_them() -> None:
    text = "base: &b {within: 2h, calendar: x}\nP1:\n  <<: *b\n  within: 4h\n"
    data, marks = load_yaml(text, "t.yaml")
    assert isinstance(data, dict)
    assert data["P1"] == {"within": "4h", "calendar": "x"}
    assert marks.locate(("P1", "within")) == (4, 11)
    assert marks.locate(("P1", "calendar")) == (1, 33)


def test_locate_key_points_at_the_key_and_falls_back_to_the_value() -> None:
    _, marks = load_yaml("a:\n  b: 1\n", "t.yaml")
    assert marks.locate_key(("a", "b")) == (2, 3)
    assert marks.locate(("a", "b")) == (2, 6)
    assert marks.locate_key(("a", "missing")) == (2, 3)
    assert marks.locate(()) == (1, 1)


def test_an_empty_text_is_no_data() -> None:
    assert load_yaml("", "t.yaml")[0] is None
    assert load_yaml("# only a comment\n", "t.yaml")[0] is None


def test_an_alias_that_contains_itself_is_an_error_not_a_hang() -> None:
    with pytest.raises(PackInvalid, match=r"t.yaml:1:4: an alias refers to a value that contains"):
        load_yaml("a: &x\n  b: *x\n", "t.yaml")


def test_a_tab_in_the_indentation_gets_a_hint() -> None:
    with pytest.raises(PackInvalid, match=r"t.yaml:2:1: invalid YAML: .*\(indent with spaces"):
        load_yaml("a:\n\tb: 1\n", "t.yaml")


def test_a_control_character_is_reported_at_its_position() -> None:
    with pytest.raises(PackInvalid, match=r"t.yaml:2:6: invalid YAML: special characters"):
        load_yaml("x:\n  a: \x01\n", "t.yaml")
