"""Tiers and campaigns in a pack: their mistakes are load-time errors at file:line (R-5, R-8.1)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.time.durations import DurationError, parse_offset
from workflows.errors import PackInvalid
from workflows.validate import checked_source

SHIPPED = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"


@pytest.fixture
def pack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(SHIPPED, tmp_path / "after_sales")
    monkeypatch.chdir(tmp_path)
    return Path("after_sales")


def errors_after(folder: Path, old: str, new: str) -> list[str]:
    path = folder / "care.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(PackInvalid) as caught:
        checked_source(folder)
    return [str(e) for e in caught.value.errors]


def line_of(folder: Path, needle: str) -> int:
    lines = (folder / "care.yaml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def test_offsets_count_calendar_months() -> None:
    moment = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert parse_offset("3 months").after(moment) == datetime(2027, 2, 28, 10, 0, tzinfo=UTC)
    assert parse_offset("3个月").after(moment) == datetime(2027, 2, 28, 10, 0, tzinfo=UTC)
    assert parse_offset("1年").after(datetime(2024, 2, 29, tzinfo=UTC)) == datetime(
        2025, 2, 28, tzinfo=UTC
    )
    assert parse_offset("2 weeks").before(moment) == datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
    with pytest.raises(DurationError) as caught:
        parse_offset("3 monthz")
    assert caught.value.hint == "did you mean 'month'?"
    with pytest.raises(DurationError, match="whole months"):
        parse_offset("1.5 months")


def test_a_misspelt_offset_is_reported_at_its_line(pack_dir: Path) -> None:
    found = errors_after(
        pack_dir,
        "trigger: {on: purchase, after: 3 months,",
        "trigger: {on: purchase, after: 3 mnths,",
    )
    line = line_of(pack_dir, "after: 3 mnths")
    assert len(found) == 1 and found[0].startswith(f"after_sales/care.yaml:{line}:")
    assert "3 mnths" in found[0]


def test_an_unknown_tier_in_an_audience_suggests_the_right_one(pack_dir: Path) -> None:
    found = errors_after(
        pack_dir, "audience: {tiers: [high_value]}", "audience: {tiers: [high_valu]}"
    )
    line = line_of(pack_dir, "high_valu]")
    assert found == [
        f"after_sales/care.yaml:{line}:24: unknown tier 'high_valu' (did you mean 'high_value'?)"
    ]


def test_an_unsafe_audience_expression_is_refused_at_load_time(pack_dir: Path) -> None:
    found = errors_after(
        pack_dir,
        "audience: {tiers: [silent]}",
        'audience: {tiers: [silent], when: "customer.__class__"}',
    )
    assert len(found) == 1 and "care.yaml" in found[0] and "__class__" in found[0]


def test_a_campaign_message_must_name_a_template(pack_dir: Path) -> None:
    found = errors_after(pack_dir, "message: win_back", "message: win_bak")
    assert len(found) == 1
    assert "unknown message template 'win_bak' (did you mean 'win_back'?)" in found[0]


def test_a_task_needs_a_record_type_about_a_customer(pack_dir: Path) -> None:
    found = errors_after(
        pack_dir,
        "      record_type: care_task\n      channel: phone\n      set: {task: 主动回访",
        "      record_type: feedback\n      channel: phone\n      set: {task: 主动回访",
    )
    assert any("unknown field 'task'" in e for e in found)


def test_a_trigger_missing_its_time_is_named(pack_dir: Path) -> None:
    found = errors_after(
        pack_dir, 'trigger: {on: birthday, at: "09:00"}', "trigger: {on: birthday}"
    )
    assert len(found) == 1 and "a birthday trigger needs 'at'" in found[0]
