"""Two transitions racing on one record over two PostgreSQL connections: one wins, one conflicts."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import Engine, func, select

from engine.errors import ConflictError
from engine.records import intake
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.db import make_engine, make_session_factory
from engine.store.models import Record, RecordEvent, SlaClock, Timer
from engine.time.clock import VirtualClock

pytestmark = pytest.mark.pg


class RendezvousClock:
    """Both racers read the clock after loading the record: neither commits before both loaded."""

    def __init__(self, inner: VirtualClock, parties: int) -> None:
        self.inner = inner
        self.barrier = threading.Barrier(parties, timeout=20)

    def now(self) -> datetime:
        self.barrier.wait()
        return self.inner.now()


def test_one_of_two_racing_transitions_wins_and_the_other_conflicts(
    pg_engine: Engine, clock: VirtualClock, after_sales: PackSource
) -> None:
    setup = Services(make_session_factory(pg_engine), clock)
    setup.publish(after_sales, by="test")
    record = setup.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            fields={"customer_no": "C-7", "contact": "13800000007", "description": "报错 E3"},
        ),
        actor="api",
    )
    racing = Services(make_session_factory(pg_engine), RendezvousClock(clock, 2), setup.specs)
    outcomes: dict[str, object] = {}

    def race(name: str, transition: str, form: dict[str, str]) -> None:
        try:
            racing.transition(record.id, transition, form, actor=name)
            outcomes[name] = "won"
        except Exception as exc:  # collected and asserted below
            outcomes[name] = exc

    threads = [
        threading.Thread(
            target=race, args=("alice", "accept", {"category": "quality", "priority": "P1"})
        ),
        threading.Thread(target=race, args=("bob", "solve_on_spot", {"solution": "重启即可"})),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(map(str, outcomes)) == ["alice", "bob"]
    winners = [name for name, outcome in outcomes.items() if outcome == "won"]
    losers = [outcome for outcome in outcomes.values() if outcome != "won"]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], ConflictError)
    assert "reload it and try again" in str(losers[0])
    with setup.session_factory() as session:
        stage_events = session.scalars(
            select(RecordEvent).where(
                RecordEvent.record_id == record.id, RecordEvent.transition.is_not(None)
            )
        ).all()
        assert [e.actor for e in stage_events] == winners  # nothing of the loser was written
        met = session.scalar(
            select(func.count())
            .select_from(SlaClock)
            .where(SlaClock.record_id == record.id, SlaClock.met_at.is_not(None))
        )
        pending = session.scalar(
            select(func.count())
            .select_from(Timer)
            .where(Timer.record_id == record.id, Timer.status == "pending")
        )
    # Both: the acknowledgement to the customer, armed at intake, not yet swept.
    # alice met `respond` and armed resolve's two timers, progress updates and the extension
    # notice a working day before resolve's deadline (issue #25 item 2, R-3.2);
    # bob met both targets and armed the satisfaction callback and the result notice.
    assert (met, pending) == ((1, 5) if winners == ["alice"] else (2, 3))


class FirstCallRendezvous:
    """Each racer waits for the other at its first clock read only (a retry reads it again)."""

    def __init__(self, inner: VirtualClock, parties: int) -> None:
        self.inner = inner
        self.barrier = threading.Barrier(parties, timeout=20)
        self.seen = threading.local()

    def now(self) -> datetime:
        if not getattr(self.seen, "waited", False):
            self.seen.waited = True
            self.barrier.wait()
        return self.inner.now()


def test_two_first_contacts_of_one_new_customer_at_once_both_become_records(
    pg_engine: Engine, clock: VirtualClock, after_sales: PackSource
) -> None:
    """Both intakes insert customer C-8; the one that waited for the other's commit reads it
    then, with its statement run again (`intakecustomers`), and both records are kept."""
    setup = Services(make_session_factory(pg_engine), clock)
    setup.publish(after_sales, by="test")
    racing = Services(make_session_factory(pg_engine), FirstCallRendezvous(clock, 2), setup.specs)
    outcomes: list[object] = []

    def intake(description: str) -> None:
        new = NewRecord(
            record_type="feedback",
            channel="phone",
            fields={"customer_no": "C-8", "contact": "13800000008", "description": description},
        )
        try:
            outcomes.append(racing.intake("after_sales", new, actor="api")[1])
        except Exception as exc:  # collected and asserted below
            outcomes.append(exc)

    threads = [threading.Thread(target=intake, args=(text,)) for text in ("漏水", "不加热")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes == [True, True]
    with make_session_factory(pg_engine)() as session:
        from engine.store.models import Customer

        assert session.scalar(select(func.count()).select_from(Customer)) == 1
        assert session.scalar(select(func.count()).select_from(Record)) == 2


def test_intakes_of_one_known_customer_do_not_wait_for_each_others_commit(
    pg_database: str, pg_engine: Engine, clock: VirtualClock, after_sales: PackSource
) -> None:
    """A chat pushes each message of one customer: the second intake runs while the first is
    still open. Finding the customer takes no lock on it (issue #24 item 1), so the second
    commits at once; a lock would make it wait for the first and fail at `lock_timeout`."""
    first = Services(make_session_factory(pg_engine), clock)
    first.publish(after_sales, by="test")
    new = NewRecord(
        record_type="feedback",
        channel="online_chat",
        fields={"customer_no": "C-9", "contact": "13800000009", "description": "第一条"},
    )
    first.intake("after_sales", new, actor="api")  # C-9 is known from here on
    impatient = make_engine(pg_database, connect_args={"options": "-c lock_timeout=2000"})
    second = Services(make_session_factory(impatient), clock, first.specs)
    try:
        with first.uow() as uow:
            version = first.specs.latest(uow.session, "after_sales")
            open_one = intake.create_record(
                uow.session, first.specs.of(version), version, new, actor="api", now=clock.now()
            )
            record, created = second.intake("after_sales", new, actor="api")
            assert created and record.customer is not None
            assert record.customer.id == open_one.customer_id
            uow.commit()
    finally:
        impatient.dispose()
    with make_session_factory(pg_engine)() as session:
        assert session.scalar(select(func.count()).select_from(Record)) == 3
