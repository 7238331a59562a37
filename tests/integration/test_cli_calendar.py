"""Issue #25 item 6: `careloop validate` and `careloop scheduler --status` warn before a
calendar's holiday data runs out; `careloop calendar load` writes a year's schedule into the
pack's draft, whose diff shows the added dates (R-2.8). The dates are made up.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import careloop
from engine.records import drafts
from engine.store.db import make_engine, make_session_factory

PACK = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"
SCHEDULE = "# made-up dates\n2027-01-01 休\n2027-02-06..2027-02-12 休\n2027-02-13 班\n"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("CARELOOP_DATABASE_URL", url)
    return url


def run(*args: str) -> Result:
    result = CliRunner().invoke(careloop, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def test_validate_warns_in_november_and_not_in_june() -> None:
    november = run("validate", "--as-of", "2026-11-15", str(PACK))
    assert november.exit_code == 0, november.output  # a warning, not an error
    assert f"{PACK.as_posix()}/pack.yaml:" in november.stderr
    assert "warning: calendar 'cn_workdays' reaches 2027 within 60 days" in november.stderr
    assert "    working:\n      - 2027-MM-DD" in november.stderr
    june = run("validate", "--as-of", "2026-06-01", str(PACK))
    assert june.exit_code == 0 and june.stderr == ""


def test_load_writes_a_draft_whose_diff_shows_the_added_days(database: str, tmp_path: Path) -> None:
    assert run("db", "upgrade").exit_code == 0
    assert run("publish", str(PACK)).exit_code == 0
    notice = tmp_path / "2027.txt"
    notice.write_text(SCHEDULE, encoding="utf-8")
    dry = run("calendar", "load", "--dry-run", "after_sales", "cn_workdays", str(notice))
    assert dry.exit_code == 0 and "+      - 2027-02-13" in dry.output
    engine = make_engine(database)
    with make_session_factory(engine)() as session:
        assert drafts.get_draft(session, "after_sales") is None
    loaded = run("calendar", "load", "--by", "ops-li", "after_sales", "cn_workdays", str(notice))
    assert loaded.exit_code == 0, loaded.output
    added = [line for line in loaded.output.splitlines() if line.startswith("+ ")]
    assert added[:3] == ["+    closed:", "+      - 2027-01-01", "+      - 2027-02-06"]
    assert "+    working:" in added and "+      - 2027-02-13" in added
    assert "+    covered_until: 2027" in added
    assert "draft of after_sales saved" in loaded.output
    with make_session_factory(engine)() as session:
        draft = drafts.get_draft(session, "after_sales")
        assert draft is not None and draft.updated_by == "ops-li"
        assert "covered_until: 2027" in draft.files["pack.yaml"]
    again = run("calendar", "load", "after_sales", "cn_workdays", str(notice))
    assert again.exit_code == 0 and "no change" in again.output
    engine.dispose()


def test_load_refuses_a_bad_file_by_line_and_an_unknown_calendar(
    database: str, tmp_path: Path
) -> None:
    run("db", "upgrade")
    run("publish", str(PACK))
    bad = tmp_path / "bad.txt"
    bad.write_text("2027-01-01 休\n2027-13-01 休\n", encoding="utf-8")
    refused = run("calendar", "load", "after_sales", "cn_workdays", str(bad))
    assert refused.exit_code == 1 and f"{bad}:2: not a date" in refused.stderr
    good = tmp_path / "good.txt"
    good.write_text(SCHEDULE, encoding="utf-8")
    unknown = run("calendar", "load", "after_sales", "cn_workday", str(good))
    assert unknown.exit_code == 1 and "no calendar 'cn_workday'" in unknown.stderr


def test_the_scheduler_status_lists_the_published_calendars_that_run_out(database: str) -> None:
    from datetime import UTC, datetime

    from workflows.calendardraft import published_coverage

    run("db", "upgrade")
    run("publish", str(PACK))
    status = run("scheduler", "--status", "--json")
    assert status.exit_code == 0 and isinstance(
        json.loads(status.output)["calendar_warnings"], list
    )
    engine = make_engine(database)
    with make_session_factory(engine)() as session:
        (warning,) = published_coverage(session, datetime(2026, 11, 15, tzinfo=UTC))
        assert warning.as_json() == {
            "pack": "after_sales",
            "calendar": "cn_workdays",
            "where": f"workflows/after_sales/pack.yaml:{warning.line}",
            "year": 2027,
        }
        assert published_coverage(session, datetime(2026, 6, 1, tzinfo=UTC)) == []
    engine.dispose()


SCENARIO = """# A P1 received on a made-up 2027 Spring Festival eve, with the made-up notice loaded.
pack: ..
start: 2027-02-05T15:00:00+08:00
until: 2027-02-17T09:00:00+08:00
steps:
  - at: 2027-02-05T15:00:00+08:00
    create:
      ref: fridge
      type: feedback
      priority: P1
      channel: wechat
      fields: {customer_no: C-2027, contact: "13900002027", description: 冷藏室不制冷}
expect:
  records:
    fridge:
      deadlines:
        respond: 2027-02-13T10:00:00+08:00   # Fri Feb 5 3 h + the 班 Saturday 1 h
        resolve: 2027-02-16T15:00:00+08:00   # 3 h + Sat 9 h + Mon 9 h + Tue 6 h
"""


def test_a_loaded_year_moves_deadlines_in_virtual_time(tmp_path: Path) -> None:
    from engine.time.officialdays import read_schedule
    from workflows.calendars import apply_schedule
    from workflows.loader import load_pack

    folder = tmp_path / "after_sales"
    shutil.copytree(PACK, folder, ignore=shutil.ignore_patterns("scenarios"))
    (folder / "scenarios").mkdir()
    scenario = folder / "scenarios" / "spring_2027.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    before = run("simulate", str(scenario))  # the package's guesses: Feb 5 off, Feb 11 back
    assert before.exit_code == 1 and "2027-02-11" in before.output
    schedule = read_schedule("2027.txt", SCHEDULE.encode())
    for name, text in apply_schedule(load_pack(folder), "cn_workdays", schedule).items():
        (folder / name).write_text(text, encoding="utf-8")
    after = run("simulate", str(scenario))
    assert after.exit_code == 0, after.output
