"""Parse durations as people write them in workflow YAML: '4 working hours', '2h', '3个工作日'."""

from __future__ import annotations

import calendar
import difflib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

GENERIC_HINT = "write '24h', '30m', '4 working hours' or '3 working days'"

_UNIT_SECONDS = {"minutes": 60.0, "hours": 3600.0, "days": 86400.0}
# No service rule waits ten years; a calendar walks its years one by one to reach a deadline,
# so an unbounded amount (a typo's extra zeros) would stall every intake under that rule.
MAX_DAYS = 3650
LONGEST_HINT = f"a duration may be at most {MAX_DAYS} days (or working days)"

_ENGLISH = {
    "minutes": ("m", "min", "mins", "minute", "minutes"),
    "hours": ("h", "hr", "hrs", "hour", "hours"),
    "days": ("d", "day", "days"),
}
_CHINESE = {  # a leading 个 ("2个小时", "3个工作日") is stripped before lookup
    "分钟": ("minutes", False),
    "分": ("minutes", False),
    "小时": ("hours", False),
    "天": ("days", False),
    "日": ("days", False),
    "工作分钟": ("minutes", True),
    "工作小时": ("hours", True),
    "工作日": ("days", True),
    "工作天": ("days", True),
}

# spelling -> (unit, working): parsing is one lookup, and did-you-mean gets a vocabulary
UNITS: dict[str, tuple[str, bool]] = {
    **{
        f"{prefix}{spelling}": (unit, bool(prefix))
        for prefix in ("", "working ")
        for unit, spellings in _ENGLISH.items()
        for spelling in spellings
    },
    **_CHINESE,
}

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


class DurationError(ValueError):
    """A duration we cannot read, with a hint on how to write it instead."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Duration:
    """A parsed duration; working ones need a business calendar to be turned into instants."""

    amount: float
    unit: str
    working: bool
    text: str

    def seconds(self, working_day_seconds: float | None = None) -> float:
        """Length in seconds; working days need the calendar's standard working-day length."""
        if self.working and self.unit == "days":
            if working_day_seconds is None:
                raise ValueError(f"'{self.text}' needs the calendar's working_day_seconds")
            return self.amount * working_day_seconds
        return self.amount * _UNIT_SECONDS[self.unit]


def parse_duration(text: object) -> Duration:
    """Read '15m', '1.5h', '4 working hours' or '3个工作日', or explain what is wrong."""
    if not isinstance(text, str):
        raise DurationError(f"duration must be text with a unit, got {text!r}", GENERIC_HINT)
    cleaned = " ".join(text.split()).lower()
    if not cleaned:
        raise DurationError("duration is empty", GENERIC_HINT)
    number = _NUMBER.match(cleaned)
    unit_text = cleaned[number.end() :].strip() if number else cleaned
    if number is None:
        hint = f"put the amount before the unit, e.g. '3 {unit_text}'"
        raise DurationError(f"missing number in duration '{text}'", hint)
    if not unit_text:
        raise DurationError(f"missing unit in duration '{text}'", GENERIC_HINT)
    unit = UNITS.get(unit_text.removeprefix("个"))
    if unit is None:
        close = difflib.get_close_matches(unit_text, UNITS, n=1)
        hint = f"did you mean '{close[0]}'?" if close else GENERIC_HINT
        raise DurationError(f"unknown duration unit '{unit_text}' in '{text}'", hint)
    amount = float(number[0])
    if amount <= 0:
        what = "zero" if amount == 0 else "negative"
        raise DurationError(f"duration '{text}' is {what}; it must be more than zero", GENERIC_HINT)
    if amount * _UNIT_SECONDS[unit[0]] > MAX_DAYS * 86400:
        raise DurationError(f"duration '{text}' is longer than {MAX_DAYS} days", LONGEST_HINT)
    return Duration(amount=amount, unit=unit[0], working=unit[1], text=text)


OFFSET_HINT = "write '1h', '3 days', '2 weeks', '3 months', '1 year', '3个月' or '1年'"
_OFFSET_UNITS: dict[str, tuple[int, float]] = {  # spelling -> (months, seconds) per 1
    **{s: (0, 60.0) for s in ("m", "min", "mins", "minute", "minutes", "分钟")},
    **{s: (0, 3600.0) for s in ("h", "hr", "hrs", "hour", "hours", "小时")},
    **{s: (0, 86400.0) for s in ("d", "day", "days", "天", "日")},
    **{s: (0, 7 * 86400.0) for s in ("w", "week", "weeks", "周", "星期")},
    **{s: (1, 0.0) for s in ("month", "months", "月")},
    **{s: (12, 0.0) for s in ("y", "year", "years", "年")},
}


@dataclass(frozen=True)
class Offset:
    """A calendar offset such as '3 months after each purchase': months count on the calendar.

    Unlike a `Duration` it is wall time, not working time, and a month is a calendar
    month: 31 Jan + 1 month is 28 (or 29) Feb, as people mean it.
    """

    months: int
    seconds: float
    text: str

    def after(self, moment: datetime) -> datetime:
        return _add_months(moment, self.months) + timedelta(seconds=self.seconds)

    def before(self, moment: datetime) -> datetime:
        return _add_months(moment, -self.months) - timedelta(seconds=self.seconds)


def _add_months(moment: datetime, months: int) -> datetime:
    if not months:
        return moment
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def parse_offset(text: object) -> Offset:
    """Read '1h', '3 months', '3个月' or '1年' (whole months and years), or explain."""
    if not isinstance(text, str) or not text.strip():
        raise DurationError(f"offset must be text with a unit, got {text!r}", OFFSET_HINT)
    cleaned = " ".join(text.split()).lower()
    number = _NUMBER.match(cleaned)
    if number is None:
        raise DurationError(f"missing number in offset '{text}'", OFFSET_HINT)
    unit_text = cleaned[number.end() :].strip().removeprefix("个")
    unit = _OFFSET_UNITS.get(unit_text)
    if unit is None:
        close = difflib.get_close_matches(unit_text, _OFFSET_UNITS, n=1)
        hint = f"did you mean '{close[0]}'?" if close else OFFSET_HINT
        raise DurationError(f"unknown offset unit '{unit_text}' in '{text}'", hint)
    amount = float(number[0])
    if amount < 0:
        raise DurationError(f"offset '{text}' is negative", OFFSET_HINT)
    if unit[0] and amount != int(amount):
        raise DurationError(f"offset '{text}' needs whole months or years", "e.g. '3 months'")
    return Offset(months=int(amount) * unit[0], seconds=amount * unit[1], text=text)
