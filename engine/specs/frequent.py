"""What a pack declares about frequent problems becoming improvement actions (R-7.2).

The pack key `improvement`: a category is frequent once `at_least` records of it were
received within `window`; it then becomes an improvement action for the department
responsible for it (its `categories` — a known problem counts under its category), with a
deadline `deadline` later, and the department is told at its `email` addresses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from engine.time.durations import DurationError, parse_duration

Path = tuple[str | int, ...]
Problem = Callable[[Path, str, str | None], None]


@dataclass(frozen=True)
class Responsible:
    """A department answering for some categories, and where it is told."""

    department: str
    categories: tuple[str, ...]
    emails: tuple[str, ...] = ()


@dataclass(frozen=True)
class FrequentSpec:
    """When a category is frequent, and who answers for each (R-7.2)."""

    at_least: int
    window: timedelta
    deadline: timedelta
    responsible: tuple[Responsible, ...]

    def department_of(self, category: str) -> Responsible | None:
        return next((r for r in self.responsible if category in r.categories), None)


def build_frequent(pack: Mapping[str, Any], problem: Problem) -> FrequentSpec | None:
    """The `improvement` key as values, or None; departments and categories must exist."""
    data = pack.get("improvement")
    if not data:
        return None
    departments = pack.get("departments") or {}
    categories = pack.get("categories") or {}
    responsible = []
    for did, entry in (data.get("departments") or {}).items():
        path: Path = ("improvement", "departments", did)
        if did not in departments:
            problem(path, f"unknown department '{did}'", "name one of `departments`")
        for i, cid in enumerate(entry.get("categories") or ()):
            if cid not in categories:
                problem((*path, "categories", i), f"unknown category '{cid}'", "name a category")
        found = Responsible(
            did, tuple(entry.get("categories") or ()), tuple(entry.get("email") or ())
        )
        responsible.append(found)
    return FrequentSpec(
        int(data.get("at_least", 5)),
        _span(data, "window", "7 days", problem),
        _span(data, "deadline", "14 days", problem),
        tuple(responsible),
    )


def _span(data: Mapping[str, Any], key: str, default: str, problem: Problem) -> timedelta:
    try:
        duration = parse_duration(data.get(key, default))
        if duration.working:
            raise DurationError(f"'{duration.text}' is working time", "write calendar days")
    except DurationError as exc:
        problem(("improvement", key), exc.message, exc.hint)
        return timedelta(days=7)
    return timedelta(seconds=duration.seconds())
