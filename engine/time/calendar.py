"""Business calendars (R-2.8): SLA clocks run on weekly hours, public holidays and 调休 days."""

from __future__ import annotations

import contextlib
import difflib
import functools
import itertools
import math
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays as holidays_lib
from holidays import HolidayBase

from engine.time.clock import require_aware
from engine.time.workindex import ALWAYS_AWARE, EMPTY, Interval, WorkIndex, build

Path = tuple[str | int, ...]
Ranges = tuple[tuple[int, int], ...]  # (start, end) seconds after local midnight, sorted, merged

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CONFIG_KEYS = ("timezone", "hours", "holidays", "closed", "working", "covered_until")
HOLIDAY_KEYS = ("country", "subdivision")
MAX_EMPTY_YEARS = 10  # `add` gives up after this many consecutive years without working time
_TIME = r"(?:[01]?\d|2[0-3]):[0-5]\d|24:00"  # 24:00 is the end of the day
_RANGE = re.compile(rf"^({_TIME})\s*-\s*({_TIME})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class CalendarError(ValueError):
    """A calendar config problem, located by its path in the config so authors can find it."""

    def __init__(self, path: Path, message: str, hint: str | None = None) -> None:
        self.path, self.message, self.hint = tuple(path), message, hint
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)
        super().__init__(f"{where.lstrip('.')}: {message}" if where else message)


def _did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """Suggest the closest accepted spelling, ignoring case, since typos are the usual cause."""
    by_lower = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), by_lower, n=1)
    return f"did you mean '{by_lower[close[0]]}'?" if close else None


@functools.lru_cache(maxsize=256)
def _holidays_for(country: str, subdiv: str | None, years: tuple[int, ...]) -> HolidayBase:
    """Holiday tables are slow to build; expand=False keeps cached tables unchanged by lookups."""
    return holidays_lib.country_holidays(country, subdiv=subdiv, years=years, expand=False)


class _Parser:
    """Reads a config mapping, collecting every problem so authors can fix them in one go."""

    def __init__(self) -> None:
        self.errors: list[CalendarError] = []

    def fail(self, path: Path, message: str, hint: str | None) -> None:
        self.errors.append(CalendarError(path, message, hint))

    def parse(self, config: object) -> dict[str, Any]:
        if not isinstance(config, Mapping):
            message = f"calendar config must be a mapping, got {config!r}"
            self.fail((), message, "give timezone: and hours:")
            return {}
        self.unknown_keys(config, CONFIG_KEYS, ())
        return {
            "tz": self.timezone(config.get("timezone")),
            "weekly": self.hours(config.get("hours")),
            "holiday_spec": self.holidays(config.get("holidays")),
            "closed": self.dates("closed", config.get("closed")),
            "working": self.dates("working", config.get("working")),
        }

    def unknown_keys(
        self, mapping: Mapping[str, Any], allowed: tuple[str, ...], path: Path
    ) -> None:
        """Report keys that would otherwise be silently ignored."""
        for key in mapping:
            if key not in allowed:
                hint = _did_you_mean(str(key), allowed) or f"allowed keys: {', '.join(allowed)}"
                self.fail((*path, str(key)), f"unknown key '{key}'", hint)

    def timezone(self, value: object) -> ZoneInfo:
        """Resolve an IANA zone name: every deadline depends on it."""
        if value is None:
            self.fail(("timezone",), "missing required key 'timezone'", "e.g. Asia/Shanghai")
            return ZoneInfo("UTC")
        try:
            return ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            hint = _did_you_mean(str(value), available_timezones()) or "e.g. 'Europe/Berlin'"
            self.fail(("timezone",), f"unknown timezone '{value}'", hint)
            return ZoneInfo("UTC")

    def hours(self, value: object) -> tuple[Ranges, ...]:
        """Read the weekly schedule into one Ranges per weekday (mon=0)."""
        if not isinstance(value, Mapping) or not value:
            message = "missing required key 'hours'" if value is None else "no working hours given"
            self.fail(("hours",), message, "write e.g. hours: {mon-fri: '09:00-18:00'}")
            return ((),) * 7
        week: list[Ranges] = [()] * 7
        owner: dict[int, str] = {}
        for key, text in value.items():
            days = self.days(str(key))
            ranges = self.ranges(("hours", str(key)), text)
            for day in days:
                if day in owner:
                    message = f"'{DAYS[day]}' is given twice, in '{owner[day]}' and '{key}'"
                    self.fail(("hours", str(key)), message, "give each day once")
                    break
                owner[day], week[day] = str(key), ranges
        return tuple(week)

    def days(self, key: str) -> list[int]:
        """Read a day key: 'mon', a list 'mon,wed,fri' or a range 'mon-fri' (mon=0)."""
        days: list[int] = []
        for part in key.lower().split(","):
            first, dash, last = (name.strip() for name in part.partition("-"))
            names = (first, last) if dash else (first,)
            for name in names:
                if name not in DAYS:
                    hint = _did_you_mean(name, DAYS) or "use mon tue wed thu fri sat sun"
                    self.fail(("hours", key), f"unknown day '{name}' in '{key}'", hint)
                    return []
            lo, hi = DAYS.index(names[0]), DAYS.index(names[-1])
            days.extend((lo + offset) % 7 for offset in range((hi - lo) % 7 + 1))  # 'sat-mon' wraps
        return days

    def ranges(self, path: Path, value: object) -> Ranges:
        """Read '09:00-12:00, 13:00-18:00' into sorted ranges, merging touching ones."""
        if not isinstance(value, str) or not value.strip():
            message = f"working hours must be text like '09:00-18:00', got {value!r}"
            self.fail(path, message, "leave the day out to close it")
            return ()
        parsed: list[tuple[int, int, str]] = []
        for text in (part.strip() for part in value.split(",")):
            match = _RANGE.match(text)
            start, end = (_seconds(match[1]), _seconds(match[2])) if match else (0, 0)
            if not match:
                hint = "write 'HH:MM-HH:MM' with times from 00:00 to 24:00, e.g. '09:00-18:00'"
                self.fail(path, f"bad time range '{text}'", hint)
            elif start >= end:
                hint = "split overnight hours at midnight: '22:00-24:00', next day '00:00-06:00'"
                self.fail(path, f"time range '{text}' ends before it starts", hint)
            else:
                parsed.append((start, end, text))
        ranges: list[tuple[int, int]] = []
        previous = ""
        for start, end, text in sorted(parsed):
            if ranges and start < ranges[-1][1]:
                self.fail(path, f"time ranges '{previous}' and '{text}' overlap", "separate them")
            elif ranges and start == ranges[-1][1]:
                ranges[-1] = (ranges[-1][0], end)
            else:
                ranges.append((start, end))
            previous = text
        return tuple(ranges)

    def dates(self, name: str, value: object) -> frozenset[date]:
        """Read a list of YAML dates or ISO strings."""
        if value is None:
            return frozenset()
        if not isinstance(value, list):
            message = f"'{name}' must be a list of dates, got {value!r}"
            self.fail((name,), message, f"write e.g. {name}: [2026-12-31]")
            return frozenset()
        dates: set[date] = set()
        for index, item in enumerate(value):
            if isinstance(item, str) and _ISO_DATE.match(item.strip()):
                with contextlib.suppress(ValueError):  # 2026-02-30 stays text, reported below
                    item = date.fromisoformat(item.strip())
            if isinstance(item, date) and not isinstance(item, datetime):
                dates.add(item)
            else:
                self.fail((name, index), f"bad date {item!r}", "write YYYY-MM-DD, e.g. 2026-12-31")
        return frozenset(dates)

    def holidays(self, value: object) -> tuple[str, str | None] | None:
        """Read {country, subdivision}, checking both against what `holidays` supports."""
        if value is None:
            return None
        if not isinstance(value, Mapping) or value.get("country") is None:
            self.fail(("holidays",), "'holidays' needs a 'country'", "e.g. holidays: {country: CN}")
            return None
        self.unknown_keys(value, HOLIDAY_KEYS, ("holidays",))
        supported = holidays_lib.list_supported_countries()
        country, code = value["country"], str(value["country"]).strip().upper()
        if code not in supported:
            hint = _did_you_mean(code, supported) or "use an ISO 3166 code such as 'CN' or 'DE'"
            self.fail(("holidays", "country"), f"unknown holiday country '{country}'", hint)
            return None
        subdivision = value.get("subdivision")
        if subdivision is None:
            return code, None
        try:
            _holidays_for(code, str(subdivision), (2000,))
        except NotImplementedError:
            known = supported[code]
            hint = _did_you_mean(str(subdivision), known) or f"known: {', '.join(known) or 'none'}"
            message = f"unknown subdivision '{subdivision}' of '{code}'"
            self.fail(("holidays", "subdivision"), message, hint)
            return None
        return code, str(subdivision)


def _seconds(clock: str) -> int:
    """Seconds after midnight of an 'HH:MM' that _RANGE accepted."""
    hours, minutes = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def validate_config(config: object) -> list[CalendarError]:
    """Every problem in a calendar config, for pack linting; empty when valid."""
    parser = _Parser()
    parser.parse(config)
    return parser.errors


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
        parser = _Parser()
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
            table = _holidays_for(*self._holiday_spec, (day.year,))
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
        name = _holidays_for(*self._holiday_spec, (day.year,)).get(day)
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
        if type(start.tzinfo) not in ALWAYS_AWARE:
            require_aware(start)
        if 0.0 < seconds < math.inf:  # the usual case, answered from the index as it stands
            # WorkIndex.position and .instant written out: this is the hottest line of intake
            instant = start.timestamp()
            _, lo, hi, starts, cum, cap, base = self._index
            if lo <= instant < hi:
                k = bisect_right(starts, instant)
                end = cap[k]
                target = (instant if instant < end else end) + base[k] + seconds
                if target <= cum[-1]:
                    return datetime.fromtimestamp(target - base[bisect_left(cum, target)], self.tz)
        return self._add_widening(start, seconds)

    def add_each(self, start: datetime, amounts: Iterable[float]) -> list[datetime]:
        """`add(start, a)` for each amount, as a clock's warning and deadline need them: the
        start is converted and placed once (`WorkIndex.reach`), each answer exactly `add`'s."""
        return self._index.reach(start, amounts, self.tz, self.add)

    def _add_widening(self, start: datetime, seconds: float) -> datetime:
        """`add` when the index does not yet reach: widen it a year at a time, and refuse bad
        amounts (zero waits for nothing and answers `start` as is, even outside working time)."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be finite and not negative, got {seconds!r}")
        if seconds == 0:
            return start.astimezone(self.tz)
        instant, year = start.timestamp(), start.astimezone(self.tz).year
        index, last_gain = self._covering(year, year), year
        while (ahead := index.cum[-1] - index.position(instant)) < seconds:
            index = self._covering(year, index.years[-1] + 1)
            if index.cum[-1] - index.position(instant) > ahead:
                last_gain = index.years[-1]
            elif index.years[-1] - last_gain >= MAX_EMPTY_YEARS:
                raise ValueError(
                    f"calendar '{self.name}' has no working time in the "
                    f"{MAX_EMPTY_YEARS} years after {last_gain}"
                )
        return datetime.fromtimestamp(index.instant(index.position(instant) + seconds), self.tz)

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
