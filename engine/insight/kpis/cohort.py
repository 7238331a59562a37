"""Which records a KPI reads: the filter of a dashboard or review, as SQL conditions.

The records of a period are those received in it, so every figure of a review describes the
same cohort. The same dimensions select rollup rows, so both sources answer for one filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement

from engine.specs.economics import Cutoffs
from engine.store.models import DailyRollup, Record


@dataclass(frozen=True)
class KpiFilter:
    """Which records: received in [start, end), optionally of one pack, channel, team's department,
    category or record type; `exclude_types` leaves out record types that are not service
    (warning flows); `cutoffs` say which scores count as satisfied, promoter, detractor."""

    start: datetime
    end: datetime
    pack: str | None = None
    channel: str | None = None
    department: str | None = None
    category: str | None = None
    record_type: str | None = None
    exclude_types: tuple[str, ...] = ()
    response_target: str | None = "respond"
    handling_target: str | None = "resolve"
    first_contact: tuple[str, ...] = ()
    timezone: str = "Asia/Shanghai"
    cutoffs: Cutoffs = Cutoffs()


def records_where(f: KpiFilter) -> list[ColumnElement[bool]]:
    return [Record.received_at >= f.start, Record.received_at < f.end, *dims(f, Record)]


def dims(f: KpiFilter, table: type[Record] | type[DailyRollup]) -> list[ColumnElement[bool]]:
    """The filter's pack, channel, department, category and types, on records or rollup rows."""
    conditions = []
    for name in ("pack", "channel", "department", "category", "record_type"):
        value = getattr(f, name)
        if value is not None:
            conditions.append(getattr(table, name) == value)
    if f.exclude_types:
        conditions.append(table.record_type.not_in(f.exclude_types))
    return conditions
