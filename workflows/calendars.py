"""A pack's calendars over the years: warnings before their holiday data runs out, and a year's
official schedule written into the pack's YAML (R-2.8, docs/calendars.md).

The warning names the calendar, where the pack defines it (file:line) and the lines to add; the
rule for what is covered is in engine/time/coverage.py. Loading a schedule edits the file that
defines the calendar in place (workflows.edit), so the draft's diff shows exactly the added
`closed:`/`working:` dates and `covered_until:`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import holidays as holidays_lib
import yaml
from yaml.nodes import CollectionNode, MappingNode, Node

from engine.time.coverage import HORIZON, CoverageGap, coverage_gap, package_covered_until
from engine.time.officialdays import OfficialSchedule
from workflows.edit import edit_sequence, set_value
from workflows.errors import PackInvalid
from workflows.loader import LoadedPack, load_pack_from_files


@dataclass(frozen=True)
class CoverageWarning:
    """A calendar about to reach a year its holiday data does not cover, with the fix."""

    pack: str
    calendar: str
    file: str
    line: int
    gap: CoverageGap
    snippet: str

    @property
    def message(self) -> str:
        gap = self.gap
        until = f"ends with {gap.covered_until}" if gap.covered_until else "is missing"
        return (
            f"calendar '{self.calendar}' reaches {gap.year} within {HORIZON.days} days, but its "
            f"{gap.country} holiday data (days off and make-up working days, 调休) {until}; "
            f"add {gap.year}'s official schedule ({gap.notice}) under calendars.{self.calendar}"
        )

    @property
    def command(self) -> str:
        return f"careloop calendar load {self.pack} {self.calendar} FILE"

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: warning: {self.message}:\n{self.snippet}\n"
            f"  or load the notice into a draft: {self.command}"
        )

    def as_json(self) -> dict[str, Any]:
        where = f"{self.file}:{self.line}"
        return {"pack": self.pack, "calendar": self.calendar, "where": where, "year": self.gap.year}


def coverage_warnings(pack: LoadedPack, now: datetime) -> list[CoverageWarning]:
    """A warning per calendar of `pack` whose holiday data ends within the horizon of `now`."""
    warnings = []
    for name, config in _calendars(pack.data).items():
        gap = coverage_gap(config, now)
        if gap is None:
            continue
        file, line, column = pack.where_key(("calendars", name))
        child = pack.where_key(("calendars", name, "timezone"))
        indent = child[2] - 1 if child[1] > line else column + 1
        snippet = _snippet(config, gap.year, indent, pack, name)
        warnings.append(CoverageWarning(pack.name, name, file, line, gap, snippet))
    return warnings


def published_warnings(
    versions: Iterable[tuple[str, Mapping[str, str]]], now: datetime
) -> list[CoverageWarning]:
    """The warnings of published versions, given as (pack, files)."""
    found: list[CoverageWarning] = []
    for pack, files in versions:
        try:
            loaded = load_pack_from_files(pack, dict(files), f"workflows/{pack}")
        except PackInvalid:
            continue  # a stored version was valid when published; nothing to say about it here
        found.extend(coverage_warnings(loaded, now))
    return found


def _calendars(data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    calendars = data.get("calendars")
    if not isinstance(calendars, Mapping):
        return {}
    return {str(k): v for k, v in calendars.items() if isinstance(v, Mapping)}


def _snippet(config: Mapping[str, Any], year: int, indent: int, pack: LoadedPack, name: str) -> str:
    """The lines to add under the calendar; a list it already has gets its dates appended."""
    pad, lines = " " * indent, []
    for key, what in (("closed", "each day off (休) of the notice"), ("working", "each 班 day")):
        if config.get(key):
            file, line, _ = pack.where_key(("calendars", name, key))
            lines.append(f"{pad}# append to the {key}: list at {file}:{line}")
        lines += [f"{pad}{key}:", f"{pad}  - {year}-MM-DD  # {what}"]
    lines.append(f"{pad}covered_until: {year}")
    return "\n".join(lines)


# -- loading a year's schedule --------------------------------------------------------------


class CalendarLoadError(ValueError):
    """The pack has no such calendar, or the schedule would break it."""


def apply_schedule(pack: LoadedPack, calendar: str, schedule: OfficialSchedule) -> dict[str, str]:
    """The pack's files with `schedule` added to `calendar`: new 休 days to `closed`, new 班 days
    and weekdays the package wrongly thinks are holidays to `working`, `covered_until` raised."""
    config = _loadable(pack, calendar)
    declared = config.get("covered_until")
    working = set(schedule.working) | _not_off(config, schedule)
    files, path = dict(pack.files), ("calendars", calendar)
    owner = pack.owner(path)
    for key, days in (("closed", schedule.closed), ("working", working)):
        old = [str(d) for d in config.get(key) or []]
        new = sorted(d for d in days if str(d) not in old)
        if new:
            files[owner] = _append(files[owner], owner, path, key, len(old), new)
    year = max(schedule.years + [declared or 0])
    if declared != year:
        files[owner] = _set_key(files[owner], owner, path, "covered_until", year)
    return files


def _loadable(pack: LoadedPack, calendar: str) -> Mapping[str, Any]:
    """The calendar's config, refused when it is missing or what loading edits is malformed."""
    config = _calendars(pack.data).get(calendar)
    if config is None:
        known = ", ".join(_calendars(pack.data)) or "none"
        raise CalendarLoadError(f"pack '{pack.name}' has no calendar '{calendar}' (known: {known})")
    for key in ("closed", "working"):
        if not isinstance(config.get(key) or [], list):
            raise CalendarLoadError(f"calendars.{calendar}.{key} is not a list: fix it first")
    declared = config.get("covered_until")
    if declared is not None and (not isinstance(declared, int) or isinstance(declared, bool)):
        raise CalendarLoadError(f"calendars.{calendar}.covered_until is not a year: fix it first")
    return config


def _not_off(config: Mapping[str, Any], schedule: OfficialSchedule) -> set[date]:
    """Weekdays of the schedule's years that the package calls holidays but neither the notice
    nor the calendar gives off (its rule-based guesses, e.g. an 'observed' day): the notice
    lists a year's every day off, so these are working days."""
    spec = config.get("holidays")
    if not isinstance(spec, Mapping) or not spec.get("country"):
        return set()
    country, subdivision = str(spec["country"]).upper(), spec.get("subdivision")
    if max(schedule.years) <= (package_covered_until(country) or 0):
        return set()  # the package knows these years' schedule already: trust both
    table = holidays_lib.country_holidays(country, subdiv=subdivision, years=schedule.years)
    off = {str(day) for day in (*schedule.closed, *(config.get("closed") or []))}
    return {day for day in table if str(day) not in off and day.weekday() not in table.weekend}


def _set_key(text: str, file: str, path: tuple[str, ...], key: str, value: object) -> str:
    return set_value(text, file, (*path, key), value)


def _append(
    text: str, file: str, path: tuple[str, ...], key: str, count: int, days: list[date]
) -> str:
    """Append `days` to the list `key` of the mapping at `path`, creating it as block lines."""
    if count:
        return edit_sequence(text, file, (*path, key), [*range(count), *days])
    node = _mapping_at(yaml.compose(text, Loader=yaml.SafeLoader), path)
    if node is None or node.flow_style or not node.value:
        return set_value(text, file, (*path, key), days)
    column = node.value[0][0].start_mark.column
    at = text.find("\n", _end(node.value[-1][1]))
    at = len(text) if at < 0 else at + 1
    lines = f"{' ' * column}{key}:\n" + "".join(f"{' ' * column}  - {d}\n" for d in days)
    if at == len(text) and not text.endswith("\n"):
        lines = "\n" + lines.removesuffix("\n")
    return text[:at] + lines + text[at:]


def _end(node: Node) -> int:
    """Where a value's own text ends: a block collection's end mark lies past trailing comments."""
    if not isinstance(node, CollectionNode) or node.flow_style or not node.value:
        return int(node.end_mark.index)
    last = node.value[-1]
    return _end(last[1] if isinstance(node, MappingNode) else last)


def _mapping_at(node: Node | None, path: tuple[str, ...]) -> MappingNode | None:
    for step in path:
        if not isinstance(node, MappingNode):
            return None
        node = next((v for k, v in node.value if k.value == step), None)
    return node if isinstance(node, MappingNode) else None


def schedule_years_text(schedule: OfficialSchedule) -> str:
    """'2027' or '2027–2028', for messages."""
    years = schedule.years
    return str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"
