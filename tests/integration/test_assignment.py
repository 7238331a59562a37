"""Assignment (R-2.2, R-2.3, R-5.2): by team method, within capacity, VIPs to their own agent."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine.access import users
from engine.customers.profiles import upsert_customer
from engine.records.intake import NewRecord
from engine.records.queue import take_next
from engine.services import Services
from engine.store.models import Record, RecordEvent, Team

FIELDS = {"contact": "13800000000", "description": "不出热水"}


def staff(services: Services, method: str, **capacity: int) -> None:
    """Three R&D agents on a team that hands out work by `method`."""
    with services.uow() as uow:
        for name in ("a_li", "b_wu", "c_he"):
            user = users.add_user(
                uow.session, name, "agent", "password123", str, services.clock.now(), team="rnd"
            )
            user.capacity = capacity.get(name, 20)
        uow.session.scalars(select(Team)).one().assign_method = method
        uow.commit()


def routed(services: Services, number: str = "C-1") -> Record:
    """A record accepted as a quality problem: routing sends it to R&D."""
    record = services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback", channel="phone", fields={**FIELDS, "customer_no": number}
        ),
        actor="api",
    )
    return services.transition(
        record.id, "accept", {"category": "quality", "priority": "P2"}, actor="desk"
    )


def test_round_robin_hands_records_out_in_turn(services: Services) -> None:
    staff(services, "round_robin")
    assert [routed(services).assignee for _ in range(4)] == ["a_li", "b_wu", "c_he", "a_li"]


def test_least_open_respects_each_agent_s_capacity(services: Services) -> None:
    staff(services, "least_open", a_li=1, b_wu=1, c_he=0)
    owners = [routed(services).assignee for _ in range(3)]
    assert owners == ["a_li", "b_wu", None]  # nobody has room left: it waits to be taken


def test_a_pull_team_leaves_records_for_take_next(services: Services) -> None:
    staff(services, "pull")
    record = routed(services)
    assert record.assignee is None
    with services.uow() as uow:
        agent = users.get_user(uow.session, 1)
        taken = take_next(uow.session, agent, services.clock.now())
        uow.commit()
    assert taken is not None and taken.id == record.id and taken.assignee == "a_li"


def test_a_vip_with_a_dedicated_agent_goes_straight_to_them(services: Services) -> None:
    staff(services, "round_robin")
    with services.uow() as uow:
        upsert_customer(
            uow.session, "C-VIP", {"tier": "vip", "dedicated_agent": "c_he"}, services.clock.now()
        )
        uow.commit()
    record = services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback", channel="phone", fields={**FIELDS, "customer_no": "C-VIP"}
        ),
        actor="api",
    )
    assert record.assignee == "c_he" and record.tier_rank == 0


def test_reassignment_keeps_the_history(services: Services) -> None:
    staff(services, "round_robin")
    record = routed(services)
    with services.session_factory() as session:
        events = session.scalars(
            select(RecordEvent).where(
                RecordEvent.record_id == record.id, RecordEvent.kind == "assigned"
            )
        ).all()
    assert [e.changes["assignee"] for e in events] == [[None, "a_li"]]
    assert [e.actor for e in events] == ["routing"]


@pytest.mark.pg
def test_two_agents_taking_next_at_once_get_different_records(
    pg_database: str, after_sales: object, clock: object
) -> None:
    from engine.store.db import make_engine, make_session_factory
    from tests.conftest import truncate

    engine = make_engine(pg_database)
    truncate(engine)
    services = Services(make_session_factory(engine), clock)  # type: ignore[arg-type]
    services.publish(after_sales, by="test")  # type: ignore[arg-type]
    with services.uow() as uow:
        for name in ("x_one", "y_two"):
            users.add_user(uow.session, name, "agent", "password123", str, services.clock.now())
        uow.commit()
    for number in ("C-1", "C-2"):
        services.create_record(
            "after_sales",
            NewRecord(
                record_type="feedback", channel="phone", fields={**FIELDS, "customer_no": number}
            ),
            actor="api",
        )
    first, second = services.session_factory(), services.session_factory()
    try:
        now = datetime.now().astimezone()
        one = take_next(first, users.get_user(first, 1), now)  # holds its row lock …
        two = take_next(second, users.get_user(second, 2), now)  # … so this one skips it
        assert one is not None and two is not None and one.id != two.id
        first.commit()
        second.commit()
    finally:
        first.close()
        second.close()
        engine.dispose()
