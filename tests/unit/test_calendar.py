"""Business calendars and working-time arithmetic (R-2.4 SLA by urgency, R-2.8 calendars)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from engine.time.calendar import BusinessCalendar, CalendarError, validate_config
from engine.time.durations import parse_duration

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = 3600
CN_WORKDAYS = {
    "timezone": "Asia/Shanghai",
    "hours": {"mon-fri": "09:00-18:00"},
    "holidays": {"country": "CN"},
}


def cn_workdays(**changes: object) -> BusinessCalendar:
    return BusinessCalendar.from_config("cn_workdays", {**CN_WORKDAYS, **changes})


def sh(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def standard_day(day: date) -> list[tuple[datetime, datetime]]:
    return [(sh(day.year, day.month, day.day, 9), sh(day.year, day.month, day.day, 18))]


def within(duration: str, calendar: BusinessCalendar) -> float:
    return parse_duration(duration).seconds(calendar.working_day_seconds)


# --- SLA targets on the cn_workdays calendar (R-2.8) ---------------------------------


def test_p1_respond_four_working_hours_from_friday_afternoon_lands_monday_morning() -> None:
    cal = cn_workdays()
    assert cal.add(sh(2026, 3, 13, 16), within("4 working hours", cal)) == sh(2026, 3, 16, 11)


def test_the_standard_working_day_is_nine_hours() -> None:
    assert cn_workdays().working_day_seconds == 9 * HOUR


def test_twenty_seven_working_hours_skip_the_weekend() -> None:
    # Thu 10:00: 8 h Thu, 9 h Fri, 9 h Mon, 1 h Tue
    assert cn_workdays().add(sh(2026, 3, 12, 10), 27 * HOUR) == sh(2026, 3, 17, 10)


def test_p1_resolve_three_working_days_skips_weekend() -> None:
    cal = cn_workdays()
    assert cal.add(sh(2026, 3, 13, 10), within("3 working days", cal)) == sh(2026, 3, 18, 10)


def test_p2_respond_eight_hours_and_resolve_five_working_days() -> None:
    cal = cn_workdays()
    start = sh(2026, 3, 16, 9)  # a Monday
    assert cal.add(start, within("8 working hours", cal)) == sh(2026, 3, 16, 17)
    assert cal.add(start, within("5 working days", cal)) == sh(2026, 3, 20, 18)


def test_national_day_holiday_is_skipped_and_the_make_up_saturday_counts() -> None:
    # Oct 1-7 2026 closed; Sat Oct 10 is a make-up working day (调休)
    cal = cn_workdays()
    assert all(not cal.is_working_day(date(2026, 10, day)) for day in range(1, 8))
    assert cal.is_working_day(date(2026, 10, 10))
    # Wed Sep 30 15:00: 3 h, then Thu Oct 8 9 h, Fri Oct 9 9 h, Sat Oct 10 6 h
    assert cal.add(sh(2026, 9, 30, 15), 27 * HOUR) == sh(2026, 10, 10, 15)


def test_make_up_saturday_february_28_counts_as_a_standard_day() -> None:
    cal = cn_workdays()
    assert cal.working_intervals(date(2026, 2, 28)) == standard_day(date(2026, 2, 28))
    assert cal.add(sh(2026, 2, 27, 17), 2 * HOUR) == sh(2026, 2, 28, 10)


def test_spring_festival_runs_from_make_up_saturday_to_the_next_working_tuesday() -> None:
    # Sat Feb 14 is worked; Feb 15-23 are off (Mon Feb 23 substituted from Sat Feb 28)
    assert cn_workdays().add(sh(2026, 2, 14, 17), 2 * HOUR) == sh(2026, 2, 24, 10)


def test_make_up_sunday_september_20_counts() -> None:
    assert cn_workdays().is_working_day(date(2026, 9, 20))
    assert not cn_workdays().is_working_day(date(2026, 9, 27))


def test_a_record_received_on_sunday_starts_counting_monday_at_nine() -> None:
    cal = cn_workdays()
    assert cal.add(sh(2026, 3, 15, 14), 4 * HOUR) == sh(2026, 3, 16, 13)
    assert cal.working_seconds_between(sh(2026, 3, 15, 14), sh(2026, 3, 16, 9)) == 0


def test_a_record_received_after_hours_starts_counting_the_next_morning() -> None:
    assert cn_workdays().add(sh(2026, 3, 16, 20), HOUR) == sh(2026, 3, 17, 10)


def test_a_deadline_at_the_end_of_the_day_is_18_00_not_the_next_morning() -> None:
    cal = cn_workdays()
    assert cal.add(sh(2026, 3, 16, 9), 9 * HOUR) == sh(2026, 3, 16, 18)
    assert cal.add(sh(2026, 3, 16, 14), 4 * HOUR) == sh(2026, 3, 16, 18)
    assert cal.add(sh(2026, 3, 16, 18), HOUR) == sh(2026, 3, 17, 10)


def test_adding_zero_returns_the_start_even_outside_working_time() -> None:
    sunday = sh(2026, 3, 15, 14)
    assert cn_workdays().add(sunday, 0) == sunday


def test_results_are_in_the_calendars_zone_whatever_the_start_zone() -> None:
    result = cn_workdays().add(datetime(2026, 3, 16, 1, tzinfo=UTC), HOUR)  # 09:00 in Shanghai
    assert result == sh(2026, 3, 16, 10) and result.tzinfo == SHANGHAI


def test_naive_datetimes_and_negative_amounts_are_refused() -> None:
    cal = cn_workdays()
    with pytest.raises(ValueError, match="naive"):
        cal.add(datetime(2026, 3, 16, 9), HOUR)
    with pytest.raises(ValueError, match="naive"):
        cal.working_seconds_between(datetime(2026, 3, 16, 9), sh(2026, 3, 17))
    with pytest.raises(ValueError, match="negative"):
        cal.add(sh(2026, 3, 16, 9), -1)


def test_add_each_answers_a_warning_and_a_deadline_from_one_start_as_add_does() -> None:
    cal = cn_workdays()
    friday_five = sh(2026, 3, 13, 17)
    assert cal.add_each(friday_five, [0.8 * HOUR, HOUR, 10 * HOUR]) == [
        sh(2026, 3, 13, 17, 48),
        sh(2026, 3, 13, 18),
        sh(2026, 3, 16, 18),  # an interval's end, as add answers
    ]
    assert cal.add_each(friday_five, []) == []


def test_add_each_hands_what_the_index_cannot_answer_to_add() -> None:
    """Zero, an amount past the indexed years, a start in a year not yet indexed or with a
    tzinfo of another kind: each answer is add's, and add's refusals stay refusals."""
    cal = cn_workdays()
    sunday = sh(2026, 3, 15, 14)
    assert cal.add_each(sunday, [0, HOUR, 400 * 9 * HOUR]) == [
        sunday,
        sh(2026, 3, 16, 10),
        cn_workdays().add(sunday, 400 * 9 * HOUR),
    ]
    later = datetime(2031, 3, 14, 1, tzinfo=UTC)  # 2031 not yet indexed
    assert cal.add_each(later, [HOUR]) == [cn_workdays().add(later, HOUR)]
    other_kind = datetime(2026, 3, 16, 9, tzinfo=_EightHours())
    assert cal.add_each(other_kind, [HOUR, 2 * HOUR]) == [sh(2026, 3, 16, 10), sh(2026, 3, 16, 11)]
    with pytest.raises(ValueError, match="naive"):
        cal.add_each(datetime(2026, 3, 16, 9), [HOUR])
    with pytest.raises(ValueError, match="negative"):
        cal.add_each(sh(2026, 3, 16, 9), [HOUR, -1])


def test_deadlines_at_the_indexed_years_end_match_a_wider_index() -> None:
    """Issue #24 item 3: the index ends its cumulative array with padding so a target's search
    window needs no length test. Starts in the last working days of the only indexed year, with
    targets up to its last working instant (answered from that index alone) and past it
    (which widens it), answer as a calendar indexed a year further."""
    wide = cn_workdays()
    wide.add(sh(2027, 6, 1), HOUR)
    wide.add(sh(2026, 6, 1), HOUR)  # 2026 and 2027
    for day in (21, 25, 29, 30, 31):
        start = sh(2026, 12, day, 10)
        left = wide.working_seconds_between(start, sh(2027, 1, 1))
        amounts = [left * m / 20 for m in range(1, 21)]
        narrow = cn_workdays()
        narrow.add(sh(2026, 6, 1), HOUR)  # 2026 only
        assert narrow.add_each(start, amounts) == wide.add_each(start, amounts)
        assert [narrow.add(start, a) for a in amounts] == [wide.add(start, a) for a in amounts]
        assert narrow.add(start, amounts[-1]) == sh(2026, 12, 31, 18)
        assert narrow.add_each(start, [left + HOUR]) == [sh(2027, 1, 4, 10)]


class _EightHours(tzinfo):
    """UTC+8 written by hand: neither a ZoneInfo nor a datetime.timezone."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=8)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "UTC+08"


def test_working_seconds_between_counts_only_working_time() -> None:
    cal = cn_workdays()
    assert cal.working_seconds_between(sh(2026, 3, 13, 16), sh(2026, 3, 16, 11)) == 4 * HOUR
    assert cal.working_seconds_between(sh(2026, 3, 16, 11), sh(2026, 3, 13, 16)) == 0
    assert cal.working_seconds_between(sh(2026, 9, 30, 9), sh(2026, 10, 9, 0)) == 2 * 9 * HOUR


def test_working_seconds_between_is_the_inverse_of_add() -> None:
    cal = cn_workdays()
    rng = random.Random(2026)
    for _ in range(300):
        start = sh(2025, 6, 1) + timedelta(seconds=rng.randrange(0, 2 * 365 * 86400))
        amount = rng.randrange(1, 40 * 9 * HOUR)
        end = cal.add(start, amount)
        assert cal.working_seconds_between(start, end) == pytest.approx(amount, abs=1e-3)
        assert cal.add(start, cal.working_seconds_between(start, end)) == end


def test_the_index_grows_backwards_and_forwards_across_years() -> None:
    cal = cn_workdays()
    assert cal.add(sh(2026, 12, 31, 17), HOUR) == sh(2026, 12, 31, 18)
    # Jan 1 and Jan 2 2026 are off, Sat Jan 3 is weekend, Sun Jan 4 is a make-up day
    assert cal.add(sh(2025, 12, 31, 17), 2 * HOUR) == sh(2026, 1, 4, 10)
    assert cal.add(sh(2024, 12, 31, 17), HOUR) == sh(2024, 12, 31, 18)


def test_once_a_year_is_indexed_add_and_between_never_walk_days_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cal = cn_workdays()
    cal.add(sh(2026, 1, 1), HOUR)
    monkeypatch.setattr(cal, "_schedule", lambda day: pytest.fail(f"walked to {day}"))
    rng = random.Random(1)
    for _ in range(1000):
        start = sh(2026, 1, 1) + timedelta(seconds=rng.randrange(300 * 86400))
        cal.working_seconds_between(start, cal.add(start, 27 * HOUR))


# --- 24x7 and DST ---------------------------------------------------------------------------


def test_a_24x7_calendar_equals_plain_addition() -> None:
    cal = BusinessCalendar.always()
    rng = random.Random(7)
    for _ in range(200):
        start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(3 * 365 * 86400))
        amount = rng.randrange(1, 400 * 86400)
        assert cal.add(start, amount) == start + timedelta(seconds=amount)
        assert cal.working_seconds_between(start, start + timedelta(seconds=amount)) == amount


def test_a_24x7_calendar_in_a_dst_zone_still_equals_plain_addition() -> None:
    cal = BusinessCalendar.always(tz="Europe/Berlin")
    start = datetime(2026, 3, 28, 12, tzinfo=BERLIN)
    assert cal.add(start, 24 * HOUR) == start.astimezone(UTC) + timedelta(hours=24)
    [(midnight, next_midnight)] = cal.working_intervals(date(2026, 3, 29))
    # same-zone datetimes subtract as wall time in Python, so compare instants
    assert next_midnight.timestamp() - midnight.timestamp() == 23 * HOUR


def test_working_hours_follow_local_time_across_a_dst_change() -> None:
    cal = BusinessCalendar.from_config(
        "berlin", {"timezone": "Europe/Berlin", "hours": {"mon-fri": "09:00-18:00"}}
    )
    # clocks go forward on Sunday 2026-03-29: Friday is CET (+1), Monday is CEST (+2)
    result = cal.add(datetime(2026, 3, 27, 17, tzinfo=BERLIN), 2 * HOUR)
    assert result == datetime(2026, 3, 30, 10, tzinfo=BERLIN)
    assert result.utcoffset() == timedelta(hours=2)


def test_a_whole_day_shift_is_23_hours_in_spring_and_25_in_autumn() -> None:
    cal = BusinessCalendar.from_config(
        "sundays", {"timezone": "Europe/Berlin", "hours": {"sun": "00:00-24:00"}}
    )

    def weekend(month: int, saturday: int) -> float:
        saturday_midnight = datetime(2026, month, saturday, tzinfo=BERLIN)
        return cal.working_seconds_between(saturday_midnight, saturday_midnight + timedelta(days=2))

    assert (weekend(3, 28), weekend(10, 24)) == (23 * HOUR, 25 * HOUR)


# --- extra dates, schedules ----------------------------------------------------------------


def test_extra_closed_and_working_dates_override_weekly_hours_and_holidays() -> None:
    cal = cn_workdays(
        closed=[date(2026, 12, 31), "2026-10-10"], working=["2026-12-26", date(2026, 10, 1)]
    )
    assert not cal.is_working_day(date(2026, 12, 31))  # a Thursday
    assert not cal.is_working_day(date(2026, 10, 10))  # closed beats the make-up day
    assert cal.working_intervals(date(2026, 12, 26)) == standard_day(date(2026, 12, 26))
    assert cal.is_working_day(date(2026, 10, 1))  # working beats the public holiday
    assert cal.add(sh(2026, 12, 30, 17), 2 * HOUR) == sh(2027, 1, 4, 10)


def test_several_ranges_per_day_and_saturday_mornings() -> None:
    cal = BusinessCalendar.from_config(
        "shop",
        {
            "timezone": "Asia/Shanghai",
            "hours": {"mon,tue,wed,thu,fri": "09:00-12:00, 13:00-18:00", "sat": "09:00-12:00"},
        },
    )
    assert cal.working_day_seconds == 8 * HOUR
    assert [start.hour for start, _ in cal.working_intervals(date(2026, 3, 16))] == [9, 13]
    assert cal.add(sh(2026, 3, 16, 11), 2 * HOUR) == sh(2026, 3, 16, 14)
    assert cal.add(sh(2026, 3, 20, 17), 2 * HOUR) == sh(2026, 3, 21, 10)


def test_make_up_days_use_the_most_common_weekday_schedule() -> None:
    cal = cn_workdays(hours={"mon-thu": "09:00-18:00", "fri": "09:00-15:00"})
    assert cal.working_day_seconds == 9 * HOUR
    assert cal.working_intervals(date(2026, 10, 10)) == standard_day(date(2026, 10, 10))


def test_a_day_range_may_wrap_around_the_weekend() -> None:
    cal = BusinessCalendar.from_config(
        "weekend_desk",
        {
            "timezone": "UTC",
            "hours": {"fri-mon": "10:00-16:00"},
        },
    )
    assert [cal.is_working_day(date(2026, 3, day)) for day in range(16, 23)] == [
        True,
        False,
        False,
        False,
        True,
        True,
        True,
    ]


def test_ties_for_the_standard_day_go_to_the_earliest_weekday() -> None:
    cal = BusinessCalendar.from_config(
        "tie",
        {
            "timezone": "UTC",
            "hours": {"mon": "08:00-12:00", "tue": "09:00-18:00"},
        },
    )
    assert cal.working_day_seconds == 4 * HOUR


def test_a_calendar_without_working_time_for_ten_years_stops_searching() -> None:
    mondays = [date(2026, 1, 5) + timedelta(weeks=week) for week in range(53 * 12)]
    cal = BusinessCalendar.from_config(
        "never",
        {
            "timezone": "UTC",
            "hours": {"mon": "09:00-10:00"},
            "closed": mondays,
        },
    )
    with pytest.raises(ValueError, match="no working time"):
        cal.add(datetime(2026, 1, 1, tzinfo=UTC), HOUR)


# --- config errors (R-2.8) ------------------------------------------------------------------


def errors_of(**changes: object) -> list[CalendarError]:
    return validate_config({**CN_WORKDAYS, **changes})


@pytest.mark.parametrize(
    ("changes", "path", "message"),
    [
        ({"timezone": "Asia/Shangai"}, ("timezone",), "unknown timezone 'Asia/Shangai'"),
        ({"timezone": None}, ("timezone",), "missing required key 'timezone'"),
        ({"hours": None}, ("hours",), "missing required key 'hours'"),
        ({"hours": {}}, ("hours",), "no working hours given"),
        ({"hours": {"mon-fry": "09:00-18:00"}}, ("hours", "mon-fry"), "unknown day 'fry'"),
        ({"hours": {"mon-fri": "09:00-18:00", "fri": "09:00-12:00"}}, ("hours", "fri"), "twice"),
        ({"hours": {"mon,mon": "09:00-18:00"}}, ("hours", "mon,mon"), "'mon' is given twice"),
        ({"hours": {"mon-fri": "9-18"}}, ("hours", "mon-fri"), "bad time range '9-18'"),
        ({"hours": {"mon-fri": "18:00-09:00"}}, ("hours", "mon-fri"), "ends before it starts"),
        ({"hours": {"mon-fri": "25:00-26:00"}}, ("hours", "mon-fri"), "bad time range '25:00"),
        ({"hours": {"mon-fri": "09:00-12:00, 11:00-13:00"}}, ("hours", "mon-fri"), "overlap"),
        ({"hours": {"mon-fri": "09:00-18:00, 12:00-13:00"}}, ("hours", "mon-fri"), "overlap"),
        ({"hours": {"mon-fri": None}}, ("hours", "mon-fri"), "working hours must be text"),
        ({"holidays": {"country": "XX"}}, ("holidays", "country"), "unknown holiday country 'XX'"),
        ({"holidays": {"country": "CN", "subdivision": "ZZ"}}, ("holidays", "subdivision"), "ZZ"),
        ({"holidays": {"country": "CN", "subdiv": "BJ"}}, ("holidays", "subdiv"), "unknown key"),
        ({"holidays": "CN"}, ("holidays",), "needs a 'country'"),
        ({"closed": ["2026-02-30"]}, ("closed", 0), "bad date '2026-02-30'"),
        ({"closed": [date(2026, 1, 1), "soon"]}, ("closed", 1), "bad date 'soon'"),
        ({"working": [datetime(2026, 1, 1, 9)]}, ("working", 0), "bad date"),
        ({"working": "2026-12-26"}, ("working",), "must be a list of dates"),
        ({"holiday": {"country": "CN"}}, ("holiday",), "unknown key 'holiday'"),
    ],
)
def test_every_config_error_names_its_path_and_how_to_fix_it(
    changes: dict[str, object], path: tuple[str | int, ...], message: str
) -> None:
    errors = errors_of(**changes)
    assert [error.path for error in errors] == [path]
    assert message in errors[0].message and errors[0].hint
    with pytest.raises(CalendarError) as caught:
        cn_workdays(**changes)
    assert caught.value.path == path


@pytest.mark.parametrize(
    ("changes", "hint"),
    [
        ({"timezone": "Asia/Shangai"}, "did you mean 'Asia/Shanghai'?"),
        ({"timezone": "utc"}, "did you mean 'UTC'?"),
        ({"hours": {"mon-fry": "09:00-18:00"}}, "did you mean 'fri'?"),
        ({"holidays": {"country": "CNN"}}, "did you mean 'CN'?"),
        ({"holidays": {"country": "CN", "subdiv": "BJ"}}, "did you mean 'subdivision'?"),
        ({"holiday": {"country": "CN"}}, "did you mean 'holidays'?"),
        ({"holidays": {"country": "US", "subdivision": "CAL"}}, "did you mean 'CA'?"),
    ],
)
def test_misspellings_get_a_did_you_mean_hint(changes: dict[str, object], hint: str) -> None:
    assert [error.hint for error in errors_of(**changes)] == [hint]


def test_validate_config_reports_all_problems_and_from_config_raises_the_first() -> None:
    config = {"timezone": "Mars/Base", "hours": {"mon-fri": "9-18"}, "closed": ["tomorrow"]}
    assert [error.path for error in validate_config(config)] == [
        ("timezone",),
        ("hours", "mon-fri"),
        ("closed", 0),
    ]
    with pytest.raises(CalendarError) as caught:
        BusinessCalendar.from_config("bad", config)
    assert caught.value.path == ("timezone",)
    assert str(caught.value) == "timezone: unknown timezone 'Mars/Base'"


def test_a_config_that_is_not_a_mapping_is_one_error_at_the_root() -> None:
    assert [error.path for error in validate_config(["timezone"])] == [()]


def test_a_valid_config_has_no_errors_and_accepts_country_case_and_subdivisions() -> None:
    assert validate_config(CN_WORKDAYS) == []
    assert errors_of(holidays={"country": "us", "subdivision": "CA"}) == []
    assert errors_of(hours={"mon-sun": "00:00-24:00"}) == []
