"""A sweep's claim on PostgreSQL: timers and their records locked together (issue #24 item 2)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, insert, text

from engine.records.intake import NewRecord
from engine.records.journal import EVENTS
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.db import make_session_factory
from engine.time.claims import Claimed, claim_with_records
from engine.time.clock import VirtualClock

pytestmark = pytest.mark.pg


def test_a_claimed_batch_holds_its_records_but_not_the_rows_that_reference_them(
    pg_engine: Engine, clock: VirtualClock, after_sales: PackSource
) -> None:
    """A second sweeper claims none of the timers of a record the first holds (so they never
    collide on its rows), while another transaction still adds a row that only references
    the record (a history line, a customer's message): the claim's lock is `NO KEY`."""
    services = Services(make_session_factory(pg_engine), clock)
    services.publish(after_sales, by="test")
    fields = {"customer_no": "C-7", "contact": "13800000007", "description": "报错 E3"}
    new = NewRecord(record_type="feedback", channel="phone", fields=fields, priority="P1")
    record_id = services.create_record("after_sales", new, actor="api").id
    later = clock.now() + timedelta(days=7)  # its warnings and breaches are all due
    with services.session_factory() as first:
        claimed = claim_with_records(first, later, 100)
        assert claimed.timers and list(claimed.records) == [record_id] and not claimed.held
        with services.session_factory() as second:
            assert claim_with_records(second, later, 100) == Claimed([], {}, [])
        with pg_engine.connect() as other:
            other.execute(text("SET lock_timeout = '3s'"))  # FOR UPDATE would hold it back
            line = {"record_id": record_id, "at": later, "actor": "mail", "kind": "note"}
            other.execute(insert(EVENTS).values(**line, changes={}))
            other.rollback()
        first.rollback()


def test_a_record_an_agent_holds_leaves_its_timers_for_a_later_sweep(
    pg_engine: Engine, clock: VirtualClock, after_sales: PackSource
) -> None:
    """Timers of a record someone else has locked are claimed, handed back as `held` and not
    fired; the sweep passes over them (it ends rather than claiming them again and again)
    and fires them once the record is free."""
    services = Services(make_session_factory(pg_engine), clock)
    services.publish(after_sales, by="test")
    fields = {"customer_no": "C-8", "contact": "13800000008", "description": "不制冷"}
    new = NewRecord(record_type="feedback", channel="phone", fields=fields, priority="P1")
    record_id = services.create_record("after_sales", new, actor="api").id
    clock.advance(timedelta(days=7))
    with pg_engine.connect() as agent:
        agent.execute(text("SELECT id FROM records WHERE id = :id FOR UPDATE"), {"id": record_id})
        with services.session_factory() as sweeper:
            claimed = claim_with_records(sweeper, clock.now(), 100)
            assert claimed.timers == [] and claimed.records == {} and claimed.held
            sweeper.rollback()
        assert services.sweep().fired == []
        agent.rollback()
    assert services.sweep().fired


def test_two_sweepers_in_one_process_fire_a_backlog_once(
    pg_engine: Engine, clock: VirtualClock, after_sales: PackSource
) -> None:
    """On PostgreSQL a sweep runs `SWEEPERS` threads that share the due timers, then the due
    customer contacts, as processes do: every due timer fires once, none is left pending,
    none fires twice (the history carries each timer's id once)."""
    services = Services(make_session_factory(pg_engine), clock)
    services.publish(after_sales, by="test")
    for number in range(12):
        fields = {"customer_no": f"C-{number}", "contact": "13800000009", "description": "漏水"}
        new = NewRecord(record_type="feedback", channel="phone", fields=fields, priority="P1")
        services.create_record("after_sales", new, actor="api")
    clock.advance(timedelta(days=7))
    result = services.sweep(batch_size=2)  # the timers, then the customer contacts
    fired = [f.timer_id for f in result.fired if f.outcome == "fired"]
    assert len(fired) == len(set(fired)) > 24  # warnings and breaches of 12 records at least
    with pg_engine.connect() as conn:
        due = "SELECT count(*) FROM timers WHERE status = 'pending' AND due_at <= :now"
        assert conn.execute(text(due), {"now": clock.now()}).scalar_one() == 0
        twice = "SELECT count(*) - count(DISTINCT timer_id) FROM record_events WHERE timer_id > 0"
        assert conn.execute(text(twice)).scalar_one() == 0
