"""`before: 1 working day` of a deadline counts back on a business calendar (R-2.8, R-3.2)."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.time.beforedeadline import earlier
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
    found = earlier(OFFICE, deadline, seconds)
    assert found == expected
    assert OFFICE.working_seconds_between(found, deadline) == seconds
