"""The daily rollup of self-service outcomes (issue #23 item 6), written set-based.

Outcomes are append-only rows stamped with the engine's now, so once a day has closed in the
pack's reporting zone nothing is added to it: each closed day is rolled once, by one
`INSERT … SELECT … GROUP BY` over the days since the last run, and `selfservice_rolled` says
how far (and in which zone the days were cut; a pack that changes its zone is rolled again
from its first outcome). The dashboard reads rolled days from `selfservice_daily` and only
the days since from the outcomes (engine.selfservice.figures), as the KPIs do.

On SQLite, which has no zones, a day is cut at the zone's offset at the end of the run, like
the live KPIs (`kpis.day_of`); China keeps no daylight saving time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, insert, select
from sqlalchemy.orm import Session

from engine.insight.kpis import day_of, day_span
from engine.specs.pack import PackSpec
from engine.store.models import SelfServiceDaily, SelfServiceOutcome, SelfServiceRolled

GROUPS = ("kind", "source", "article_id", "query")


def roll_up(session: Session, pack: PackSpec, now: datetime) -> int:
    """Roll the pack's closed days not rolled yet; the rows written. Locks the pack's state
    row, so two schedulers take turns instead of counting a day twice."""
    zone = pack.timezone
    through = now.astimezone(zone).date() - timedelta(days=1)
    state = session.scalars(
        select(SelfServiceRolled).where(SelfServiceRolled.pack == pack.name).with_for_update()
    ).first()
    if state is not None and state.timezone != str(zone):
        session.execute(delete(SelfServiceDaily).where(SelfServiceDaily.pack == pack.name))
        session.delete(state)
        session.flush()
        state = None
    first = _first_day(session, pack, state)
    if first is None or first > through:
        return 0
    start, end = day_span(first, zone)[0], day_span(through, zone)[1]
    day = day_of(session, SelfServiceOutcome.at, str(zone), end).label("day")
    groups = [getattr(SelfServiceOutcome, name) for name in GROUPS]
    sums = (
        select(SelfServiceOutcome.pack, day, *groups, func.count().label("count"))
        .where(
            SelfServiceOutcome.pack == pack.name,
            SelfServiceOutcome.at >= start,
            SelfServiceOutcome.at < end,
        )
        .group_by(SelfServiceOutcome.pack, day, *groups)
    )
    written = session.execute(
        insert(SelfServiceDaily).from_select(["pack", "day", *GROUPS, "count"], sums)
    )
    if state is None:
        session.add(
            SelfServiceRolled(pack=pack.name, through=through, timezone=str(zone), rolled_at=now)
        )
    else:
        state.through, state.rolled_at = through, now
    return cast(CursorResult[Any], written).rowcount


def rolled_through(session: Session, pack: PackSpec) -> date | None:
    """The last day of the pack the rollup answers for, in its current zone; None for none."""
    state = session.get(SelfServiceRolled, pack.name)
    if state is None or state.timezone != str(pack.timezone):
        return None
    return state.through


def _first_day(session: Session, pack: PackSpec, state: SelfServiceRolled | None) -> date | None:
    """The day after the last one rolled, or the day of the pack's first outcome."""
    if state is not None:
        return state.through + timedelta(days=1)
    earliest = session.scalar(
        select(func.min(SelfServiceOutcome.at)).where(SelfServiceOutcome.pack == pack.name)
    )
    return None if earliest is None else earliest.astimezone(pack.timezone).date()
