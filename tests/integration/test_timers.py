"""Timers fire once, in virtual time; changes cancel those they make pointless (R-2.4, R-3.2)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from engine.clock import VirtualClock
from engine.records import NewRecord
from engine.services import Services
from engine.store.models import Notification, Record, RecordEvent, Timer
from tests.conftest import SHANGHAI

FIELDS = {"customer_no": "C-9", "contact": "13800000000", "description": "不加热"}


def create(services: Services, priority: str = "P1") -> int:
    return services.create_record(
        "after_sales",
        NewRecord(record_type="feedback", fields=FIELDS, channel="phone", priority=priority),
        actor="agent",
    ).id


def kinds(services: Services, record_id: int) -> list[str]:
    with services.session_factory() as session:
        return list(
            session.scalars(
                select(RecordEvent.kind)
                .where(RecordEvent.record_id == record_id)
                .order_by(RecordEvent.id)
            )
        )


def test_nothing_fires_before_its_time(services: Services, clock: VirtualClock) -> None:
    record_id = create(services)
    clock.set(datetime(2026, 11, 23, 12, 11, tzinfo=SHANGHAI))  # warning is at 12:12
    assert services.fire_due() == []
    assert kinds(services, record_id) == ["stage.pending"]


def test_warning_and_breach_fire_once_each_and_escalate(
    services: Services, clock: VirtualClock
) -> None:
    record_id = create(services)
    clock.set(datetime(2026, 11, 23, 13, 0, tzinfo=SHANGHAI))  # the respond deadline
    fired = services.fire_due()
    assert [f.kind for f in fired] == ["sla_warning", "sla_breach"]
    assert services.fire_due() == []  # exactly once
    assert kinds(services, record_id)[1:] == [
        "sla.respond.warning",
        "sla.respond.escalated",
        "sla.respond.breached",
        "sla.respond.escalated",
    ]
    with services.session_factory() as session:
        record = session.get_one(Record, record_id)
        assert record.priority == "P0"  # raised at the breach
        audiences = sorted(session.scalars(select(Notification.audience)))
        assert audiences == ["owner", "supervisor"]
        later = session.scalars(select(Timer).where(Timer.kind == "sla_escalation")).one()
        assert later.due_at == datetime(2026, 11, 23, 17, 0, tzinfo=SHANGHAI)  # breach + 4 h


def test_after_downtime_every_missed_timer_fires_in_due_order(
    services: Services, clock: VirtualClock
) -> None:
    record_id = create(services)
    clock.advance(timedelta(days=10))
    services.fire_due()
    got = [k for k in kinds(services, record_id) if k.endswith(("warning", "breached"))]
    assert got == [
        "sla.respond.warning",
        "sla.respond.breached",
        "sla.resolve.warning",
        "sla.resolve.breached",
    ]


def test_meeting_the_target_cancels_its_timers(services: Services, clock: VirtualClock) -> None:
    record_id = create(services)
    clock.advance(timedelta(hours=1))
    services.transition(
        record_id, "accept", {"category": "service", "priority": "P1"}, actor="agent"
    )
    clock.set(datetime(2026, 11, 23, 13, 30, tzinfo=SHANGHAI))
    services.fire_due()
    assert not [
        k
        for k in kinds(services, record_id)
        if k.startswith("sla.respond.") and not k.endswith(".met")
    ]


def test_progress_updates_repeat_every_24h_while_in_progress(
    services: Services, clock: VirtualClock
) -> None:
    record_id = create(services, "P2")
    services.transition(
        record_id, "accept", {"category": "service", "priority": "P2"}, actor="agent"
    )
    for _ in range(3):
        clock.advance(timedelta(hours=24))
        services.fire_due()
    assert kinds(services, record_id).count("followup.progress_update") == 3
    services.transition(record_id, "wait_for_customer", {"wait_reason": "等待照片"}, actor="a")
    clock.advance(timedelta(hours=48))
    services.fire_due()
    assert kinds(services, record_id).count("followup.progress_update") == 3


def test_a_failing_timer_is_retried_without_stopping_the_sweep(
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
    services.fire_due()
    with services.session_factory() as session:
        timer = session.get_one(Timer, broken_id)
        assert (timer.status, timer.attempts) == ("pending", 1)
        assert "no_such_kind" in (timer.last_error or "")
    assert "sla.respond.breached" in kinds(services, second)
