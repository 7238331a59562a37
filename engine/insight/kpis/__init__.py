"""KPIs of a period (R-4.2, R-4.3), from sums and counts over the records received in it.

CSAT (share of scores 4–5, in %), average score, NPS (−100…+100), first-contact resolution (%),
average response, handling and resolution hours, SLA attainment (%), volume per channel and per
category with shares (the top problems), volume and CSAT per day. The records of a period are
those received in it, so every figure of a review describes the same cohort.

Each figure is a ratio of additive parts (`Parts`): the days `engine.rollup` has rolled up are
read from `daily_rollup` (a year is a few thousand rows), the rest of the range from the
records, and the parts of both are added before any division, so the figures do not depend on
which days were rolled up.

The package: `cohort` (which records), `parts` (the sums), `live` and `rolled` (the two sources
of a range's parts), `days` (the reporting zone's days); this module adds them up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, RowMapping
from sqlalchemy.orm import Session

from engine.insight.kpis.cohort import KpiFilter, records_where
from engine.insight.kpis.days import as_date, day_of, day_span, fixed_offset
from engine.insight.kpis.live import live_answers, live_days, live_records, live_where
from engine.insight.kpis.parts import (
    ANSWER_PARTS,
    CLOCK_PARTS,
    RECORD_PARTS,
    Parts,
    answer_sums,
    clock_sums,
    record_sums,
)
from engine.insight.kpis.rolled import (
    STALE_MARGIN,
    reading_matches,
    rolled_answers,
    rolled_days,
    rolled_records,
    touched_days,
    usable_days,
)

# What the rollup, the services and the web read of the package, besides the report.
__all__ = [
    "ANSWER_PARTS",
    "CLOCK_PARTS",
    "RECORD_PARTS",
    "STALE_MARGIN",
    "KpiFilter",
    "KpiReport",
    "Parts",
    "answer_sums",
    "clock_sums",
    "day_of",
    "day_span",
    "fixed_offset",
    "reading_matches",
    "record_sums",
    "records_where",
    "report",
    "touched_days",
    "usable_days",
]

T = TypeVar("T")


@dataclass(frozen=True)
class KpiReport:
    values: dict[str, float | None]
    volume: int
    answers: int
    channels: list[tuple[str, int]] = field(default_factory=list)
    categories: list[tuple[str, int, float]] = field(default_factory=list)
    daily: list[tuple[date, int]] = field(default_factory=list)
    daily_csat: list[tuple[date, float]] = field(default_factory=list)


def report(session: Session, f: KpiFilter) -> KpiReport:
    """All the figures of a dashboard or review page.

    Days the rollup holds (whole days of the range, rolled up with this filter's reading and
    untouched since) come from `daily_rollup`; the rest of the range from the records. Both
    sources give the same sums, so the figures are those of the records alone.
    """
    rolled = usable_days(session, f)
    live = live_where(f, rolled)

    def both(
        read_live: Callable[[Session, KpiFilter, Sequence[ColumnElement[bool]]], list[T]],
        read_rolled: Callable[[Session, KpiFilter, Sequence[date]], list[T]],
    ) -> list[T]:
        """Live rows first, then rolled ones, as the parts have always been added."""
        first = [] if live is None else read_live(session, f, live)
        return [*first, *read_rolled(session, f, rolled)]

    totals = Parts()
    channels, categories = _add_records(totals, both(live_records, rolled_records))
    daily = _add_days(both(live_days, rolled_days))
    per_answer_day = _add_answers(totals, both(live_answers, rolled_answers))
    volume = totals.records
    return KpiReport(
        _values(totals, f),
        volume,
        totals.answers,
        [(str(c or "—"), n) for c, n in _by_count(channels)],
        [(str(c or "—"), n, n / volume if volume else 0.0) for c, n in _by_count(categories)],
        [(d, n) for d, n in sorted(daily.items()) if n],
        [
            (d, p.satisfied / p.answers * 100)
            for d, p in sorted(per_answer_day.items())
            if p.answers
        ],
    )


def _add_records(
    totals: Parts, rows: list[RowMapping]
) -> tuple[dict[str | None, int], dict[str | None, int]]:
    """Add record and clock parts to the totals; count records per channel and per category."""
    channels: dict[str | None, int] = {}
    categories: dict[str | None, int] = {}
    for row in rows:
        totals.add(row)
        n = int(row.get("records") or 0)  # 0 in rows of clock parts
        channels[row["channel"]] = channels.get(row["channel"], 0) + n
        categories[row["category"]] = categories.get(row["category"], 0) + n
    return channels, categories


def _add_days(rows: list[tuple[Any, int]]) -> dict[date, int]:
    """Records received per day."""
    daily: dict[date, int] = {}
    for day, n in rows:
        daily[as_date(day)] = daily.get(as_date(day), 0) + int(n or 0)
    return daily


def _add_answers(totals: Parts, rows: list[RowMapping]) -> dict[date, Parts]:
    """Add answer parts to the totals, and per day answered (for CSAT per day)."""
    per_answer_day: dict[date, Parts] = {}
    for row in rows:
        totals.add(row)
        per_answer_day.setdefault(as_date(row["answer_day"]), Parts()).add(row)
    return per_answer_day


def _values(p: Parts, f: KpiFilter) -> dict[str, float | None]:
    """The figures from their parts: each an average or a share of sums over the same rows."""
    return {
        "volume": float(p.records),
        "csat": p.satisfied / p.answers * 100 if p.answers else None,
        "satisfaction_avg": p.score_sum / p.scored if p.scored else None,
        "nps": (p.promoters / p.nps_answers - p.detractors / p.nps_answers) * 100
        if p.nps_answers
        else None,
        "fcr": p.solved_first / p.solved * 100 if f.first_contact and p.solved else None,
        "response_hours": _hours(p.response_seconds, p.response_met),
        "handling_hours": _hours(p.handling_seconds, p.handling_met),
        "resolution_hours": _hours(p.resolution_seconds, p.closed),
        "sla_attainment": p.sla_kept / p.sla_decided * 100 if p.sla_decided else None,
    }


def _by_count(counts: dict[str | None, int]) -> list[tuple[str | None, int]]:
    """Largest first; ties by name, so the order does not depend on the database."""
    return sorted(((k, n) for k, n in counts.items() if n), key=lambda kn: (-kn[1], kn[0] or ""))


def _hours(seconds: float, count: int) -> float | None:
    return seconds / count / 3600 if count else None
