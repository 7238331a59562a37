"""Two agents send one bounced reply again at the same moment, over two PostgreSQL connections:
one new outbox row, and the other agent is told someone was first (issue #20, part 5)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, select

from engine.errors import ConflictError
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.db import make_session_factory
from engine.store.models import OutboxMessage
from engine.time.clock import VirtualClock
from tests.integration.test_mail_intake import bounce_of, mail
from tests.pg.test_race import RendezvousClock

pytestmark = pytest.mark.pg


def test_one_of_two_racing_resends_queues_the_reply_and_the_other_conflicts(
    pg_engine: Engine,
    clock: VirtualClock,
    after_sales: PackSource,
) -> None:
    setup = Services(make_session_factory(pg_engine), clock)
    setup.publish(after_sales, by="test")
    record_id = setup.take_mail("after_sales", "email", mail("洗衣机漏水", "一直漏水")).record_id
    assert record_id is not None
    reply = setup.reply(record_id, "工程师明天上门。", channel="email", actor="li")
    assert reply.outbox_id is not None
    assert setup.take_mail("after_sales", "email", bounce_of(reply.outbox_id)).action == "bounced"
    racing = Services(make_session_factory(pg_engine), RendezvousClock(clock, 2), setup.specs)
    outcomes: dict[str, object] = {}

    def race(name: str) -> None:
        try:
            racing.resend(record_id, reply.id, actor=name)
            outcomes[name] = "won"
        except Exception as exc:  # collected and asserted below
            outcomes[name] = exc

    threads = [threading.Thread(target=race, args=(name,)) for name in ("li", "wang")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == ["li", "wang"]
    won = [name for name, outcome in outcomes.items() if outcome == "won"]
    lost = [outcome for outcome in outcomes.values() if outcome != "won"]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], ConflictError), outcomes
    with setup.session_factory() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [row.status for row in rows] == ["bounced", "pending"]
    (entry,) = [e for e in setup.thread(record_id) if e.message.direction == "out"]
    assert (entry.message.outbox_id, entry.state) == (rows[1].id, "queued")
