"""Which years a calendar's holiday data covers, so a calendar never runs out unnoticed (R-2.8).

Most countries' public holidays follow fixed rules, and the `holidays` package computes them
for any year. A few publish each year's days off and make-up working days (China's 调休) in
an official notice, and the package knows them only for the years it was released with: for
a later year it still gives the rule-based holidays but no 调休 day. The rule:

- a calendar needs yearly data when its `holidays.country` is in ANNUAL_SCHEDULES;
- the package covers the years up to the last one for which it lists that country's
  substituted days (its make-up day table: `special_public_holidays` entries that move a
  day, and `weekend_workdays`); a newer package moves that year on by itself;
- the pack covers the years up to its own `covered_until:` (written by `careloop calendar
  load`, or by hand after adding a year's `closed:`/`working:` lines);
- a year is covered when either covers it; a warning is due when a year from today up to
  `HORIZON` (60 days) ahead, in the calendar's timezone, is not covered.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

from engine.time.clock import require_aware

HORIZON = timedelta(days=60)
# Countries whose working days are set each year by an official notice, with its usual title.
ANNUAL_SCHEDULES = {"CN": "国务院办公厅关于{year}年部分节假日安排的通知"}


class CoverageGap(NamedTuple):
    """A year the calendar reaches within the horizon that its holiday data does not cover."""

    country: str
    year: int
    covered_until: int | None  # the last covered year, None when none is known
    notice: str  # the official notice that gives the year's schedule


@functools.lru_cache(maxsize=64)
def package_covered_until(country: str) -> int | None:
    """The last year for which the installed `holidays` lists `country`'s substituted days."""
    try:
        table = holidays_lib.country_holidays(country, years=2000)
    except NotImplementedError:
        return None
    years = {day.year for day in getattr(table, "weekend_workdays", ())}
    for year, entries in (getattr(table, "special_public_holidays", None) or {}).items():
        items = entries if entries and isinstance(entries[0], tuple) else (entries,)
        if any(len(item) >= 4 for item in items):  # (month, day, from_month, from_day[, year])
            years.add(int(year))
    return max(years, default=None)


def covered_until(config: Mapping[str, Any]) -> int | None:
    """The last year a calendar config's holiday data covers: the package's or the pack's."""
    country = _country(config)
    declared = config.get("covered_until")
    declared = declared if isinstance(declared, int) and not isinstance(declared, bool) else None
    years = [y for y in (package_covered_until(country) if country else None, declared) if y]
    return max(years, default=None)


def coverage_gap(
    config: Mapping[str, Any], now: datetime, horizon: timedelta = HORIZON
) -> CoverageGap | None:
    """The first year from `now` to `now + horizon` the calendar's data misses, if any."""
    require_aware(now)
    country = _country(config)
    if country not in ANNUAL_SCHEDULES:
        return None
    try:
        zone = ZoneInfo(str(config.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    first, last = now.astimezone(zone).year, (now + horizon).astimezone(zone).year
    until = covered_until(config)
    for year in range(first, last + 1):
        if until is None or year > until:
            notice = ANNUAL_SCHEDULES[country].format(year=year)
            return CoverageGap(country, year, until, notice)
    return None


def _country(config: Mapping[str, Any]) -> str | None:
    spec = config.get("holidays")
    if not isinstance(spec, Mapping) or spec.get("country") is None:
        return None
    return str(spec["country"]).strip().upper()
