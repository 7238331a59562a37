"""Records advance through the pack's transitions; history is append-only (R-1, R-2, R-3, R-4.1).

Every test here runs on SQLite and on PostgreSQL (the `db_engine` fixture).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.errors import ConflictError, InvalidInput, NotFound, TransitionRefused
from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.models import Customer, Record, RecordEvent, SlaClock, Timer
from engine.time.clock import VirtualClock
from tests.conftest import SHANGHAI

FIELDS = {
    "customer_no": "C-1",
    "customer_name": "王芳",
    "contact": "13812345678",
    "description": "洗衣机漏水",
}


def new(priority: str = "P1", received_at: datetime | None = None) -> NewRecord:
    return NewRecord(
        record_type="feedback",
        fields=dict(FIELDS),
        channel="phone",
        priority=priority,
        received_at=received_at,
    )


def events(services: Services, record_id: int) -> list[tuple[str, str | None, dict[str, Any]]]:
    with services.session_factory() as session:
        rows = session.scalars(
            select(RecordEvent).where(RecordEvent.record_id == record_id).order_by(RecordEvent.id)
        )
        return [(e.kind, e.actor, e.changes) for e in rows]


def test_a_new_record_starts_pending_with_its_clocks_and_timers(services: Services) -> None:
    record = services.create_record("after_sales", new(), actor="agent-7")
    with services.session_factory() as session:
        stored = session.get_one(Record, record.id)
        assert (stored.stage, stored.stage_kind, stored.is_open) == ("pending", "open", True)
        assert stored.customer is not None and stored.customer.number == "C-1"
        clocks = {c.target: c for c in stored.clocks}
        # P1 responds in 4 working hours: Monday 09:00 → 13:00.
        assert clocks["respond"].deadline == datetime(2026, 11, 23, 13, 0, tzinfo=SHANGHAI)
        assert clocks["resolve"].deadline == datetime(2026, 11, 25, 18, 0, tzinfo=SHANGHAI)
        assert stored.next_deadline == clocks["respond"].deadline
        kinds = sorted(session.scalars(select(Timer.kind).where(Timer.record_id == record.id)))
    # Two SLA clocks, each warning and breaching; the acknowledgement to the customer;
    # the reminder one working day before the resolve deadline (`extension_notice`, R-3.2).
    assert kinds == [
        *("contact", "followup", "sla_breach", "sla_breach", "sla_warning", "sla_warning")
    ]
    assert events(services, record.id)[0][:2] == ("stage.pending", "agent-7")


def test_a_record_received_earlier_keeps_its_true_deadline(
    services: Services, clock: VirtualClock
) -> None:
    received = clock.now() - timedelta(hours=3)  # Monday 06:00: counting starts at 09:00
    record = services.create_record("after_sales", new("P0", received_at=received), actor="api")
    respond = next(c for c in record.clocks if c.target == "respond")
    assert respond.started_at == received
    assert respond.deadline == received + timedelta(hours=2)  # P0: 24×7, already overdue


def test_received_in_the_future_or_without_zone_is_refused(
    services: Services, clock: VirtualClock
) -> None:
    with pytest.raises(InvalidInput, match="future"):
        services.create_record(
            "after_sales", new(received_at=clock.now() + timedelta(hours=1)), actor="api"
        )
    with pytest.raises(ValueError, match="naive"):
        services.create_record(
            "after_sales", new(received_at=datetime(2026, 11, 23, 8)), actor="api"
        )


def test_bad_field_values_are_refused_with_each_field_named(services: Services) -> None:
    with pytest.raises(InvalidInput) as caught:
        services.create_record(
            "after_sales",
            NewRecord(
                record_type="feedback",
                channel="fax",
                priority="P9",
                fields={**FIELDS, "purchased_on": "yesterday", "colour": "red"},
            ),
            actor="api",
        )
    assert set(caught.value.fields) == {"channel", "priority", "purchased_on", "colour"}
    with pytest.raises(InvalidInput, match="required"):
        services.create_record(
            "after_sales",
            NewRecord(record_type="feedback", channel="phone", fields={"customer_no": "C-2"}),
            actor="api",
        )
    with services.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Record)) == 0


def test_accept_routes_by_category_and_meets_the_respond_target(
    services: Services, clock: VirtualClock
) -> None:
    record = services.create_record("after_sales", new(), actor="agent")
    clock.advance(timedelta(minutes=30))
    services.transition(
        record.id, "accept", {"category": "quality", "priority": "P1"}, actor="agent-7"
    )
    with services.session_factory() as session:
        stored = session.get_one(Record, record.id)
        assert (stored.stage, stored.department, stored.category) == (
            "in_progress",
            "rnd",
            "quality",
        )
        respond = session.scalars(
            select(SlaClock).where(SlaClock.record_id == record.id, SlaClock.target == "respond")
        ).one()
        assert respond.met_at == clock.now()
        assert stored.next_deadline == datetime(2026, 11, 25, 18, 0, tzinfo=SHANGHAI)
        pending = session.scalars(
            select(Timer.kind).where(
                Timer.record_id == record.id,
                Timer.status == "pending",
                Timer.clock_id == respond.id,
            )
        )
        assert list(pending) == []
    kinds = [kind for kind, _actor, _changes in events(services, record.id)]
    assert kinds == ["stage.pending", "stage.in_progress", "sla.respond.met"]
    changes = events(services, record.id)[1][2]
    assert changes["department"] == [None, "rnd"] and changes["category"] == [None, "quality"]


def test_a_transition_from_the_wrong_stage_is_refused(services: Services) -> None:
    record = services.create_record("after_sales", new(), actor="agent")
    with pytest.raises(TransitionRefused, match="possible now: accept, solve_on_spot"):
        services.transition(record.id, "close", {}, actor="agent")
    with pytest.raises(NotFound, match="no transition 'fly'"):
        services.transition(record.id, "fly", {}, actor="agent")


def test_required_form_fields_and_unknown_fields_are_refused(services: Services) -> None:
    record = services.create_record("after_sales", new(), actor="agent")
    with pytest.raises(InvalidInput, match="required"):
        services.transition(record.id, "accept", {"category": "quality"}, actor="agent")
    with pytest.raises(InvalidInput, match="does not ask for"):
        services.transition(
            record.id,
            "accept",
            {"category": "quality", "priority": "P1", "lessons": "x"},
            actor="agent",
        )


def test_a_guard_refuses_an_engineer_visit_without_its_time(services: Services) -> None:
    record = services.create_record("after_sales", new(), actor="agent")
    services.transition(
        record.id,
        "accept",
        {"category": "quality", "priority": "P1", "resources": "on_site"},
        actor="agent",
    )
    with pytest.raises(TransitionRefused, match="condition"):
        services.transition(
            record.id,
            "resolve",
            {"solution_type": "technical", "solution": "更换电机"},
            actor="agent",
        )
    services.transition(
        record.id,
        "resolve",
        {
            "solution_type": "technical",
            "solution": "更换电机",
            "visit_at": "2026-11-24T10:00:00+08:00",
        },
        actor="agent",
    )


def test_a_stale_expected_version_is_a_conflict(services: Services) -> None:
    record = services.create_record("after_sales", new(), actor="agent")
    seen = record.row_version
    services.transition(
        record.id, "accept", {"category": "service", "priority": "P2"}, actor="agent-1"
    )
    with pytest.raises(ConflictError, match="changed by someone else"):
        services.transition(
            record.id,
            "wait_for_customer",
            {"wait_reason": "x"},
            actor="agent-2",
            expected_version=seen,
        )


def test_closing_stops_every_timer(services: Services, clock: VirtualClock) -> None:
    record = services.create_record("after_sales", new(), actor="agent")
    services.transition(record.id, "solve_on_spot", {"solution": "重启"}, actor="agent")
    services.transition(record.id, "close", {"satisfaction": 5}, actor="agent")
    with services.session_factory() as session:
        stored = session.get_one(Record, record.id)
        assert (stored.is_open, stored.closed_at) == (False, clock.now())
        assert stored.fields["satisfaction"] == 5
        assert stored.fields["solution_type"] == "service"  # the `set` effect
        pending = session.scalar(
            select(func.count())
            .select_from(Timer)
            .where(Timer.record_id == record.id, Timer.status == "pending")
        )
    assert pending == 0


def test_one_customer_collects_all_their_records(services: Services) -> None:
    first = services.create_record("after_sales", new(), actor="agent")
    second = services.create_record("after_sales", new("P2"), actor="agent")
    with services.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 1
        ids = session.scalars(
            select(Record.customer_id).where(Record.id.in_([first.id, second.id]))
        ).all()
    assert len(set(ids)) == 1
