"""Row 2: SLA deadlines per second from `BusinessCalendar.add`, checked against a minute oracle.

Every intake, triage and resume computes a warning and a deadline per clock, and the
escalation ladder more, so `add` sits on every write path. It is measured on the default
pack's `cn_workdays` (Asia/Shanghai, Mon-Fri 09:00-18:00, CN holidays and 调休 make-up
working days) and on a calendar with daylight saving (Europe/Berlin, Mon-Fri 09:00-17:00,
DE holidays), with starts anywhere in 2025-2027 and amounts of 1 to 45 working hours.

Baselines, in the same process: `businesstimedelta` (WorkDayRule + HolidayRule over the
same public holidays; it has no way to say a Saturday is a working day, so its CN results
differ where a make-up day is crossed, and we count how often); the plain day-by-day loop
over the `holidays` package's tables (a day's hours taken whole or in part, then the next
day: issue #24's yardstick, ≥ 10× it); and the loop people write first, stepping hour by
hour (slow, so run on fewer samples and scaled to a rate). None is the judge of
correctness: a minute oracle is, and its own rate (answers from its prefix count, once
built) is printed beside ours. It marks every minute of the span working
or not from that minute's own local wall time, with no intervals, prefix sums or DST
arithmetic shared with the engine, and counts working minutes; any mismatch is a bug.

Two call paths are measured on the same samples: `add`, one (start, amount) per call, and
the path intake takes for a record (`sla.plan_all`): its two clocks, taken from two samples,
both since receipt, answered by one `add_each(start, [warning, deadline, warning, deadline])`
which places the start once for all four (each warning at 80 % of its amount, in whole
minutes). That row's rate counts deadlines, and the day-by-day loop is timed on the very
same deadlines for it.

Pure CPU, no database. Calendars are warmed first (their yearly index is built once per
process, as in a running server).

    python -m bench.bench_deadlines [--n 100000] [--full] [--runs 3]
"""

from __future__ import annotations

import bisect
import datetime as dt
import statistics
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import businesstimedelta
import holidays
import pytz

from bench.common import ROOT, Row, arguments, timed
from bench.data import Generator
from engine.specs.build import build_pack_spec
from engine.time.calendar import BusinessCalendar
from workflows.validate import checked_source

SMALL, FULL = 100_000, 1_000_000
# Samples for the slow parts: (small, full).
BTD_SAMPLES = (2_000, 10_000)
DAILY_SAMPLES = (20_000, 100_000)
HOURLY_SAMPLES = (1_000, 5_000)
ORACLE_SAMPLES = (2_000, 10_000)
FIRST_YEAR, LAST_YEAR = 2025, 2027
HOLIDAY_YEARS = range(FIRST_YEAR - 1, LAST_YEAR + 3)  # results spill into the next year
GOAL_RATE, GOAL_RATIO, GOAL_DAILY_RATIO = 1_000_000, 50, 10
Sample = tuple[datetime, float]
Planned = tuple[datetime, list[float]]  # a record's receipt, its clocks' warnings and deadlines
Compute = Callable[[Sequence[Any]], object]  # of samples, or of records for `as_plan`
# the engine path each row measures, in its name
ADD = "add()"  # BusinessCalendar.add, one call a deadline
EACH = "add_each() x4"  # intake's sla.plan_all: one call a record, its 2 warnings and 2 deadlines


@dataclass(frozen=True)
class Case:
    """A calendar as the engine has it, and the plain facts the baselines and the oracle use."""

    label: str
    calendar: BusinessCalendar
    zone: str
    country: str
    opens: int  # seconds after local midnight
    closes: int
    public_holidays: frozenset[date]
    makeup_days: frozenset[date]  # weekend days that are working days (调休)
    holiday_table: holidays.HolidayBase  # the package's own table, for the day-by-day loop

    def is_working_day(self, day: date) -> bool:
        if day in self.public_holidays:
            return False
        return day.weekday() < 5 or day in self.makeup_days


def case(label: str, calendar: BusinessCalendar, country: str, opens: int, closes: int) -> Case:
    """The same public holidays the engine reads (one table per year, as it builds them)."""
    days: set[date] = set()
    makeup: set[date] = set()
    for year in HOLIDAY_YEARS:
        table = holidays.country_holidays(country, years=(year,), expand=False)
        days.update(day for day in table if day.year == year)
        makeup.update(day for day in getattr(table, "weekend_workdays", ()) if day.year == year)
    zone = str(calendar.tz)
    table = holidays.country_holidays(country, years=HOLIDAY_YEARS, expand=False)
    return Case(
        label, calendar, zone, country, opens, closes, frozenset(days), frozenset(makeup), table
    )


def cases() -> list[Case]:
    source = checked_source(ROOT / "workflows" / "after_sales")
    spec, problems = build_pack_spec(source.data)
    assert spec is not None, problems
    berlin = BusinessCalendar.from_config(
        "de_workdays",
        {
            "timezone": "Europe/Berlin",
            "hours": {"mon-fri": "09:00-17:00"},
            "holidays": {"country": "DE"},
        },
    )
    return [
        case("cn_workdays", spec.calendars["cn_workdays"], "CN", 9 * 3600, 18 * 3600),
        case("Europe/Berlin", berlin, "DE", 9 * 3600, 17 * 3600),
    ]


def ours(cal: BusinessCalendar, samples: Sequence[Sample]) -> list[datetime]:
    add = cal.add
    return [add(start, seconds) for start, seconds in samples]


def planned(samples: Sequence[Sample]) -> list[Planned]:
    """Samples two by two as a record's two clocks (respond, resolve) from its receipt, the first
    sample's start: each clock's warning at 80 % of its amount (in whole minutes, so the oracle
    can check it), then its deadline."""
    return [
        (start, [x for a in (first, second) for x in (max(60.0, round(a * 0.8 / 60) * 60.0), a)])
        for (start, first), (_, second) in zip(samples[::2], samples[1::2], strict=False)
    ]


def as_plan(cal: BusinessCalendar, records: Sequence[Planned]) -> list[datetime]:
    """Each record's warnings and deadlines as intake's `sla.plan_all` asks them: one `add_each`
    a record (its clocks on one calendar, all since receipt)."""
    each = cal.add_each
    return [due for start, amounts in records for due in each(start, amounts)]


def both(records: Sequence[Planned]) -> list[Sample]:
    """The same deadlines as (start, amount) pairs, for the day loop and the oracle."""
    return [(start, a) for start, amounts in records for a in amounts]


def btd_rule(c: Case) -> businesstimedelta.Rule:
    """businesstimedelta's best rendering of the calendar: weekdays' hours minus holidays."""
    tz = pytz.timezone(c.zone)
    workday = businesstimedelta.WorkDayRule(
        start_time=dt.time(c.opens // 3600),
        end_time=dt.time(c.closes // 3600),
        working_days=[0, 1, 2, 3, 4],
        tz=tz,
    )
    return businesstimedelta.Rules(
        [workday, businesstimedelta.HolidayRule(c.public_holidays, tz=tz)]
    )


def btd(rule: businesstimedelta.Rule, samples: Sequence[Sample]) -> list[datetime]:
    delta = businesstimedelta.BusinessTimeDelta
    return [start + delta(rule, seconds=seconds) for start, seconds in samples]


def daily(c: Case, samples: Sequence[Sample], *, sets: bool = False) -> list[datetime]:
    """Day by day from the start's local date: a working day gives its hours from the start
    or its opening until the amount is used up. Which days work, the issue's yardstick asks
    the `holidays` package (its `is_working_day`, make-up days included; one table for all
    the years, built once); `sets=True` asks two frozensets made from it instead, the
    fastest a loop gets. Wall times through zoneinfo, so daylight saving is right."""
    tz = ZoneInfo(c.zone)
    working = c.is_working_day if sets else c.holiday_table.is_working_day
    results = []
    for start, seconds in samples:
        local, left = start.astimezone(tz), seconds
        day = local.date()
        wall = local.hour * 3600 + local.minute * 60 + local.second
        while True:
            if wall < c.closes and working(day):
                begin = max(wall, c.opens)
                if left <= c.closes - begin:
                    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
                    results.append(midnight + dt.timedelta(seconds=begin + left))
                    break
                left -= c.closes - begin
            day, wall = day + dt.timedelta(days=1), 0
    return results


def hourly(c: Case, samples: Sequence[Sample]) -> list[datetime]:
    """Step to each next full hour, counting the steps that fall in working time. Both zones
    are whole hours off UTC and the hours start on full hours, so each step is all working
    or all not, and the answer is exact."""
    tz = ZoneInfo(c.zone)
    results = []
    for start, seconds in samples:
        at, left = start.timestamp(), seconds
        while left > 0:
            local = datetime.fromtimestamp(at, tz)
            step = (at // 3600 + 1) * 3600 - at
            wall = local.hour * 3600 + local.minute * 60 + local.second
            if c.opens <= wall < c.closes and c.is_working_day(local.date()):
                step = min(step, left)
                left -= step
            at += step
        results.append(datetime.fromtimestamp(at, tz))
    return results


class MinuteOracle:
    """Working minutes counted one by one over the whole span, as a prefix count.

    Minute i is working when its local wall time (read with zoneinfo for that very
    minute) is inside the day's hours on a working day. `add(start, a)` is then where
    the count has grown by `a`: the end of the a-th working minute from `start`.
    """

    def __init__(self, c: Case, first: datetime, last: datetime) -> None:
        tz = ZoneInfo(c.zone)
        self.base = int(first.timestamp()) // 60
        end = int(last.timestamp()) // 60
        count = 0
        self.cum = array("q", [0])
        for minute in range(self.base, end):
            local = datetime.fromtimestamp(minute * 60, tz)
            wall = local.hour * 3600 + local.minute * 60
            if c.opens <= wall < c.closes and c.is_working_day(local.date()):
                count += 1
            self.cum.append(count)

    def add(self, start: datetime, seconds: float) -> float:
        s = int(start.timestamp()) // 60 - self.base
        assert start.timestamp() % 60 == 0 and seconds % 60 == 0, "the oracle counts minutes"
        k = bisect.bisect_left(self.cum, self.cum[s] + int(seconds) // 60)
        assert k < len(self.cum), "sample outside the oracle's span"
        return float((self.base + k) * 60)


def answers(oracle: MinuteOracle, samples: Sequence[Sample]) -> list[float]:
    """The oracle's own rate, once its prefix count is built (the build is not timed)."""
    return [oracle.add(start, seconds) for start, seconds in samples]


def differ(a: Sequence[datetime], b: Sequence[datetime]) -> int:
    return sum(x.timestamp() != y.timestamp() for x, y in zip(a, b, strict=True))


def rates(runs: int, contenders: Sequence[tuple[Sequence[Any], Compute]]) -> list[float]:
    """Median rate of each contender, their runs interleaved so a busy moment on the machine
    slows all of them rather than one."""
    measured: list[list[float]] = [[] for _ in contenders]
    for _ in range(runs):
        for rates_of, (samples, compute) in zip(measured, contenders, strict=True):
            rates_of.append(len(samples) / timed(partial(compute, samples)))
    return [statistics.median(r) for r in measured]


def main() -> None:
    args = arguments(__doc__.splitlines()[0], SMALL, FULL)
    size = 1 if args.full else 0
    samples = Generator().deadline_samples(args.n, first_year=FIRST_YEAR, last_year=LAST_YEAR)
    few = {
        name: samples[: min(args.n, sizes[size])]
        for name, sizes in (
            ("btd", BTD_SAMPLES),
            ("daily", DAILY_SAMPLES),
            ("hourly", HOURLY_SAMPLES),
            ("oracle", ORACLE_SAMPLES),
        )
    }
    print(
        f"# deadlines: {args.n:,} (start, 1-45 working hours) over {FIRST_YEAR}-{LAST_YEAR}, "
        f"median of {args.runs} runs; businesstimedelta on {len(few['btd']):,}, "
        f"day-by-day loop on {len(few['daily']):,}, hourly loop on {len(few['hourly']):,}, "
        f"oracle on {len(few['oracle']):,}",
        flush=True,
    )
    print(
        f"# rows name the engine path: {ADD} is BusinessCalendar.add, one call a deadline; "
        f"{EACH} is intake's (sla.plan_all): one add_each a record for its two clocks' "
        "warnings and deadlines, counted as four deadlines",
        flush=True,
    )
    notes = []
    for c in cases():
        for year in range(FIRST_YEAR, LAST_YEAR + 2):  # warm: build the yearly index once
            c.calendar.add(datetime(year, 6, 1, tzinfo=UTC), 1.0)
        rule = btd_rule(c)
        checked = few["oracle"]
        first = min(start for start, _ in checked).replace(hour=0, minute=0)
        last = datetime(max(start for start, _ in checked).year + 1, 3, 1, tzinfo=UTC)
        oracle = MinuteOracle(c, first, last)
        records = planned(samples)  # as_plan's rate is of deadlines, four a record
        paired = both(records[: len(few["daily"]) // 4])
        measured = rates(
            args.runs,
            [
                (samples, partial(ours, c.calendar)),
                (few["btd"], partial(btd, rule)),
                (few["daily"], partial(daily, c)),
                (few["daily"], partial(daily, c, sets=True)),
                (few["hourly"], partial(hourly, c)),
                (checked, partial(answers, oracle)),
                (records, partial(as_plan, c.calendar)),
                (paired, partial(daily, c)),
            ],
        )
        ours_rate, btd_rate, daily_rate, sets_rate, hourly_rate, oracle_rate = measured[:6]
        plan_rate, paired_rate = 4 * measured[6], measured[7]
        goal = f">= {GOAL_RATIO}x, >= {GOAL_RATE:,}/s"
        daily_goal = f">= {GOAL_DAILY_RATIO}x, >= {GOAL_RATE:,}/s"
        lone = f"deadlines {c.label} {ADD}"
        for against, rate, row_goal in (
            ("btd", btd_rate, goal),
            ("daily", daily_rate, daily_goal),
            ("daily, sets", sets_rate, "-"),
            ("hourly", hourly_rate, "-"),
            ("oracle", oracle_rate, "-"),
        ):
            Row(f"{lone} vs {against}", "-", "deadlines/s", ours_rate, rate, row_goal).print()
        Row(
            f"deadlines {c.label} {EACH} vs daily",
            "-",
            "deadlines/s",
            plan_rate,
            paired_rate,
            daily_goal,
        ).print()

        mine = ours(c.calendar, few["btd"])
        btd_differ = differ(mine, btd(rule, few["btd"]))
        daily_differ = differ(ours(c.calendar, few["daily"]), daily(c, few["daily"]))
        daily_differ += differ(daily(c, few["daily"]), daily(c, few["daily"], sets=True))
        hourly_differ = differ(ours(c.calendar, few["hourly"]), hourly(c, few["hourly"]))
        wrong = sum(
            r.timestamp() != oracle.add(s, a)
            for (s, a), r in zip(checked, ours(c.calendar, checked), strict=True)
        )
        pairs = both(records[: len(checked) // 2])
        plan_wrong = sum(
            r.timestamp() != oracle.add(s, a)
            for (s, a), r in zip(
                pairs, as_plan(c.calendar, records[: len(checked) // 2]), strict=True
            )
        )
        few_records = records[: len(few["daily"]) // 2]
        plan_differ = differ(as_plan(c.calendar, few_records), daily(c, both(few_records)))
        crossing = sum(
            any(day in c.makeup_days for day in _days(s, r))
            for (s, _), r in zip(few["btd"], mine, strict=True)
        )
        notes.append(
            f"# {c.label}: minute oracle disagrees with ours on {wrong} of {len(checked):,} "
            f"and with add_each on {plan_wrong} of {len(pairs):,} (must be 0; add_each differs "
            f"from the day loop on {plan_differ} of {2 * len(few['daily']):,}); "
            f"businesstimedelta differs on {btd_differ} of {len(few['btd']):,} "
            f"({crossing} of ours cross a make-up working day); the day-by-day loop differs on "
            f"{daily_differ} of {len(few['daily']):,}, the hourly loop on "
            f"{hourly_differ} of {len(few['hourly']):,}"
        )
    for note in notes:
        print(note, flush=True)


def _days(start: datetime, end: datetime) -> list[date]:
    """The local dates from start's to end's, in end's zone (ours answer in the calendar's)."""
    day, days = start.astimezone(end.tzinfo).date(), []
    while day <= end.date():
        days.append(day)
        day += dt.timedelta(days=1)
    return days


if __name__ == "__main__":
    main()
