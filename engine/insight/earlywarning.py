"""Early warnings (R-6): monitors evaluated in SQL, one open warning per monitor and scope.

A monitor whose metric passes a level opens a warning and, with it, a record of the pack's
response flow (R-6.3). While that warning is open the same monitor and scope raise its level
(general → important → severe), never a second warning; a lower reading changes nothing, and a
quiet period closes nothing: people close a warning by finishing its response record. A severe
warning tells the pack's `warnings.notify` audiences once, through the outbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.events import WarningEscalated
from engine.insight import customersignals, metrics
from engine.records import intake, transitions
from engine.records.intake import NewRecord
from engine.records.journal import SYSTEM, add_event, notify
from engine.specs.insight import LEVELS, MonitorSpec
from engine.specs.pack import PackSpec
from engine.store.models import EarlyWarning, PackVersion, Record

STAFF = "staff"
WEEK = timedelta(days=7)
MAX_TEXT = 4000


@dataclass(frozen=True)
class Signal:
    """What a monitor (or a person) saw: where, how bad, the value and what it was compared with."""

    monitor: str
    scope: str
    level: str
    title: str
    description: str
    value: float | None = None
    reference: float | None = None


@dataclass(frozen=True)
class Outcome:
    warning: EarlyWarning
    opened: bool
    escalated: bool
    notified: bool


def evaluate(
    session: Session, pack: PackSpec, version: PackVersion, now: datetime
) -> list[Outcome]:
    """Measure every monitor of the pack at `now` and open or escalate warnings."""
    outcomes = []
    for monitor in pack.insight.monitors:
        for signal in signals(session, pack, monitor, now):
            outcomes.append(raise_warning(session, pack, version, signal, actor=SYSTEM, now=now))
    return outcomes


def signals(session: Session, pack: PackSpec, monitor: MonitorSpec, now: datetime) -> list[Signal]:
    """The scopes where the monitor's reading passes a level now, with the level."""
    if monitor.metric in customersignals.METRICS:  # against the window before, no baseline
        current = customersignals.measure(session, pack, monitor, now)
    else:
        current = metrics.measure(session, pack, monitor, [(now - monitor.window, now)])
    baseline: dict[str, tuple[float, int]] = {}
    if monitor.baseline is not None and current:
        earlier = [
            (now - monitor.window - k * WEEK, now - k * WEEK)
            for k in range(1, monitor.baseline.weeks + 1)
        ]
        baseline = metrics.measure(session, pack, monitor, earlier)
    found = []
    for scope, (value, count) in sorted(current.items()):
        if count < monitor.min_count:
            continue
        reference = None
        if monitor.baseline is not None:
            reference = max(baseline.get(scope, (0.0, 0))[0], monitor.baseline.floor)
        level = monitor.level_for(value, reference)
        if level is not None:
            found.append(
                Signal(
                    monitor.id,
                    scope,
                    level,
                    monitor.title,
                    _describe(monitor, scope, value, reference),
                    value,
                    reference,
                )
            )
    return found


def _describe(monitor: MonitorSpec, scope: str, value: float, reference: float | None) -> str:
    where = "" if scope == metrics.ALL else f"（{scope}）"
    window = _window_text(monitor.window)
    against = f"，基线 {reference:.2f}" if reference is not None else ""
    return f"{monitor.title}{where}：近 {window} {monitor.metric} = {value:.2f}{against}"


def _window_text(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return f"{hours:g} 小时" if hours < 48 else f"{hours / 24:g} 天"


def raise_by_staff(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    *,
    title: str,
    description: str,
    level: str,
    actor: str,
    now: datetime,
) -> Outcome:
    """An internal report from the front line (R-6.1): always a warning of its own."""
    problems = {}
    if level not in LEVELS:
        problems["level"] = " / ".join(LEVELS)
    if not title.strip() or len(title) > 200:
        problems["title"] = "1 to 200 characters"
    if not description.strip() or len(description) > MAX_TEXT:
        problems["description"] = f"1 to {MAX_TEXT} characters"
    if problems:
        raise InvalidInput("the report does not fit: " + ", ".join(problems), fields=problems)
    signal = Signal(STAFF, uuid.uuid4().hex[:16], level, title.strip(), description.strip())
    return raise_warning(session, pack, version, signal, actor=actor, now=now)


def raise_warning(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    signal: Signal,
    *,
    actor: str,
    now: datetime,
) -> Outcome:
    """Open a warning, or raise the level of the open one of the same monitor and scope."""
    flow = pack.insight.warnings
    if flow is None:
        raise InvalidInput(f"pack {pack.name} declares no `warnings` response flow")
    warning = session.scalars(
        select(EarlyWarning)
        .where(
            EarlyWarning.pack == pack.name,
            EarlyWarning.monitor == signal.monitor,
            EarlyWarning.scope == signal.scope,
            EarlyWarning.closed_at.is_(None),
        )
        .with_for_update()
    ).first()
    opened = escalated = False
    if warning is None:
        warning = _open(session, pack, version, signal, actor, now)
        opened = True
    elif LEVELS.index(signal.level) > LEVELS.index(warning.level):
        _escalate(session, pack, warning, signal, actor, now)
        escalated = True
    warning.value, warning.updated_at = signal.value, now
    notified = False
    if warning.level == "severe" and warning.notified_at is None and warning.record is not None:
        for audience in flow.notify:
            notify(
                session,
                warning.record,
                now,
                audience,
                f"warning.{warning.level}",
                {"title": warning.title, "warning_id": warning.id},
                pack=pack,
            )
        warning.notified_at = now
        notified = True
    return Outcome(warning, opened, escalated, notified)


def _open(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    signal: Signal,
    actor: str,
    now: datetime,
) -> EarlyWarning:
    flow = pack.insight.warnings
    assert flow is not None
    record = intake.create_record(
        session,
        pack,
        version,
        NewRecord(
            record_type=flow.record_type,
            channel=flow.channel,
            priority=flow.priorities.get(signal.level),
            fields={
                "level": signal.level,
                "source": "员工上报" if signal.monitor == STAFF else f"监控：{signal.monitor}",
                "description": signal.description,
            },
        ),
        actor=actor,
        now=now,
    )
    warning = EarlyWarning(
        pack=pack.name,
        monitor=signal.monitor,
        scope=signal.scope,
        source=STAFF if signal.monitor == STAFF else "monitor",
        level=signal.level,
        title=signal.title,
        description=signal.description,
        value=signal.value,
        reference=signal.reference,
        raised_by=actor,
        opened_at=now,
        updated_at=now,
        record=record,
    )
    session.add(warning)
    session.flush()
    return warning


def _escalate(
    session: Session,
    pack: PackSpec,
    warning: EarlyWarning,
    signal: Signal,
    actor: str,
    now: datetime,
) -> None:
    flow = pack.insight.warnings
    assert flow is not None
    old = warning.level
    warning.level, warning.escalated_at = signal.level, now
    warning.description, warning.reference = signal.description, signal.reference
    record = warning.record
    if record is None or not record.is_open:
        return
    record.fields = {**record.fields, "level": signal.level}
    record.updated_at = now
    escalated = WarningEscalated(old, signal.level, signal.description)
    add_event(session, record, now, escalated, actor=actor)
    priority = flow.priorities.get(signal.level)
    if priority and pack.priority_rank(priority) < record.priority_rank:
        transitions.change_priority(
            session, pack, record, priority, f"预警升级为 {signal.level}", actor=actor, now=now
        )


def close_for(session: Session, record: Record, now: datetime) -> None:
    """The response record is finished: its warning closes (R-6.3), so a new one may open."""
    warning = session.scalars(
        select(EarlyWarning).where(
            EarlyWarning.record_id == record.id, EarlyWarning.closed_at.is_(None)
        )
    ).first()
    if warning is not None:
        warning.closed_at = warning.updated_at = now


def open_warnings(session: Session, pack: str | None = None) -> list[EarlyWarning]:
    statement = select(EarlyWarning).where(EarlyWarning.closed_at.is_(None))
    if pack is not None:
        statement = statement.where(EarlyWarning.pack == pack)
    return list(session.scalars(statement.order_by(EarlyWarning.opened_at.desc())))
