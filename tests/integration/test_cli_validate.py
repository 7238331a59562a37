"""`careloop validate` gives file:line:column and a fix for each mistake, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import careloop

PACK = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"


def broken_pack(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """The shipped pack with one mistake: `old` replaced by `new` in `file`."""
    folder = tmp_path / "after_sales"
    shutil.copytree(PACK, folder, ignore=shutil.ignore_patterns("scenarios"))
    text = (folder / file).read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"{old!r} not in {file}"
    (folder / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def position(folder: Path, file: str, needle: str) -> tuple[int, int]:
    """1-based line and column where `needle` first appears in the file."""
    for number, line in enumerate((folder / file).read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in {file}")


def validate(*paths: Path) -> tuple[int, str]:
    result = CliRunner().invoke(careloop, ["validate", *map(str, paths)])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_the_shipped_packs_are_valid() -> None:
    code, output = validate(*sorted(p for p in PACK.parent.iterdir() if (p / "pack.yaml").exists()))
    assert code == 0, output
    assert "after_sales: ok" in output


@pytest.mark.parametrize(
    ("file", "old", "new", "needle", "expected"),
    [
        pytest.param(
            "feedback.yaml",
            "from: [in_progress]\n        to: resolved",
            "from: [in_progress]]\n        to: resolved",
            "[in_progress]]",
            "invalid YAML",
            id="invalid-yaml",
        ),
        pytest.param(
            "feedback.yaml",
            "from: [waiting_customer]",
            "from: waiting_customer",
            "from: waiting_customer",
            "expected a list",
            id="wrong-type",
        ),
        pytest.param(
            "feedback.yaml",
            "    stages:\n",
            "    stagse:\n",
            "stagse",
            "unknown key 'stagse' (did you mean 'stages'?)",
            id="unknown-key",
        ),
        pytest.param(
            "feedback.yaml",
            "within: 3 working days",
            "within: 3 wrking days",
            "3 wrking days",
            "unknown duration unit 'wrking days' in '3 wrking days' (did you mean 'working days'?)",
            id="bad-duration",
        ),
        pytest.param(
            "feedback.yaml",
            "within: 3 working days",
            "within: 30000 working days",
            "30000 working days",
            "duration '30000 working days' is longer than 3650 days (a duration may be at most",
            id="endless-duration",
        ),
        pytest.param(
            "feedback.yaml",
            'guard: "form.solution_type',
            'guard: "form.__class__ or form.solution_type',
            "guard:",
            "'__class__' is not allowed in expressions",
            id="dunder-expression",
        ),
        pytest.param(
            "feedback.yaml",
            "to: resolved\n        form:\n          - {field: solution_type",
            "to: resolvd\n        form:\n          - {field: solution_type",
            "resolvd",
            "unknown stage 'resolvd' (did you mean 'resolved'?)",
            id="unknown-target",
        ),
        pytest.param(
            "feedback.yaml",
            "        P2:\n          respond",
            "        P3:\n          respond",
            "P3:",
            "unknown priority 'P3'",
            id="unknown-priority",
        ),
        pytest.param(
            "feedback.yaml",
            "calendar: cn_workdays}\n        P2",
            "calendar: cn_workday}\n        P2",
            "cn_workday}",
            "unknown calendar 'cn_workday' (did you mean 'cn_workdays'?)",
            id="unknown-calendar",
        ),
        pytest.param(
            "pack.yaml",
            "timezone: Asia/Shanghai\n    hours: {mon-fri",
            "timezone: Asia/Shangai\n    hours: {mon-fri",
            "Asia/Shangai",
            "unknown time zone 'Asia/Shangai' (did you mean 'Asia/Shanghai'?)",
            id="bad-calendar",
        ),
        pytest.param(
            "pack.yaml",
            "department: supply_chain",
            "department: suply_chain",
            "suply_chain",
            "unknown department 'suply_chain'",
            id="unknown-department",
        ),
        pytest.param(
            "pack.yaml",
            'quiet_hours: {sms: "21:00-08:00"}',
            'quiet_hours: {sms: "21:00-21:00"}',
            "quiet_hours",
            "is not a window of two different clock times",
            id="empty-quiet-hours",
        ),
        pytest.param(
            "pack.yaml",
            "by_channel: {phone: sms,",
            "by_channel: {phone: smz,",
            "by_channel",
            "unknown channel 'smz' (did you mean 'sms'?)",
            id="unknown-answering-channel",
        ),
    ],
)
def test_each_mistake_is_one_line_with_position_and_hint(
    tmp_path: Path, file: str, old: str, new: str, needle: str, expected: str
) -> None:
    folder = broken_pack(tmp_path, file, old, new)
    code, output = validate(folder)
    assert code == 1
    line, _column = position(folder, file, needle)
    errors = [row for row in output.splitlines() if expected in row]
    assert errors, output
    where, _, message = errors[0].partition(": ")
    path, reported_line, reported_column = where.rsplit(":", 2)
    assert path.endswith(file)
    assert abs(int(reported_line) - line) <= 1, output
    assert int(reported_column) >= 1


def test_an_unreachable_stage_is_reported_at_the_stage(tmp_path: Path) -> None:
    folder = broken_pack(
        tmp_path,
        "feedback.yaml",
        "      closed: {kind: closed, title: 已关闭}\n",
        "      closed: {kind: closed, title: 已关闭}\n      limbo: {kind: active, title: 悬空}\n",
    )
    code, output = validate(folder)
    assert code == 1
    line, column = position(folder, "feedback.yaml", "{kind: active, title: 悬空}")
    assert f"feedback.yaml:{line}:{column}: stage 'limbo' cannot be reached" in output, output


def test_a_pack_named_unlike_its_folder_is_refused(tmp_path: Path) -> None:
    folder = broken_pack(tmp_path, "pack.yaml", "name: after_sales", "name: aftersales")
    code, output = validate(folder)
    assert code == 1
    line, column = position(folder, "pack.yaml", "aftersales")
    assert (
        f"pack.yaml:{line}:{column}: pack name 'aftersales' differs from its folder 'after_sales'"
        in output
    )


def test_a_missing_folder_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    code, output = validate(tmp_path / "nope")
    assert code == 1
    assert "nope" in output
