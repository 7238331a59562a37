"""Deadlines by binary search agree with a minute-by-minute oracle on every case (R-2.4, R-2.8).

Issue #24 item 3: `BusinessCalendar.add` (and `add_each`, several amounts from one start, as a
clock's warning and deadline) answers from per-year intervals and prefix sums. The
oracle shares none of that: it marks each minute of the span working or not from that minute's
own local wall time (zoneinfo, per minute), the `holidays` package's tables and the config's
own lines, and counts. Thousands of seeded cases per calendar, with starts bunched around
New Year, Spring Festival, the National Day week and Berlin's daylight-saving changes, given in
UTC, in the calendar's zone and in a third zone; make-up working days (调休), extra `closed:` and
`working:` days and a lunch break included. Any disagreement is a bug: 0 wrong.
"""

from __future__ import annotations

import bisect
import random
from array import array
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest

from engine.records.versions import SpecCache
from engine.store.models import PackVersion
from engine.time.calendar import BusinessCalendar
from tests.unit.test_calendar import CN_WORKDAYS, sh
from workflows.validate import checked_source

FIRST, LAST = datetime(2025, 12, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)
ORACLE_END = datetime(2027, 4, 1, tzinfo=UTC)  # results of the last starts land before this
CASES = 2_000  # per calendar
MINUTE = 60
ROOT = Path(__file__).resolve().parents[2]
ELSEWHERE = timezone(timedelta(hours=-5, minutes=-30))  # neither UTC nor the calendar's zone

CALENDARS: dict[str, dict[str, Any]] = {
    "cn_workdays": {
        **CN_WORKDAYS,
        "closed": [date(2026, 12, 31)],
        "working": [date(2026, 12, 26)],  # a Saturday opened by hand
    },
    "cn_lunch_break": {
        "timezone": "Asia/Shanghai",
        "hours": {"mon-fri": "08:30-12:00, 13:30-17:30", "sat": "09:00-12:00"},
        "holidays": {"country": "CN"},
    },
    "de_workdays": {
        "timezone": "Europe/Berlin",
        "hours": {"mon-fri": "09:00-17:00"},
        "holidays": {"country": "DE"},
    },
    "berlin_24x7": {"timezone": "Europe/Berlin", "hours": {"mon-sun": "00:00-24:00"}},
}
# (day, spread in days): where the day rules change, starts are drawn more often
HOT_SPOTS = [
    (date(2025, 12, 31), 5),  # New Year 2026, make-up Sunday Jan 4
    (date(2026, 2, 16), 10),  # Spring Festival 2026, make-up Saturdays Feb 14 and 28
    (date(2026, 3, 29), 3),  # Berlin: clocks forward
    (date(2026, 10, 1), 10),  # National Day week, make-up Saturday Oct 10
    (date(2026, 10, 25), 3),  # Berlin: clocks back
    (date(2026, 12, 31), 5),  # New Year 2027, the hand-closed Dec 31
    (date(2027, 2, 6), 10),  # Spring Festival 2027
]


class MinuteOracle:
    """Working minutes counted one by one from FIRST to ORACLE_END, as a prefix count."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.tz = ZoneInfo(config["timezone"])
        self.weekly = {day: _minutes(text) for day, text in _weekly(config["hours"]).items()}
        self.standard = self.weekly[0]  # every calendar here works Mondays their usual hours
        self.closed = set(config.get("closed", ()))
        self.working = set(config.get("working", ()))
        country = config.get("holidays", {}).get("country")
        self.tables = {
            year: holidays.country_holidays(country, years=(year,), expand=False)
            for year in range(FIRST.year, ORACLE_END.year + 1)
            if country
        }
        self.base = int(FIRST.timestamp()) // MINUTE
        count, self.cum = 0, array("q", [0])
        for minute in range(self.base, int(ORACLE_END.timestamp()) // MINUTE):
            local = datetime.fromtimestamp(minute * MINUTE, self.tz)
            count += (local.hour * 60 + local.minute) in self.day_minutes(local.date())
            self.cum.append(count)

    def day_minutes(self, day: date) -> set[int]:
        """The day's working minutes after local midnight, by the config's own precedence."""
        if day in self.closed:
            return set()
        if day in self.working:
            return self.standard
        table = self.tables.get(day.year)
        if table is not None and day in table:
            return set()
        if table is not None and day in getattr(table, "weekend_workdays", ()):
            return self.standard
        return self.weekly.get(day.weekday(), set())

    def index(self, moment: datetime) -> int:
        return int(moment.timestamp()) // MINUTE - self.base

    def add(self, start: datetime, minutes: int) -> float:
        """The end of the `minutes`-th working minute from `start`, as POSIX seconds."""
        k = bisect.bisect_left(self.cum, self.cum[self.index(start)] + minutes)
        assert k < len(self.cum), "a case outside the oracle's span"
        return float((self.base + k) * MINUTE)

    def subtract(self, moment: datetime, minutes: int) -> float | None:
        """The first instant `minutes` working minutes before `moment` (an interval's end
        rather than the next start, as `add` answers), None before the oracle's span."""
        position = self.cum[self.index(moment)] - minutes
        return (
            None
            if position <= 0
            else float((self.base + bisect.bisect_left(self.cum, position)) * MINUTE)
        )

    def between(self, a: datetime, b: datetime) -> int:
        return (self.cum[self.index(b)] - self.cum[self.index(a)]) * MINUTE


def _weekly(hours: Mapping[str, str]) -> dict[int, str]:
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    days: dict[int, str] = {}
    for key, text in hours.items():
        first, _, last = key.partition("-")
        for day in range(names.index(first), names.index(last or first) + 1):
            days[day] = text
    return days


def _minutes(text: str) -> set[int]:
    minutes: set[int] = set()
    for part in text.split(","):
        start, end = (int(t[:2]) * 60 + int(t[3:]) for t in part.strip().split("-"))
        minutes.update(range(start, end))
    return minutes


def _starts(rng: random.Random, tz: ZoneInfo) -> datetime:
    """A start on a whole minute, in UTC, the calendar's zone or a third zone."""
    if rng.random() < 0.5:
        day, spread = rng.choice(HOT_SPOTS)
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
            minutes=rng.randrange(-spread * 1440, spread * 1440)
        )
    else:
        span = int((LAST - FIRST).total_seconds()) // MINUTE
        moment = FIRST + timedelta(minutes=rng.randrange(span))
    return moment.astimezone(rng.choice((UTC, tz, ELSEWHERE)))


def _long(rng: random.Random) -> int:
    """Minutes of 60 to 120 working hours: a dozen working days or more, still inside the span."""
    return rng.randrange(60 * 60, 120 * 60)


@pytest.mark.parametrize("name", CALENDARS)
def test_add_add_each_subtract_and_between_agree_with_the_minute_oracle_on_every_case(
    name: str,
) -> None:
    config = CALENDARS[name]
    calendar = BusinessCalendar.from_config(name, config)
    oracle = MinuteOracle(config)
    rng = random.Random(f"issue-24-{name}")
    wrong: list[str] = []
    checked = 0
    for _ in range(CASES):
        start = _starts(rng, oracle.tz)
        # up to 120 working hours: more than NEAR intervals ahead, so the target's search goes on
        # beyond the intervals it looks at first
        minutes = rng.choice((1, rng.randrange(1, 60), rng.randrange(60, 60 * 60), _long(rng)))
        # a clock's warning and deadline count from one start: add_each answers each as the
        # oracle and as add, zone included; asked first, it also meets years not yet indexed
        more = [rng.randrange(1, 60 * 60) for _ in range(rng.randrange(1, 4))] + [_long(rng)]
        answers = calendar.add_each(start, [m * MINUTE for m in more])
        for m, each in zip(more, answers, strict=True):
            alone = calendar.add(start, m * MINUTE)
            if each.timestamp() != oracle.add(start, m) or (each, each.tzinfo) != (
                alone,
                alone.tzinfo,
            ):
                wrong.append(f"add_each({start.isoformat()}, {m} min) = {each.isoformat()}")
        result = calendar.add(start, minutes * MINUTE)
        if result.timestamp() != oracle.add(start, minutes):
            wrong.append(f"add({start.isoformat()}, {minutes} min) = {result.isoformat()}")
        checked += 2 + len(more)
        # counting back from a deadline (a follow-up `before:` it): the same amounts
        back, expected = calendar.subtract(start, minutes * MINUTE), oracle.subtract(start, minutes)
        if expected is not None:
            checked += 1
            if back.timestamp() != expected or back.tzinfo is not calendar.tz:
                wrong.append(f"subtract({start.isoformat()}, {minutes} min) = {back.isoformat()}")
        end = _starts(rng, oracle.tz)
        a, b = min(start, end), max(start, end)
        if calendar.working_seconds_between(a, b) != oracle.between(a, b):
            wrong.append(f"between({a.isoformat()}, {b.isoformat()})")
    assert wrong == [], f"{len(wrong)} of {checked} wrong, first: {wrong[:5]}"


def test_a_calendar_answers_from_a_fresh_process_in_any_year_order() -> None:
    """The index grows backwards and forwards; each order of asking gives the same answers."""
    rng = random.Random(24)
    starts = [_starts(rng, ZoneInfo("Asia/Shanghai")) for _ in range(300)]
    amounts = [rng.randrange(1, 3000) * MINUTE for _ in starts]
    forwards = BusinessCalendar.from_config("a", CALENDARS["cn_workdays"])
    backwards = BusinessCalendar.from_config("b", CALENDARS["cn_workdays"])
    backwards.add(datetime(2027, 2, 1, tzinfo=UTC), 1)  # 2027 first, then earlier years
    answers = [forwards.add(s, a) for s, a in zip(starts, amounts, strict=True)]
    assert answers == [backwards.add(s, a) for s, a in zip(starts, amounts, strict=True)]


def test_a_new_pack_version_answers_from_its_own_tables() -> None:
    """Tables live in the version's spec: a `closed:` line added in a new version counts at once,
    while the old version, already asked and cached, keeps its own answer."""
    data = checked_source(ROOT / "workflows" / "after_sales").data
    changed = {**data, "calendars": {**data["calendars"]}}
    changed["calendars"]["cn_workdays"] = {
        **data["calendars"]["cn_workdays"],
        "closed": [date(2026, 3, 9)],
    }
    cache = SpecCache()
    old = cache.of(PackVersion(id=1, pack="after_sales", version=1, data=data))
    friday_five = sh(2026, 3, 6, 17)
    assert old.calendars["cn_workdays"].add(friday_five, 2 * 3600) == sh(2026, 3, 9, 10)
    new = cache.of(PackVersion(id=2, pack="after_sales", version=2, data=changed))
    assert new.calendars["cn_workdays"].add(friday_five, 2 * 3600) == sh(2026, 3, 10, 10)
    assert old.calendars["cn_workdays"].add(friday_five, 2 * 3600) == sh(2026, 3, 9, 10)
