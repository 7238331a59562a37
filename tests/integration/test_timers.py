"""Timers fire exactly once, in virtual time, and changes cancel what they make moot (R-2.4, R-3).

Every test runs on SQLite and on PostgreSQL; none sleeps.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event, func, select

from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.models import Notification, Record, RecordEvent, Timer
from engine.time.clock import VirtualClock
from engine.time.timers import SweepResult
from tests.conftest import SHANGHAI

FIELDS = {"customer_no": "C-9", "contact": "13800000000", "description": "不加热"}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def create(services: Services, priority: str = "P1") -> int:
    return services.create_record(
        "after_sales",
        NewRecord(record_type="feedback", fields=FIELDS, channel="phone", priority=priority),
        actor="agent",
    ).id


def history(services: Services, record_id: int) -> list[tuple[datetime, str, dict[str, Any]]]:
    with services.session_factory() as session:
        rows = session.scalars(
            select(RecordEvent).where(RecordEvent.record_id == record_id).order_by(RecordEvent.id)
        )
        return [(e.at, e.kind, e.changes) for e in rows]


def kinds(services: Services, record_id: int) -> list[str]:
    """The record's history but the customer contacts (tests/integration/test_customer_contacts)."""
    return [
        kind
        for _at, kind, _changes in history(services, record_id)
        if not kind.startswith("contact.")
    ]


def sla_fired(result: SweepResult) -> list[str]:
    """What the SLA timers of a sweep did, without the customer contacts it sent too."""
    return [f.kind for f in result.fired if f.kind != "contact"]


def test_nothing_fires_before_its_time(services: Services, clock: VirtualClock) -> None:
    record_id = create(services)
    clock.set(at(23, 12, 11))  # P1 respond: 4 working hours from 09:00, warning at 80 % = 12:12
    assert sla_fired(services.sweep()) == []
    assert kinds(services, record_id) == ["stage.pending"]


def test_warning_at_80_percent_and_breach_at_the_deadline(
    services: Services, clock: VirtualClock
) -> None:
    record_id = create(services)
    clock.set(at(23, 12, 12))
    assert sla_fired(services.sweep()) == ["sla_warning"]
    clock.set(at(23, 13, 0))
    assert sla_fired(services.sweep()) == ["sla_breach"]
    assert services.sweep().fired == []  # exactly once
    events = [e for e in history(services, record_id) if not e[1].startswith("contact.")]
    assert [(when, kind) for when, kind, _ in events[1:]] == [
        (at(23, 12, 12), "sla.respond.warning"),
        (at(23, 13, 0), "sla.respond.breached"),
    ]
    assert events[1][2]["notified"] == ["owner"]
    assert events[2][2]["notified"] == ["supervisor"] and events[2][2]["priority"] == ["P1", "P0"]
    with services.session_factory() as session:
        assert session.get_one(Record, record_id).priority == "P0"  # raised at the breach
        assert sorted(session.scalars(select(Notification.audience))) == ["owner", "supervisor"]
        later = session.scalars(select(Timer).where(Timer.kind == "sla_escalation")).one()
        assert later.due_at == at(23, 17, 0)  # the manager is told 4 h after the breach


def test_meeting_the_target_cancels_its_timers(services: Services, clock: VirtualClock) -> None:
    record_id = create(services)
    clock.advance(timedelta(hours=1))
    services.transition(
        record_id, "accept", {"category": "service", "priority": "P1"}, actor="agent"
    )
    clock.set(at(23, 13, 30))
    services.sweep()
    respond = [k for k in kinds(services, record_id) if k.startswith("sla.respond.")]
    assert respond == ["sla.respond.met"]


def test_the_clock_pauses_while_waiting_on_the_customer(
    services: Services, clock: VirtualClock
) -> None:
    record_id = create(services, "P2")  # resolve: 5 working days = 45 h, due Fri 27th 18:00
    services.transition(
        record_id, "accept", {"category": "service", "priority": "P2"}, actor="agent"
    )
    clock.set(at(24, 9))  # 9 working hours used
    services.transition(record_id, "wait_for_customer", {"wait_reason": "等待照片"}, actor="a")
    clock.set(at(30, 9))  # past the original deadline, but the clock stood still
    assert not [k for k in kinds(services, record_id) if "resolve.breached" in k]
    services.sweep()
    assert not [k for k in kinds(services, record_id) if "resolve.breached" in k]
    services.transition(record_id, "customer_replied", {}, actor="agent")
    with services.session_factory() as session:
        record = session.get_one(Record, record_id)
        resolve = next(c for c in record.clocks if c.target == "resolve")
        # 36 h left from Monday 30th 09:00: Mon, Tue, Wed, Thu of the next week.
        assert resolve.deadline == datetime(2026, 12, 3, 18, 0, tzinfo=SHANGHAI)


def test_progress_updates_every_24h_and_a_callback_2h_after_resolution(
    services: Services, clock: VirtualClock
) -> None:
    record_id = create(services, "P2")
    services.transition(
        record_id, "accept", {"category": "service", "priority": "P2"}, actor="agent"
    )
    for _ in range(3):
        clock.advance(timedelta(hours=24))
        services.sweep()
    assert kinds(services, record_id).count("followup.progress_update") == 3
    clock.advance(timedelta(hours=1))
    services.transition(
        record_id, "resolve", {"solution_type": "service", "solution": "已解释"}, actor="agent"
    )
    clock.advance(timedelta(hours=2))
    services.sweep()
    events = history(services, record_id)
    callbacks = [when for when, kind, _ in events if kind == "followup.satisfaction_callback"]
    assert callbacks == [clock.now()]
    assert kinds(services, record_id).count("followup.progress_update") == 3
    with services.session_factory() as session:
        tasks = session.scalars(
            select(Notification.subject).where(Notification.audience == "owner")
        )
        assert sorted(set(tasks)) == [
            "followup.progress_update",
            "followup.satisfaction_callback",
        ]


def test_after_three_days_down_each_overdue_timer_fires_once_oldest_first(
    services: Services, clock: VirtualClock
) -> None:
    record_id = create(services, "P2")
    services.transition(
        record_id, "accept", {"category": "service", "priority": "P2"}, actor="agent"
    )
    clock.advance(timedelta(days=3))  # the scheduler was down
    services.sweep()
    events = [(when, kind, changes) for when, kind, changes in history(services, record_id)]
    updates = [changes for _, kind, changes in events if kind == "followup.progress_update"]
    # Three missed periods coalesce into one firing that says how late it was.
    assert len(updates) == 1
    assert updates[0]["missed_periods"] == 2
    assert updates[0]["late_seconds"] == 2 * 24 * 3600
    with services.session_factory() as session:
        upcoming = session.scalars(
            select(Timer.due_at).where(
                Timer.status == "pending", Timer.kind == "followup", Timer.name == "progress_update"
            )
        ).one()
    assert upcoming == at(27, 9, 0)  # the rhythm resumes: 09:00 each day
    fired = [kind for _, kind, _ in events if kind.startswith("sla.")]
    assert fired == ["sla.respond.met"]  # 27 of 45 working hours used: no warning yet
    assert services.sweep().fired == []


def test_a_sweep_does_not_query_per_timer(
    services: Services, clock: VirtualClock, db_engine: Engine
) -> None:
    for _ in range(30):
        create(services, "P0")
    services.sweep()  # the acknowledgements to the customers, at once
    clock.advance(timedelta(minutes=100))  # every P0 respond warning (at 96 min) is due
    statements: list[str] = []
    event.listen(db_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    fired = services.sweep().fired
    assert len(fired) == 30
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # Claim, records, clocks, pack version (and on SQLite the next ids of the batch's events
    # and notifications): per batch, not per timer.
    assert len(reads) <= 8, reads


def test_a_timer_cannot_take_effect_twice(services: Services, clock: VirtualClock) -> None:
    record_id = create(services)
    clock.set(at(23, 12, 12))
    warning = services.sweep().fired[0]
    with services.session_factory() as session:  # pretend a crashed sweep left it pending
        session.get_one(Timer, warning.timer_id).status = "pending"
        session.commit()
    result = services.sweep()
    assert (result.fired, result.failed) == ([], 1)
    assert kinds(services, record_id).count("sla.respond.warning") == 1
    with services.session_factory() as session:
        timer = session.get_one(Timer, warning.timer_id)
        assert "IntegrityError" in (timer.last_error or "")


def test_a_failing_timer_is_retried_without_stopping_its_batch(
    services: Services, clock: VirtualClock
) -> None:
    first, second = create(services), create(services)
    with services.session_factory() as session:
        broken = session.scalars(select(Timer).where(Timer.record_id == first)).first()
        assert broken is not None
        broken.kind = "no_such_kind"
        session.commit()
        broken_id = broken.id
    clock.advance(timedelta(days=1))
    result = services.sweep()
    assert result.failed == 1
    with services.session_factory() as session:
        timer = session.get_one(Timer, broken_id)
        assert (timer.status, timer.attempts) == ("pending", 1)
        assert "no_such_kind" in (timer.last_error or "")
        fired = session.scalar(
            select(func.count()).select_from(Timer).where(Timer.status == "fired")
        )
    assert fired is not None and fired >= 3
    assert "sla.respond.breached" in kinds(services, second)
