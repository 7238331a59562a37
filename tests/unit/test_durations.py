"""Durations as pack authors write them (R-2.4 SLA targets, R-2.8 working time)."""

from __future__ import annotations

import pytest

from engine.time.durations import Duration, DurationError, parse_duration

GENERIC_HINT = "write '24h', '30m', '4 working hours' or '3 working days'"


@pytest.mark.parametrize(
    ("text", "amount", "unit", "working"),
    [
        ("15m", 15, "minutes", False),
        ("15 min", 15, "minutes", False),
        ("15 mins", 15, "minutes", False),
        ("15 minute", 15, "minutes", False),
        ("15 minutes", 15, "minutes", False),
        ("2h", 2, "hours", False),
        ("2 hr", 2, "hours", False),
        ("2 hrs", 2, "hours", False),
        ("2 hour", 2, "hours", False),
        ("2 hours", 2, "hours", False),
        ("1.5h", 1.5, "hours", False),
        ("1d", 1, "days", False),
        ("3 day", 3, "days", False),
        ("3 days", 3, "days", False),
        ("4 working hours", 4, "hours", True),
        ("4 working hour", 4, "hours", True),
        ("4 working h", 4, "hours", True),
        ("3 working days", 3, "days", True),
        ("1 working day", 1, "days", True),
        ("3 working d", 3, "days", True),
        ("90 working minutes", 90, "minutes", True),
        ("2小时", 2, "hours", False),
        ("2个小时", 2, "hours", False),
        ("3个工作日", 3, "days", True),
        ("4工作小时", 4, "hours", True),
        ("15分钟", 15, "minutes", False),
        ("1天", 1, "days", False),
    ],
)
def test_every_accepted_spelling_parses_to_amount_unit_and_working_flag(
    text: str, amount: float, unit: str, working: bool
) -> None:
    assert parse_duration(text) == Duration(amount, unit, working, text)


@pytest.mark.parametrize(
    ("text", "amount", "unit", "working"),
    [
        ("  4   Working   HOURS ", 4, "hours", True),
        ("4WORKING HOURS", 4, "hours", True),
        ("\t2H\n", 2, "hours", False),
        ("3 Working\tDays", 3, "days", True),
    ],
)
def test_case_and_whitespace_do_not_matter_and_the_original_text_is_kept(
    text: str, amount: float, unit: str, working: bool
) -> None:
    assert parse_duration(text) == Duration(amount, unit, working, text)


def test_wall_durations_convert_to_seconds_with_24_hour_days() -> None:
    assert parse_duration("15m").seconds() == 900
    assert parse_duration("1.5h").seconds() == 5400
    assert parse_duration("2 days").seconds() == 2 * 86400
    assert parse_duration("2 days").seconds(working_day_seconds=9 * 3600) == 2 * 86400


def test_working_hours_and_minutes_convert_without_a_calendar() -> None:
    # P1 respond within 4 working hours, P2 within 8
    assert parse_duration("4 working hours").seconds() == 4 * 3600
    assert parse_duration("90 working minutes").seconds() == 5400


def test_working_days_are_multiples_of_the_calendars_standard_day() -> None:
    # P1 resolve within 3 working days on a 9-hour working day
    assert parse_duration("3 working days").seconds(working_day_seconds=9 * 3600) == 27 * 3600


def test_working_days_without_a_day_length_are_refused() -> None:
    with pytest.raises(ValueError, match="working_day_seconds"):
        parse_duration("3 working days").seconds()


def test_a_bare_number_from_yaml_is_refused_with_examples() -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(24)
    assert str(caught.value) == caught.value.message == "duration must be text with a unit, got 24"
    assert caught.value.hint == GENERIC_HINT


def test_a_misspelt_unit_suggests_the_closest_spelling() -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration("3 wrking days")
    assert caught.value.message == "unknown duration unit 'wrking days' in '3 wrking days'"
    assert caught.value.hint == "did you mean 'working days'?"


def test_a_unit_unlike_any_other_gets_the_generic_hint() -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration("3 fortnights")
    assert "'fortnights'" in caught.value.message and "'3 fortnights'" in caught.value.message
    assert caught.value.hint == GENERIC_HINT


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "duration is empty"),
        ("   ", "duration is empty"),
        ("working days", "missing number in duration 'working days'"),
        ("h", "missing number in duration 'h'"),
        ("24", "missing unit in duration '24'"),
        ("0h", "duration '0h' is zero; it must be more than zero"),
        ("0.0 working days", "duration '0.0 working days' is zero; it must be more than zero"),
        ("-2h", "duration '-2h' is negative; it must be more than zero"),
        # a calendar walks its years to a deadline: a typo's zeros would stall every intake
        ("99999999 working days", "duration '99999999 working days' is longer than 3650 days"),
        ("3651 days", "duration '3651 days' is longer than 3650 days"),
        ("87601h", "duration '87601h' is longer than 3650 days"),
    ],
)
def test_missing_zero_or_negative_amounts_are_refused_with_a_hint(text: str, message: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    assert caught.value.message == message
    assert caught.value.hint


def test_a_missing_number_hint_shows_where_the_amount_goes() -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration("working days")
    assert caught.value.hint == "put the amount before the unit, e.g. '3 working days'"
