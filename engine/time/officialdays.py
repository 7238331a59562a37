"""A year's official schedule of days off and make-up working days, read from a file (R-2.8).

Two formats, both described in docs/calendars.md:

- text (also CSV): one day or range per line, `2027-01-01 休`, `2027-02-06..2027-02-13 休`,
  `2027-02-14 班`, or `2027-02-14,班`; `休`/`closed` is a day off, `班`/`working` a make-up
  working day; `#` starts a comment; blank lines are skipped;
- iCalendar (.ics): all-day events whose CATEGORIES (休, 班, holiday, workday) or SUMMARY say
  休 (or 假) or 班, as public holiday feeds publish them; a several-day event covers each day.

Every bad line is reported with its line number, all at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import icalendar

MAX_SPAN_DAYS = 31  # a range longer than a month is a typo, not a holiday
_KINDS = {"休": "closed", "closed": "closed", "off": "closed"} | {
    "班": "working",
    "working": "working",
}
_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s*\.\.\s*(\d{4}-\d{2}-\d{2}))?\s*[,\s]\s*(\S+)$")


@dataclass(frozen=True)
class ScheduleError:
    """One problem of a schedule file, at its line (1-based)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ScheduleInvalid(ValueError):
    """Raised once with every problem, so the file is fixed in one pass."""

    def __init__(self, errors: list[ScheduleError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(map(str, self.errors)))


@dataclass
class OfficialSchedule:
    """Days off (休) and make-up working days (班) of one or more years."""

    closed: set[date] = field(default_factory=set)
    working: set[date] = field(default_factory=set)

    @property
    def years(self) -> list[int]:
        return sorted({day.year for day in self.closed | self.working})

    def add(
        self, kind: str, first: date, last: date, line: int, errors: list[ScheduleError]
    ) -> None:
        """Add each day of first..last, refusing a day that is both off and working."""
        if last < first or (last - first).days >= MAX_SPAN_DAYS:
            errors.append(ScheduleError(line, f"range {first}..{last} is backwards or too long"))
            return
        other = self.working if kind == "closed" else self.closed
        day = first
        while day <= last:
            if day in other:
                errors.append(ScheduleError(line, f"{day} is given as both 休 and 班"))
            (self.closed if kind == "closed" else self.working).add(day)
            day += timedelta(days=1)


def read_schedule(name: str, data: bytes) -> OfficialSchedule:
    """Read a schedule file by its name's suffix: .ics as iCalendar, anything else as text."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScheduleInvalid([ScheduleError(1, f"not UTF-8 text ({exc.reason})")]) from None
    if name.lower().endswith((".ics", ".ical", ".ifb")):
        return read_ics(text)
    return read_text(text)


def read_text(text: str) -> OfficialSchedule:
    """The text (or CSV) format: `YYYY-MM-DD[..YYYY-MM-DD] 休|班` per line."""
    schedule, errors = OfficialSchedule(), []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.lower().replace(" ", "") == "date,kind":
            continue
        match = _LINE.match(line)
        kind = _KINDS.get(match[3].lower()) if match else None
        if match is None or kind is None:
            message = f"cannot read '{raw.strip()}': write e.g. '2027-01-01 休' or '2027-02-14 班'"
            errors.append(ScheduleError(number, message))
            continue
        try:
            first = date.fromisoformat(match[1])
            last = date.fromisoformat(match[2]) if match[2] else first
        except ValueError as exc:
            errors.append(ScheduleError(number, f"not a date: {exc}"))
            continue
        schedule.add(kind, first, last, number, errors)
    return _checked(schedule, errors)


def read_ics(text: str) -> OfficialSchedule:
    """All-day VEVENTs whose CATEGORIES or SUMMARY say 休 or 班, in file order."""
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError as exc:
        raise ScheduleInvalid([ScheduleError(1, f"not an iCalendar file: {exc}")]) from None
    starts = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "BEGIN:VEVENT"]
    schedule, errors = OfficialSchedule(), []
    for number, event in zip(starts, calendar.walk("VEVENT"), strict=False):
        summary = str(event.get("SUMMARY", ""))
        kind = _event_kind(summary, _categories(event))
        start = event.decoded("DTSTART", None)
        end = event.decoded("DTEND", None)
        if kind is None:
            errors.append(ScheduleError(number, f"event '{summary}' says neither 休 nor 班"))
        elif not isinstance(start, date) or isinstance(start, datetime):
            errors.append(ScheduleError(number, f"event '{summary}' is not an all-day event"))
        else:
            last = end - timedelta(days=1) if isinstance(end, date) and end > start else start
            schedule.add(kind, start, last, number, errors)
    return _checked(schedule, errors)


def _categories(event: icalendar.Component) -> list[str]:
    found: list[str] = []
    values = event.get("CATEGORIES")
    for value in values if isinstance(values, list) else [values] if values else []:
        found.extend(str(category) for category in getattr(value, "cats", [value]))
    return found


def _event_kind(summary: str, categories: list[str]) -> str | None:
    """班 wins over 休 (a 调休上班 day is a working day); a category wins over the summary."""
    for words in ([c.strip().lower() for c in categories], [summary]):
        text = " ".join(words)
        if "班" in text or {"working", "workday"} & set(words):
            return "working"
        if "休" in text or "假" in text or {"closed", "holiday", "off"} & set(words):
            return "closed"
    return None


def _checked(schedule: OfficialSchedule, errors: list[ScheduleError]) -> OfficialSchedule:
    if not errors and not schedule.years:
        errors.append(ScheduleError(1, "no day in the file: nothing to load"))
    if errors:
        raise ScheduleInvalid(errors)
    return schedule
