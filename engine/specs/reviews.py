"""What a pack declares about its reviews (R-4.2): when they are built, who gets them, how
the churn table buckets customers.

Frozen values from the pack key `reviews`. The weekly review covers the last full week
(Monday to Sunday) and the monthly one the last full month, both in the pack's zone, like the
dashboard's `week` and `month` periods; each is built at its `weekday`/`day` and `at`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any

from engine.time.durations import DurationError, parse_duration

Path = tuple[str | int, ...]
Problem = Callable[[Path, str, str | None], None]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TOP_BY = ("known_problem", "tag", "category")
DEFAULT_RESOLUTION = (24 * 3600.0, 72 * 3600.0)  # ≤24h, 24–72h, >72h
DEFAULT_SCORES = (2, 3)  # ≤2, 3, ≥4 on a 1–5 scale


@dataclass(frozen=True)
class ReviewSchedule:
    """When one kind of review is built: `weekday` (0 = Monday) or `day` of month, at `at`."""

    kind: str  # weekly | monthly
    at: time
    weekday: int = 0
    day: int = 1


@dataclass(frozen=True)
class ReviewsSpec:
    """The pack's reviews: schedules, recipients' addresses, the top-problem dimension and the
    upper bounds of the churn table's buckets (resolution seconds, satisfaction scores)."""

    schedules: tuple[ReviewSchedule, ...] = ()
    recipients: tuple[str, ...] = ()
    top_by: str = "category"
    resolution_buckets: tuple[float, ...] = DEFAULT_RESOLUTION
    score_buckets: tuple[int, ...] = DEFAULT_SCORES


def build_reviews(pack: Mapping[str, Any], problem: Problem) -> ReviewsSpec:
    """The pack's `reviews` key as values; the JSON Schema has checked shapes, this checks sense.

    A recipient is an email address or an audience of `messages.recipients`, which must exist.
    """
    data = pack.get("reviews") or {}
    audiences = (pack.get("messages") or {}).get("recipients") or {}
    recipients = tuple(str(r) for r in data.get("recipients") or ())
    for i, name in enumerate(recipients):
        if "@" not in name and name not in audiences:
            known = ", ".join(sorted(audiences)) or "none"
            problem(
                ("reviews", "recipients", i),
                f"'{name}' is neither an email address nor an audience of messages.recipients",
                f"name an audience ({known}) or write an address",
            )
    schedules = []
    for kind in ("weekly", "monthly"):
        entry = data.get(kind)
        if entry:
            schedules.append(_schedule(kind, entry, problem))
    return ReviewsSpec(
        tuple(schedules),
        recipients,
        str(data.get("top_problems", "category")),
        _resolution(data.get("resolution_buckets"), problem),
        _rising(data.get("satisfaction_buckets"), DEFAULT_SCORES, "satisfaction_buckets", problem),
    )


def _schedule(kind: str, entry: Mapping[str, Any], problem: Problem) -> ReviewSchedule:
    hour, _, minute = str(entry.get("at", "09:00")).partition(":")
    at = time(int(hour), int(minute or 0))
    if kind == "weekly":
        return ReviewSchedule(kind, at, weekday=WEEKDAYS.index(entry.get("weekday", "monday")))
    day = int(entry.get("day", 1))
    if day > 28:
        problem(("reviews", kind, "day"), f"day {day} is missing from some months", "use 1 to 28")
        day = 28
    return ReviewSchedule(kind, at, day=day)


def _resolution(given: Any, problem: Problem) -> tuple[float, ...]:
    if not given:
        return DEFAULT_RESOLUTION
    bounds = []
    for i, text in enumerate(given):
        try:
            duration = parse_duration(text)
        except DurationError as exc:
            problem(("reviews", "resolution_buckets", i), exc.message, exc.hint)
            return DEFAULT_RESOLUTION
        if duration.working:
            problem(
                ("reviews", "resolution_buckets", i),
                f"'{text}' is working time; resolution time is read on the wall clock",
                "write hours or calendar days, e.g. '24h' or '3 days'",
            )
            return DEFAULT_RESOLUTION
        bounds.append(duration.seconds())
    return _rising(bounds, DEFAULT_RESOLUTION, "resolution_buckets", problem)


def _rising(given: Any, default: tuple[Any, ...], key: str, problem: Problem) -> tuple[Any, ...]:
    if not given:
        return default
    values = tuple(given)
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        problem(("reviews", key), "bucket bounds must rise", "list them smallest first")
        return default
    return values
