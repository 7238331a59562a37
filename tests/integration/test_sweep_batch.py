"""A batch of timers fired set-based writes what firing them one by one wrote (R-2.4, R-3).

Two records whose respond warning and breach both come due fire in one batch: the
history, the notifications, the outbox rows (people's messages and integrations'
webhooks, in the order they happened), the records' and clocks' changes are pinned
here. Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from engine.access import tokens
from engine.delivery import webhooks
from engine.delivery.outbound import OutboundPolicy
from engine.errors import ConflictError
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.models import (
    Notification,
    OutboxMessage,
    Record,
    RecordEvent,
    ThreadMessage,
    Timer,
)
from engine.time.clock import VirtualClock
from engine.time.timers import sweep
from tests.conftest import DEFAULT_RECIPIENTS, SHANGHAI
from workflows.loader import load_pack_from_files
from workflows.validate import source_of

RECIPIENTS = """
  recipients:
    supervisor: {email: [supervisor@example.com]}
"""


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 23, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def desk(services: Services, after_sales: PackSource) -> Services:
    """The pack with the supervisor reachable by email, and an integration subscribed to SLA."""
    text = DEFAULT_RECIPIENTS.sub(RECIPIENTS.lstrip("\n"), after_sales.files["pack.yaml"], 1)
    # The reviews are mailed to the audience that is left (the manager's is gone here).
    reviews = after_sales.files["warnings.yaml"].replace(
        "recipients: [manager]", "recipients: [supervisor]"
    )
    files = {**after_sales.files, "pack.yaml": text, "warnings.yaml": reviews}
    services.publish(
        source_of(load_pack_from_files("after_sales", files, "workflows/after_sales")), by="ops"
    )
    with services.uow() as uow:
        token, _plain = tokens.issue(uow.session, "crm", ["write"], at(8))
        webhooks.subscribe(
            uow.session,
            token.id,
            "http://127.0.0.1:9/hooks",
            ["sla.warning", "sla.breached"],
            at(8),
            policy=OutboundPolicy.allowing(["127.0.0.1"]),  # a local hook, allowed by name
        )
        uow.commit()
    return services


def present(timer_ids: Sequence[int | None]) -> list[int]:
    """The timer ids of rows that each belong to a timer (a missing one fails the comparison)."""
    assert None not in timer_ids, timer_ids
    return [timer_id for timer_id in timer_ids if timer_id is not None]


def create(services: Services, number: str) -> int:
    fields = {"customer_no": number, "contact": "13800000000", "description": "不加热"}
    new = NewRecord(record_type="feedback", fields=fields, channel="phone", priority="P1")
    return services.create_record("after_sales", new, actor="agent").id


def test_a_batch_writes_each_timers_effects_in_the_order_they_happened(
    desk: Services, clock: VirtualClock
) -> None:
    first, second = create(desk, "C-1"), create(desk, "C-2")
    desk.sweep()  # the acknowledgements to the customers, at once
    clock.set(at(13))  # P1 respond: warning 12:12, breach 13:00, both due, all in one batch
    result = desk.sweep()
    assert result.batches == 1
    assert [(f.record_id, f.kind) for f in result.fired] == [
        (first, "sla_warning"),
        (second, "sla_warning"),
        (first, "sla_breach"),
        (second, "sla_breach"),
    ]
    with desk.session_factory() as session:
        events = session.scalars(select(RecordEvent).order_by(RecordEvent.id)).all()
        for record_id in (first, second):
            kinds = [
                (e.kind, e.at, e.changes.get("notified"), e.changes.get("priority"))
                for e in events
                if e.record_id == record_id
                and e.timer_id is not None
                and not e.kind.startswith("contact.")  # the acknowledgements, swept before
            ]
            assert kinds == [
                ("sla.respond.warning", at(13), ["owner"], None),
                ("sla.respond.breached", at(13), ["supervisor"], ["P1", "P0"]),
            ]
            record = session.get_one(Record, record_id)
            assert (record.priority, record.priority_rank) == ("P0", 0)
            respond = next(c for c in record.clocks if c.target == "respond")
            assert (respond.warned_at, respond.breached_at) == (at(12, 12), at(13))
        notifications = session.scalars(select(Notification).order_by(Notification.id)).all()
        assert [(n.record_id, n.audience, n.subject) for n in notifications] == [
            (first, "owner", "sla.respond.warning"),
            (second, "owner", "sla.respond.warning"),
            (first, "supervisor", "sla.respond.breach"),
            (second, "supervisor", "sla.respond.breach"),
        ]
        messages = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.channel != "sms")  # not the acknowledgements to the callers
            .order_by(OutboxMessage.id)
        ).all()
        assert [(m.record_id, m.channel, m.recipient, m.subject[:8]) for m in messages] == [
            (first, "hook", "1", "sla.warn"),
            (second, "hook", "1", "sla.warn"),
            (first, "email", "supervisor@example.com", "【SLA 超时】"),
            (first, "hook", "1", "sla.brea"),
            (second, "email", "supervisor@example.com", "【SLA 超时】"),
            (second, "hook", "1", "sla.brea"),
        ]
        for message in messages:
            if message.channel == "email":
                breach = notifications[2] if message.record_id == first else notifications[3]
                assert message.notification_id == breach.id
                assert message.event_id is None
                continue
            event = session.get_one(RecordEvent, message.event_id)
            assert message.payload["id"] == f"evt_{event.id}" and message.notification_id is None
            assert message.payload["data"]["kind"] == event.kind
            # The record as it was when the event happened: raised by the breach, not before.
            raised = event.kind.endswith("breached")
            assert message.payload["record"]["priority"] == ("P0" if raised else "P1")
        escalations = session.execute(
            select(Timer.record_id, Timer.due_at, Timer.step).where(Timer.kind == "sla_escalation")
        ).all()
        assert sorted(map(tuple, escalations)) == [(first, at(17), 2), (second, at(17), 2)]


def test_a_breach_that_raises_the_priority_makes_an_open_form_stale_and_a_warning_does_not(
    services: Services, clock: VirtualClock
) -> None:
    record_id = create(services, "C-1")
    with services.session_factory() as session:  # an agent opens the record's form now
        version = session.get_one(Record, record_id).row_version
    clock.set(at(12, 12))
    # The warning, and the acknowledgement to the customer: neither shows on the form.
    assert [f.kind for f in services.sweep().fired] == ["sla_warning", "contact"]
    with services.session_factory() as session:
        assert session.get_one(Record, record_id).row_version == version  # nothing shown changed
    clock.set(at(13))
    assert [f.kind for f in services.sweep().fired] == ["sla_breach"]
    form = {"category": "service", "priority": "P1"}
    with pytest.raises(ConflictError):
        services.transition(record_id, "accept", form, actor="agent", expected_version=version)
    services.transition(record_id, "accept", form, actor="agent", expected_version=version + 1)


def test_a_batch_with_a_poison_timer_leaves_no_trace_of_its_first_attempt(
    services: Services, clock: VirtualClock
) -> None:
    first, second = create(services, "C-1"), create(services, "C-2")
    with services.session_factory() as session:  # the second record's breach is broken
        broken = session.scalars(
            select(Timer).where(Timer.record_id == second, Timer.kind == "sla_breach")
        ).first()
        assert broken is not None
        broken.kind = "no_such_kind"
        session.commit()
    services.sweep()  # the acknowledgements to the customers, at once
    clock.set(at(13))
    result = services.sweep()
    assert (len(result.fired), result.failed) == (3, 1)
    with services.session_factory() as session:
        events = session.scalars(
            select(RecordEvent.timer_id).where(
                RecordEvent.timer_id.is_not(None), RecordEvent.kind.not_like("contact.%")
            )
        ).all()
        assert sorted(present(events)) == sorted(f.timer_id for f in result.fired)  # once each
        notifications = session.scalars(select(Notification.timer_id)).all()
        assert sorted(present(notifications)) == sorted(f.timer_id for f in result.fired)
        assert session.get_one(Record, first).priority == "P0"
        assert session.get_one(Record, second).priority == "P1"  # its breach did not happen


def test_a_batch_takes_the_same_statements_whatever_its_size(
    desk: Services, clock: VirtualClock, db_engine: Engine
) -> None:
    """One statement per kind of row per batch (issue #24 item 2): a batch of one warning and
    a batch of five take the same statements, and so do a batch of one breach (with its
    ladder: a task, an email, a webhook, a raised priority, an escalation armed) and of five."""
    for number in range(6):
        create(desk, f"C-{number}")
    desk.sweep()  # the acknowledgements to the customers, at once
    clock.set(at(13))  # six warnings (12:12) come first, then six breaches (13:00)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    def batch(size: int, kind: str) -> list[str]:
        statements.clear()
        event.listen(db_engine, "before_cursor_execute", count)
        try:
            result = sweep(
                desk.session_factory, desk.specs, clock.now(), batch_size=size, max_batches=1
            )
        finally:
            event.remove(db_engine, "before_cursor_execute", count)
        assert [f.kind for f in result.fired] == [kind] * size
        return list(statements)

    one_warning, five_warnings = batch(1, "sla_warning"), batch(5, "sla_warning")
    one_breach, five_breaches = batch(1, "sla_breach"), batch(5, "sla_breach")
    assert len(one_warning) == len(five_warnings), shown(one_warning, five_warnings)
    assert len(one_breach) == len(five_breaches), shown(one_breach, five_breaches)
    # Claim, records, clocks, the subscriptions, events, notifications (SQLite reads the next
    # id of each first), outbox rows, new timers, the followers, clocks, records, the marks,
    # with the transaction and the savepoint: none per timer.
    assert len(five_breaches) <= 18, shown(five_breaches)


def shown(*runs: list[str]) -> str:
    """The statements of each run, one line each, to see which one came per timer."""
    return "\n-----\n".join("\n".join(s[:90].replace("\n", " ") for s in run) for run in runs)


def test_a_batch_of_contacts_takes_the_same_statements_whatever_its_size(
    desk: Services, clock: VirtualClock, db_engine: Engine
) -> None:
    """The acknowledgements to the customers (R-3.2) of one record and of five take the same
    statements (issue #24 item 2): the reads (customers, clocks, agents' replies, deadline
    moves, survey answers, the customers' mail) and the writes (outbox rows, thread messages,
    history lines, the timers' marks) are each one statement for the batch."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    def acknowledge(records: int) -> list[str]:
        created = [create(desk, f"C-{records}-{number}") for number in range(records)]
        statements.clear()
        event.listen(db_engine, "before_cursor_execute", count)
        try:
            fired = desk.sweep().fired
        finally:
            event.remove(db_engine, "before_cursor_execute", count)
        assert [f.kind for f in fired] == ["contact"] * records
        with desk.session_factory() as session:
            told = session.execute(
                select(RecordEvent.record_id, RecordEvent.changes, ThreadMessage, OutboxMessage)
                .join(
                    ThreadMessage, ThreadMessage.id == RecordEvent.changes["message"].as_integer()
                )
                .join(OutboxMessage, OutboxMessage.id == ThreadMessage.outbox_id)
                .where(RecordEvent.kind == "contact.sent", RecordEvent.record_id.in_(created))
                .order_by(RecordEvent.id)
            ).all()
        assert [record_id for record_id, *_ in told] == created  # each once, in order
        for record_id, changes, message, outbox in told:
            assert (changes["channel"], message.channel, outbox.channel) == ("sms", "sms", "sms")
            assert (message.record_id, outbox.record_id) == (record_id, record_id)
            assert (message.author, message.direction) == ("careloop", "out")
            assert outbox.recipient == "13800000000" and outbox.body == message.body
        return list(statements)

    one, five = acknowledge(1), acknowledge(5)
    assert len(one) == len(five), shown(one, five)
    # Each sweep's transactions; the SLA batch's claim (none due); the contacts' claim,
    # records, customers, clocks, the four facts, the savepoint, the outbox rows, the
    # messages, the history lines (SQLite reads the next id of each first), the marks, and
    # the claim that finds none left: none per contact.
    assert len(five) <= 22, shown(five)


def test_a_backlog_is_fired_in_growing_batches(desk: Services, clock: VirtualClock) -> None:
    """After downtime the batches grow (2, 4, then at most 5 × 2): a batch's statements cost
    the same whatever its size; the first batch keeps the size asked for, and every due
    timer fires once."""
    for number in range(8):
        create(desk, f"C-{number}")
    desk.sweep()  # the acknowledgements to the customers, at once
    clock.set(at(14))  # eight warnings and eight breaches came due: 16 timers
    result = sweep(desk.session_factory, desk.specs, clock.now(), batch_size=2, sweepers=1)
    fired = [f for f in result.fired if f.outcome == "fired"]
    assert len(fired) == len({f.timer_id for f in fired}) == 16
    # 2 + 4 + 8 (the cap 10 not reached) + 2 left: four batches, where 2 a batch took eight.
    assert result.batches == 4


def test_a_backlog_of_contacts_is_sent_in_growing_batches(
    desk: Services, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contacts grow their batches as the timers do (issue #24 item 2: at 200,000 late,
    the contacts' part of a catch-up took 12.1 s where batches of the asked size took 16.1 s);
    every contact goes out once."""
    from engine.conversation import contacts
    from engine.time import sweepers

    monkeypatch.setattr(sweepers, "SWEEPERS", 1)  # one sweeper: its batches in order
    created = [create(desk, f"C-{number}") for number in range(9)]  # nine acknowledgements
    sent, batches = contacts.send_due(
        desk.session_factory, desk.specs, desk.links, clock.now(), batch_size=2
    )
    assert sorted(f.record_id for f in sent) == created
    assert len({f.timer_id for f in sent}) == 9
    # 2 + 4 + 3 left (of a batch of 8): three batches, where 2 a batch took five.
    assert batches == 3


def test_the_sweeper_threads_are_as_set_on_postgresql_and_one_on_sqlite(
    db_engine: Engine,
) -> None:
    """CARELOOP_SWEEPERS says how many threads a scheduler sweeps with (issue #24: where two
    processes fill two cores, one thread each was ~10 % faster than two); SQLite has one
    writer, so one whatever is asked."""
    from engine.store.db import make_session_factory
    from engine.time.sweepers import SWEEPERS, how_many

    factory = make_session_factory(db_engine)
    if db_engine.dialect.name == "sqlite":
        assert how_many(factory) == how_many(factory, 4) == 1
    else:
        assert (how_many(factory), how_many(factory, 1), how_many(factory, 4)) == (SWEEPERS, 1, 4)
