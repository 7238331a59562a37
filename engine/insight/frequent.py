"""Frequent problems become improvement actions for the responsible department (R-7.2).

A category of a pack is frequent once the pack's `improvement.at_least` records of it were
received within `improvement.window` before now (one GROUP BY). Each frequent category a
department answers for becomes one improvement action — owner: that department — measured
like any other (volume of the category before and after, R-7.1), and the department is told
by mail. While that action is open (not yet measured) no second one is raised; the partial
unique index `uq_improvement_actions_open` holds that across schedulers too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.insight import improvement
from engine.specs.frequent import FrequentSpec
from engine.specs.pack import PackSpec
from engine.store.models import ImprovementAction, OutboxMessage, Record

ACTOR = "frequent-problems"


def frequent_categories(
    session: Session, pack: PackSpec, spec: FrequentSpec, now: datetime
) -> dict[str, int]:
    """{category: records received in (now − window, now]} at or above the threshold: the
    record that reaches it counts at once."""
    f = improvement.kpi_filter(pack, now - spec.window, now)
    n = func.count(Record.id)
    rows = session.execute(
        select(Record.category, n)
        .where(Record.pack == pack.name, Record.received_at > f.start, Record.received_at <= now)
        .where(Record.category.is_not(None), Record.record_type.not_in(f.exclude_types))
        .group_by(Record.category)
        .having(n >= spec.at_least)
    )
    return {str(category): int(count) for category, count in rows}


def open_actions(session: Session, pack: str) -> set[tuple[str | None, str | None]]:
    """(department, category) of the pack's open department actions."""
    rows = session.execute(
        select(ImprovementAction.department, ImprovementAction.category).where(
            ImprovementAction.pack == pack,
            ImprovementAction.measured_at.is_(None),
            ImprovementAction.department.is_not(None),
        )
    )
    return {(d, c) for d, c in rows}


def raise_actions(session: Session, pack: PackSpec, now: datetime) -> list[ImprovementAction]:
    """One action per frequent category without an open one, its department told; the caller
    commits (a racing scheduler's commit fails on the unique index, mail and all)."""
    spec = pack.insight.frequent
    if spec is None:
        return []
    already = open_actions(session, pack.name)
    raised = []
    for category, count in sorted(frequent_categories(session, pack, spec, now).items()):
        responsible = spec.department_of(category)
        if responsible is None or (responsible.department, category) in already:
            continue
        title = pack.categories[category].title if category in pack.categories else category
        department = pack.departments.get(responsible.department)
        action = ImprovementAction(
            pack=pack.name,
            title=f"高频问题：{title}（{spec.window.days} 天 {count} 条）",
            owner=department.title if department else responsible.department,
            department=responsible.department,
            deadline=now + spec.deadline,
            metric="volume",
            window_days=max(spec.window.days, 1),
            value_before=float(count),
            warning_id=None,
            category=category,
            created_by=ACTOR,
            created_at=now,
        )
        session.add(action)
        session.flush()
        session.add_all(_notices(pack, action, responsible.emails, now))
        raised.append(action)
    return raised


def _notices(
    pack: PackSpec, action: ImprovementAction, emails: tuple[str, ...], now: datetime
) -> list[OutboxMessage]:
    """The department's mail: what is frequent, what is asked, by when."""
    deadline = action.deadline.astimezone(pack.timezone).strftime("%Y-%m-%d %H:%M")
    body = (
        f"{action.owner}：\n{pack.title} 的{action.title}，已列为贵部门的改进措施 "
        f"#{action.id}，请于 {deadline} 前完成整改；届时将对比前后的反馈量。"
    )
    return [
        OutboxMessage(
            channel="email",
            recipient=address,
            subject=f"改进措施 #{action.id} · {action.title}",
            body=body,
            payload={"pack": pack.name, "action": action.id},
            created_at=now,
            next_attempt_at=now,
        )
        for address in emails
    ]
