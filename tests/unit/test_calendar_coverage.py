"""Issue #25 item 6: calendars warn before their holiday data runs out, and a year's official
schedule (text, CSV or iCalendar) is read with every bad line reported by number (R-2.8).

Dates in these tests are made up: they only have the shape of a State Council notice.
"""

from __future__ import annotations

import difflib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from engine.time.coverage import coverage_gap, package_covered_until
from engine.time.officialdays import ScheduleInvalid, read_schedule
from workflows.calendars import CalendarLoadError, apply_schedule, coverage_warnings
from workflows.loader import load_pack, load_pack_from_files
from workflows.validate import pack_errors

PACK = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"
CN = {
    "timezone": "Asia/Shanghai",
    "hours": {"mon-fri": "09:00-18:00"},
    "holidays": {"country": "CN"},
}
NOV_15 = datetime(2026, 11, 15, 12, tzinfo=UTC)
JUNE_1 = datetime(2026, 6, 1, tzinfo=UTC)


def test_the_installed_package_knows_chinas_make_up_days_to_a_known_year() -> None:
    until = package_covered_until("CN")
    assert until is not None and until >= 2026
    assert package_covered_until("DE") is None  # rule-based holidays: nothing runs out


def test_mid_november_warns_of_the_year_the_package_does_not_cover() -> None:
    until = package_covered_until("CN")
    assert until is not None
    gap = coverage_gap(CN, NOV_15.replace(year=until))
    assert gap is not None and gap.year == until + 1 and gap.covered_until == until
    assert gap.country == "CN" and f"{until + 1}年部分节假日安排" in gap.notice


def test_june_is_far_enough_from_the_new_year() -> None:
    until = package_covered_until("CN")
    assert until is not None
    assert coverage_gap(CN, JUNE_1.replace(year=until)) is None


def test_the_horizon_is_read_in_the_calendars_timezone() -> None:
    until = package_covered_until("CN") or 2026
    sixty_days_before = datetime(until, 11, 1, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    assert coverage_gap(CN, sixty_days_before) is None
    assert coverage_gap(CN, sixty_days_before.replace(minute=59, hour=16)) is not None


def test_a_declared_year_covers_and_a_country_without_yearly_notices_never_warns() -> None:
    until = package_covered_until("CN") or 2026
    assert coverage_gap({**CN, "covered_until": until + 1}, NOV_15.replace(year=until)) is None
    german = {**CN, "holidays": {"country": "DE"}}
    assert coverage_gap(german, datetime(2099, 12, 1, tzinfo=UTC)) is None
    assert coverage_gap({**CN, "holidays": None}, NOV_15) is None


def test_the_warning_names_the_calendar_its_line_and_the_lines_to_add() -> None:
    pack = load_pack(PACK)
    (warning,) = coverage_warnings(pack, NOV_15)
    line = 1 + pack.files["pack.yaml"].splitlines().index("  cn_workdays:")
    file = f"{PACK.as_posix()}/pack.yaml"
    assert warning.calendar == "cn_workdays" and (warning.file, warning.line) == (file, line)
    text = str(warning)
    assert text.startswith(f"{file}:{line}: warning: calendar 'cn_workdays'")
    assert "    closed:\n      - 2027-MM-DD" in text and "    working:\n      - 2027-MM-DD" in text
    assert "    covered_until: 2027" in text
    assert "careloop calendar load after_sales cn_workdays FILE" in text
    assert coverage_warnings(pack, JUNE_1) == []


def test_the_text_format_reads_days_ranges_and_csv() -> None:
    text = "# 2027 (made up)\n2027-01-01 休\n2027-02-06..2027-02-08 休  # spring\n2027-02-14 班\n"
    schedule = read_schedule("2027.txt", text.encode())
    assert schedule.closed == {
        date(2027, 1, 1),
        date(2027, 2, 6),
        date(2027, 2, 7),
        date(2027, 2, 8),
    }
    assert schedule.working == {date(2027, 2, 14)} and schedule.years == [2027]
    csv = read_schedule("2027.csv", b"date,kind\n2027-01-01,closed\n2027-02-14,working\n")
    assert csv.closed == {date(2027, 1, 1)} and csv.working == {date(2027, 2, 14)}


def test_every_bad_line_of_a_text_file_is_reported_with_its_number() -> None:
    text = "2027-01-01 休\nnonsense\n2027-02-30 休\n2027-01-01 班\n2027-03-09..2027-03-01 休\n"
    with pytest.raises(ScheduleInvalid) as caught:
        read_schedule("2027.txt", text.encode())
    lines = [(e.line, e.message) for e in caught.value.errors]
    assert [n for n, _ in lines] == [2, 3, 4, 5]
    assert "cannot read 'nonsense'" in lines[0][1] and "not a date" in lines[1][1]
    assert "both 休 and 班" in lines[2][1] and "backwards" in lines[3][1]
    with pytest.raises(ScheduleInvalid, match="nothing to load"):
        read_schedule("empty.txt", b"# nothing yet\n")


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//example//holidays//EN
BEGIN:VEVENT
UID:a@example
DTSTART;VALUE=DATE:20270206
DTEND;VALUE=DATE:20270209
SUMMARY:春节 休
END:VEVENT
BEGIN:VEVENT
UID:b@example
DTSTART;VALUE=DATE:20270214
SUMMARY:春节 调休上班
END:VEVENT
BEGIN:VEVENT
UID:c@example
DTSTART;VALUE=DATE:20270405
CATEGORIES:holiday
SUMMARY:Qingming
END:VEVENT
END:VCALENDAR
"""


def test_an_icalendar_feed_gives_days_off_and_make_up_days() -> None:
    schedule = read_schedule("feed.ics", ICS.encode())
    assert schedule.closed == {
        date(2027, 2, 6),
        date(2027, 2, 7),
        date(2027, 2, 8),
        date(2027, 4, 5),
    }
    assert schedule.working == {date(2027, 2, 14)}  # 班 wins over the 休 of 调休


def test_a_bad_icalendar_event_is_reported_at_its_begin_line() -> None:
    bad = ICS.replace("SUMMARY:Qingming", "SUMMARY:Meeting").replace("CATEGORIES:holiday\n", "")
    bad = bad.replace("DTSTART;VALUE=DATE:20270214", "DTSTART:20270214T090000Z")
    with pytest.raises(ScheduleInvalid) as caught:
        read_schedule("feed.ics", bad.encode())
    assert [(e.line, e.message) for e in caught.value.errors] == [
        (10, "event '春节 调休上班' is not an all-day event"),
        (15, "event 'Meeting' says neither 休 nor 班"),
    ]
    with pytest.raises(ScheduleInvalid, match="line 1: not an iCalendar file"):
        read_schedule("feed.ics", b"BEGIN:VCALENDAR\nnonsense")


def test_a_loaded_year_adds_its_days_and_silences_the_warning() -> None:
    pack = load_pack(PACK)
    schedule = read_schedule("2027.txt", b"2027-01-01 \xe4\xbc\x91\n2027-02-14 \xe7\x8f\xad\n")
    files = apply_schedule(pack, "cn_workdays", schedule)
    diff = "".join(
        difflib.unified_diff(
            pack.files["pack.yaml"].splitlines(True), files["pack.yaml"].splitlines(True)
        )
    )
    added = [
        line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")
    ]
    assert added[:2] == ["+    closed:", "+      - 2027-01-01"]
    assert "+    working:" in added and "+      - 2027-02-14" in added
    assert added[-1] == "+    covered_until: 2027"
    # the package's own 2027 guesses that the notice does not give off become working days
    assert "+      - 2027-10-01" in added
    loaded = load_pack_from_files("after_sales", files, "workflows/after_sales")
    assert pack_errors(loaded) == []
    assert coverage_warnings(loaded, NOV_15) == []
    again = apply_schedule(loaded, "cn_workdays", schedule)
    assert again == files  # loading the same year twice changes nothing


@pytest.mark.parametrize("name", ["schedule-example.txt", "schedule-example.ics"])
def test_the_documented_examples_read_and_are_marked_as_made_up(name: str) -> None:
    path = PACK.parents[1] / "docs" / "examples" / name
    text = path.read_text(encoding="utf-8")
    assert "EXAMPLE ONLY" in text and "made-up" in text.lower().replace("made up", "made-up")
    schedule = read_schedule(name, path.read_bytes())
    assert schedule.years == [2099] and date(2099, 1, 31) in schedule.working


def test_a_malformed_calendar_neither_crashes_the_warning_nor_takes_a_load() -> None:
    until = package_covered_until("CN") or 2026
    assert coverage_gap({**CN, "covered_until": "soon"}, NOV_15.replace(year=until)) is not None
    pack = load_pack(PACK)
    text = pack.files["pack.yaml"].replace(
        "    holidays: {country: CN}\n", "    holidays: {country: CN}\n    closed: 2027-01-01\n", 1
    )
    broken = load_pack_from_files("after_sales", {**pack.files, "pack.yaml": text}, "w")
    schedule = read_schedule("2027.txt", "2027-01-01 休\n".encode())
    with pytest.raises(CalendarLoadError, match="cn_workdays.closed is not a list"):
        apply_schedule(broken, "cn_workdays", schedule)
    with pytest.raises(
        CalendarLoadError, match="no calendar 'nope' \\(known: 24x7, cn_workdays\\)"
    ):
        apply_schedule(pack, "nope", schedule)
