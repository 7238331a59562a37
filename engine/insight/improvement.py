"""Improvement actions (R-7): owner, deadline, the KPI they should move, its value before and after.

The value before is measured when the action is created, over the `window_days` before then;
the value after over the same length of time before the deadline, by the scheduled job once the
deadline has passed. Both are the same KPI aggregate, so before and after compare like with like.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.insight import kpis
from engine.specs.insight import KPI_NAMES
from engine.specs.pack import PackSpec
from engine.store.models import ImprovementAction

MAX_WINDOW_DAYS = 366


def kpi_filter(
    pack: PackSpec,
    start: datetime,
    end: datetime,
    *,
    category: str | None = None,
    channel: str | None = None,
    department: str | None = None,
    record_type: str | None = None,
) -> kpis.KpiFilter:
    """The KPI filter for one pack, reading its records the way its `kpis` key says."""
    flow = pack.insight.warnings
    reading = pack.insight.kpis
    return kpis.KpiFilter(
        start=start,
        end=end,
        pack=pack.name,
        channel=channel,
        department=department,
        category=category,
        record_type=record_type,
        exclude_types=tuple(sorted(({flow.record_type} if flow else set()) | pack.care_task_types)),
        response_target=reading.response_target,
        handling_target=reading.handling_target,
        first_contact=reading.first_contact,
        timezone=pack.timezone.key,
        cutoffs=pack.insight.cutoffs,
    )


def measure(
    session: Session,
    pack: PackSpec,
    metric: str,
    until: datetime,
    window_days: int,
    category: str | None = None,
) -> float | None:
    f = kpi_filter(pack, until - timedelta(days=window_days), until, category=category)
    return kpis.report(session, f).values.get(metric)


def create_action(
    session: Session,
    pack: PackSpec,
    *,
    title: str,
    owner: str,
    deadline: datetime,
    metric: str,
    window_days: int,
    category: str | None,
    warning_id: int | None,
    actor: str,
    now: datetime,
) -> ImprovementAction:
    problems = {}
    if not title.strip() or len(title) > 200:
        problems["title"] = "1 to 200 characters"
    if not owner.strip() or len(owner) > 128:
        problems["owner"] = "who answers for it"
    if deadline <= now:
        problems["deadline"] = "must lie in the future"
    if metric not in KPI_NAMES:
        problems["metric"] = "one of " + ", ".join(KPI_NAMES)
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        problems["window_days"] = f"1 to {MAX_WINDOW_DAYS}"
    if category is not None and category not in pack.categories:
        problems["category"] = f"not a category of {pack.name}"
    if problems:
        raise InvalidInput("the action does not fit: " + ", ".join(problems), fields=problems)
    action = ImprovementAction(
        pack=pack.name,
        title=title.strip(),
        owner=owner.strip(),
        deadline=deadline,
        metric=metric,
        window_days=window_days,
        value_before=measure(session, pack, metric, now, window_days, category),
        warning_id=warning_id,
        category=category,
        created_by=actor,
        created_at=now,
    )
    session.add(action)
    return action


def measure_due(
    session: Session, spec_of: Callable[[str], PackSpec], now: datetime, *, limit: int = 100
) -> list[ImprovementAction]:
    """Measure the value after of every action whose deadline has passed, once each."""
    due = list(
        session.scalars(
            select(ImprovementAction)
            .where(ImprovementAction.measured_at.is_(None), ImprovementAction.deadline <= now)
            .order_by(ImprovementAction.deadline, ImprovementAction.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for action in due:
        pack = spec_of(action.pack)
        action.value_after = measure(
            session, pack, action.metric, action.deadline, action.window_days, action.category
        )
        action.measured_at = now
    return due
