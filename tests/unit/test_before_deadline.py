"""`before: 1 working day` of a deadline counts back on a business calendar (R-2.8, R-3.2)."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.time.calendar import BusinessCalendar
from tests.conftest import SHANGHAI

OFFICE = BusinessCalendar.from_config(
    "office", {"timezone": "Asia/Shanghai", "hours": {"mon-fri": "09:00-18:00"}}
)
DAY = 9 * 3600.0


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("deadline", "seconds", "expected"),
    [
        pytest.param(at(25, 18), DAY, at(24, 18), id="end-of-day-is-the-day-before-end"),
        pytest.param(at(25, 14), DAY, at(24, 14), id="mid-day"),
        pytest.param(at(30, 10), DAY, at(27, 10), id="over-the-weekend"),
        pytest.param(at(30, 9), DAY, at(26, 18), id="monday-start-is-thursday-end"),
        pytest.param(at(25, 14), 2 * 3600.0, at(25, 12), id="hours"),
        pytest.param(at(25, 14), 0.0, at(25, 14), id="nothing"),
    ],
)
def test_working_time_before_a_deadline(
    deadline: datetime, seconds: float, expected: datetime
) -> None:
    found = OFFICE.subtract(deadline, seconds)
    assert found == expected
    assert OFFICE.working_seconds_between(found, deadline) == seconds


def test_counting_back_past_new_year_reaches_a_year_not_yet_indexed() -> None:
    """A fresh calendar knows only the deadline's year; it widens back as far as the amount
    needs, answering as one that had indexed both years already."""
    config = {"timezone": "Asia/Shanghai", "hours": {"mon-fri": "09:00-18:00"}}
    fresh = BusinessCalendar.from_config("fresh", config)
    deadline = datetime(2026, 1, 2, 10, tzinfo=SHANGHAI)  # a Friday
    found = fresh.subtract(deadline, 5 * DAY)
    assert found == datetime(2025, 12, 26, 10, tzinfo=SHANGHAI)
    assert OFFICE.working_seconds_between(found, deadline) == 5 * DAY
    warm = BusinessCalendar.from_config("warm", config)
    warm.add(datetime(2024, 1, 1, tzinfo=SHANGHAI), 1)  # 2024 to 2027 indexed beforehand
    again = BusinessCalendar.from_config("again", config)
    later = datetime(2027, 3, 1, 9, tzinfo=SHANGHAI)  # a Monday: 64 weeks back is 2025
    assert again.subtract(later, 320 * DAY) == warm.subtract(later, 320 * DAY)
    assert again.subtract(later, 320 * DAY) == datetime(2025, 12, 5, 18, tzinfo=SHANGHAI)


@pytest.mark.parametrize("seconds", [-1.0, float("nan"), float("inf"), 1e15])
def test_an_amount_no_calendar_can_count_back_is_refused(seconds: float) -> None:
    with pytest.raises(ValueError, match="seconds must be|years hold"):
        OFFICE.subtract(at(25, 14), seconds)
