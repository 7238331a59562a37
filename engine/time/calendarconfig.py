"""Business calendar configs (R-2.8): read, checked and located for their authors.

Kept apart from `engine.time.calendar`, whose deadline arithmetic is the hot path of intake
(issue #24 item 3): a pack's calendar mapping is read here once per pack version, every
problem collected with its path and a hint, and the calendar is built from what it gives.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays as holidays_lib
from holidays import HolidayBase

Path = tuple[str | int, ...]
Ranges = tuple[tuple[int, int], ...]  # (start, end) seconds after local midnight, sorted, merged

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CONFIG_KEYS = ("timezone", "hours", "holidays", "closed", "working", "covered_until")
HOLIDAY_KEYS = ("country", "subdivision")
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
def holidays_for(country: str, subdiv: str | None, years: tuple[int, ...]) -> HolidayBase:
    """Holiday tables are slow to build; expand=False keeps cached tables unchanged by lookups."""
    return holidays_lib.country_holidays(country, subdiv=subdiv, years=years, expand=False)


class Parser:
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
            holidays_for(code, str(subdivision), (2000,))
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
    parser = Parser()
    parser.parse(config)
    return parser.errors
