"""Business calendars (R-2.8): SLA clocks run on weekly hours, public holidays and 调休 days."""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.time.calendarconfig import CalendarError, Parser, Ranges, holidays_for, validate_config
from engine.time.clock import require_aware
from engine.time.workindex import ALWAYS_AWARE, EMPTY, NEAR, Interval, WorkIndex, build

__all__ = ["MAX_EMPTY_YEARS", "BusinessCalendar", "CalendarError", "validate_config"]

_fromtimestamp = datetime.fromtimestamp  # a module global: one lookup, not two, per deadline
MAX_EMPTY_YEARS = 10  # `add` gives up after this many consecutive years without working time
MAX_BACK_YEARS = 10  # `subtract` counts back at most this much wall time
MAX_BACK_SECONDS = MAX_BACK_YEARS * 366 * 86400.0


class BusinessCalendar:
    """Working time from an index built lazily per local year: merged UTC intervals, prefix sums."""

    def __init__(
        self,
        name: str,
        tz: ZoneInfo,
        weekly: tuple[Ranges, ...],
        holiday_spec: tuple[str, str | None] | None = None,
        closed: frozenset[date] = frozenset(),
        working: frozenset[date] = frozenset(),
    ) -> None:
        self.name, self.tz, self._weekly = name, tz, weekly
        self._holiday_spec, self._closed, self._working = holiday_spec, closed, working
        counts = Counter(ranges for ranges in weekly if ranges)
        if not counts:
            raise ValueError(f"calendar '{name}' has no working hours")
        # the most common weekday schedule; max() keeps the earliest weekday's among ties
        self._standard: Ranges = max(counts, key=counts.__getitem__)
        self.working_day_seconds = float(sum(end - start for start, end in self._standard))
        # Built lazily and kept by this object, which lives in its pack version's spec
        # (engine.records.versions.SpecCache): a new version builds a new calendar, so a new
        # closed: or working: line is never answered from an old table.
        self._years: dict[int, list[Interval]] = {}
        self._index = EMPTY

    @classmethod
    def from_config(cls, name: str, config: Mapping[str, Any]) -> BusinessCalendar:
        """Build from a pack's mapping, raising its first problem (validate_config lists all)."""
        parser = Parser()
        parsed = parser.parse(config)
        if parser.errors:
            raise parser.errors[0]
        return cls(name, **parsed)

    @classmethod
    def always(cls, name: str = "24x7", tz: str = "UTC") -> BusinessCalendar:
        """Every instant is working time, so working durations equal wall durations."""
        return cls(name, ZoneInfo(tz), (((0, 86400),),) * 7)

    def _schedule(self, day: date) -> Ranges:
        """Day rules by precedence: closed, working, public holiday, make-up day, weekly hours."""
        if day in self._closed:
            return ()
        if day in self._working:
            return self._standard
        if self._holiday_spec is not None:
            table = holidays_for(*self._holiday_spec, (day.year,))
            if day in table:
                return ()
            if day.weekday() in table.weekend and table.is_working_day(day):
                return self._standard
        return self._weekly[day.weekday()]

    def _timestamp(self, day: date, seconds: int) -> float:
        """Local wall time on `day` as POSIX seconds; wall arithmetic makes 24:00 next midnight."""
        return (datetime.combine(day, time(), self.tz) + timedelta(seconds=seconds)).timestamp()

    @property
    def holiday_country(self) -> str | None:
        return self._holiday_spec[0] if self._holiday_spec else None

    def public_holiday(self, day: date) -> str | None:
        """The name of the public holiday on `day`, if the calendar's country has one then."""
        if self._holiday_spec is None:
            return None
        name = holidays_for(*self._holiday_spec, (day.year,)).get(day)
        return str(name) if name else None

    def is_working_day(self, day: date) -> bool:
        """Whether any working time falls on `day`."""
        return bool(self._schedule(day))

    def working_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's working intervals as aware datetimes in the calendar's zone; [] if closed."""

        def local(seconds: int) -> datetime:
            return datetime.fromtimestamp(self._timestamp(day, seconds), self.tz)

        return [(local(start), local(end)) for start, end in self._schedule(day)]

    def _year(self, year: int) -> list[Interval]:
        """A local year's working intervals in order, as POSIX seconds, not yet merged; computed
        once: the holiday table and the day rules are read here and never again for that year."""
        intervals = self._years.get(year)
        if intervals is None:
            intervals = []
            day = date(year, 1, 1)
            while day.year == year:
                for start, end in self._schedule(day):
                    intervals.append((self._timestamp(day, start), self._timestamp(day, end)))
                day += timedelta(days=1)
            self._years[year] = intervals
        return intervals

    def _covering(self, first: int, last: int) -> WorkIndex:
        """An index spanning local years first..last and those already indexed, built if needed."""
        index = self._index
        if index.years:
            first, last = min(first, index.years[0]), max(last, index.years[-1])
        if range(first, last + 1) == index.years:
            return index
        years = range(first, last + 1)
        lo, hi = self._timestamp(date(first, 1, 1), 0), self._timestamp(date(last + 1, 1, 1), 0)
        self._index = build(years, lo, hi, itertools.chain.from_iterable(map(self._year, years)))
        return self._index  # one atomic swap: readers of the old index are unaffected

    def add(self, start: datetime, seconds: float) -> datetime:
        """When `seconds` of working time have passed after `start` (counting from the next working
        instant); a result on an interval's end is that end (18:00), not the next day's start."""
        # WorkIndex.position and .instant written out: this is the hottest line of intake, and
        # each step here is a few % of a deadline's cost (issue #24 item 3)
        if type(start.tzinfo) not in ALWAYS_AWARE:
            require_aware(start)
        instant = start.timestamp()
        lo, hi, starts, cum, cap, base, total = self._index.hot
        if lo <= instant < hi:
            k = bisect_right(starts, instant)
            end = cap[k]
            position = (instant if instant < end else end) + base[k]
            target = position + seconds
            # a positive amount (not lost in rounding, not NaN) the index reaches as it stands
            if position < target <= total:
                m = bisect_left(cum, target, k, k + NEAR)  # cum's padding keeps k + NEAR in
                if m == k + NEAR:
                    m = bisect_left(cum, target, m)
                return _fromtimestamp(target - base[m], self.tz)
        return self._add_widening(start, seconds)

    def add_each(self, start: datetime, amounts: Iterable[float]) -> list[datetime]:
        """`add(start, a)` for each amount, as a clock's warning and deadline, and at intake all
        of a record's clocks, need them (`sla.plan_all`): the start is converted and placed once,
        each answer is `add`'s arithmetic and test, and what the index cannot answer as it stands
        goes to `add` (to widen it or refuse). Written out rather than delegated to the index:
        a call's frame was 1-5 % of intake's deadlines (issue #24 item 3)."""
        lo, hi, starts, cum, cap, base, total = self._index.hot
        instant = start.timestamp() if type(start.tzinfo) in ALWAYS_AWARE else -math.inf
        if not lo <= instant < hi:
            return [self.add(start, amount) for amount in amounts]
        k = bisect_right(starts, instant)
        end, tz, near = cap[k], self.tz, k + NEAR
        position = (instant if instant < end else end) + base[k]
        answers = []
        for amount in amounts:
            target = position + amount
            if position < target <= total:
                m = bisect_left(cum, target, k, near)
                if m == near:
                    m = bisect_left(cum, target, near)
                answers.append(_fromtimestamp(target - base[m], tz))
            else:
                answers.append(self.add(start, amount))
        return answers

    def _add_widening(self, start: datetime, seconds: float) -> datetime:
        """`add` when the index does not yet reach: widen it a year at a time, and refuse bad
        amounts (zero waits for nothing and answers `start` as is, even outside working time)."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be finite and not negative, got {seconds!r}")
        if seconds == 0:
            return start.astimezone(self.tz)
        instant, year = start.timestamp(), start.astimezone(self.tz).year
        index, last_gain = self._covering(year, year), year
        while (ahead := index.total - index.position(instant)) < seconds:
            index = self._covering(year, index.years[-1] + 1)
            if index.total - index.position(instant) > ahead:
                last_gain = index.years[-1]
            elif index.years[-1] - last_gain >= MAX_EMPTY_YEARS:
                raise ValueError(
                    f"calendar '{self.name}' has no working time in the "
                    f"{MAX_EMPTY_YEARS} years after {last_gain}"
                )
        return datetime.fromtimestamp(index.instant(index.position(instant) + seconds), self.tz)

    def subtract(self, moment: datetime, seconds: float) -> datetime:
        """The first instant `seconds` of working time before `moment`: the inverse of `add`,
        so one working day before Wednesday 18:00 is Tuesday 18:00, an interval's end (not
        Wednesday 09:00, the same working time but later by the clock a notice is counted on).
        One search in the index, widened back a year at a time while it does not reach."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be finite and not negative, got {seconds!r}")
        if seconds == 0:
            return moment
        if seconds > MAX_BACK_SECONDS:  # each year back rebuilds the index: bound the walk
            raise ValueError(f"{seconds:g} s is more working time than {MAX_BACK_YEARS} years hold")
        require_aware(moment)
        instant, index = moment.timestamp(), self._index
        if not index.covers(instant):
            year = moment.astimezone(self.tz).year
            index = self._covering(year, year)
        last_gain = index.years[0]
        while (target := index.position(instant) - seconds) <= 0:
            first = index.years[0] - 1
            if first < 2 or last_gain - first > MAX_EMPTY_YEARS:  # year 1's start may not convert
                raise ValueError(
                    f"calendar '{self.name}' has less than {seconds:g} s of working time "
                    f"before {moment.isoformat()}"
                )
            had = index.total
            index = self._covering(first, index.years[-1])
            if index.total > had:
                last_gain = first
        return _fromtimestamp(index.instant(target), self.tz)

    def working_seconds_between(self, a: datetime, b: datetime) -> float:
        """Working time in [a, b), 0 if b <= a; the inverse of `add`."""
        require_aware(a)
        require_aware(b)
        at, bt = a.timestamp(), b.timestamp()
        if bt <= at:
            return 0.0
        index = self._index
        if not (index.covers(at) and index.covers(bt)):
            index = self._covering(a.astimezone(self.tz).year, b.astimezone(self.tz).year)
        return index.position(bt) - index.position(at)
