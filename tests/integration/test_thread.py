"""A record's thread (issue #20): replies, notes and the customer's messages, and what each
moves: the first reply meets the respond target, a customer's message resumes the clocks
paused while waiting on them (R-2.4), an email reply goes through the outbox once.

Every test runs on SQLite and on PostgreSQL (the `db_engine` fixture).
"""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine.delivery.outbox import deliver_due
from engine.errors import InvalidInput, NotFound
from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.models import OutboxMessage, RecordEvent, SlaClock, ThreadMessage
from engine.time.clock import VirtualClock
from schedules.senders import SmtpSender
from tests.integration.test_outbox import free_port

EMAIL_CUSTOMER = {
    "customer_no": "C-7",
    "customer_name": "王芳",
    "contact": "wangfang@example.com",
    "description": "洗衣机漏水",
}


def new_record(services: Services, contact: str = "wangfang@example.com") -> int:
    fields = {**EMAIL_CUSTOMER, "contact": contact}
    record = services.create_record(
        "after_sales",
        NewRecord(record_type="feedback", fields=fields, channel="email", priority="P1"),
        actor="test",
    )
    return record.id


def clock_of(services: Services, record_id: int, target: str) -> SlaClock:
    with services.session_factory() as session:
        clock = session.scalars(
            select(SlaClock).where(SlaClock.record_id == record_id, SlaClock.target == target)
        ).one()
        session.expunge(clock)
        return clock


def test_the_first_email_reply_meets_the_respond_target_and_is_queued_once(
    services: Services, clock: VirtualClock
) -> None:
    record_id = new_record(services)
    clock.advance(timedelta(minutes=30))
    services.reply(record_id, "您好，我们已收到，工程师今天联系您。", channel="email", actor="li")
    respond = clock_of(services, record_id, "respond")
    assert respond.met_at == clock.now() and respond.breached_at is None
    clock.advance(timedelta(minutes=5))
    services.reply(record_id, "工程师明早 9 点上门。", channel="email", actor="li")
    with services.session_factory() as session:
        outbox = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        mail = [m for m in outbox if m.channel == "email" and m.record_id == record_id]
        assert [m.recipient for m in mail] == ["wangfang@example.com"] * 2
        assert mail[0].body == "您好，我们已收到，工程师今天联系您。"
        assert f"[CL-{record_id}]" in mail[0].subject
    entries = services.thread(record_id)
    assert [(e.message.direction, e.state) for e in entries] == [("out", "queued")] * 2
    assert [e.message.author for e in entries] == ["li", "li"]


def test_a_note_stays_internal_and_meets_nothing(services: Services) -> None:
    record_id = new_record(services)
    services.note(record_id, "客户上次投诉过同一问题，注意语气。", actor="li")
    (entry,) = services.thread(record_id)
    assert (entry.message.direction, entry.state, entry.message.channel) == (
        "note",
        "internal",
        None,
    )
    assert clock_of(services, record_id, "respond").met_at is None
    with services.session_factory() as session:
        assert (
            session.scalars(select(OutboxMessage).where(OutboxMessage.record_id == record_id)).all()
            == []
        )


def test_a_phone_reply_is_recorded_without_sending_anything(services: Services) -> None:
    record_id = new_record(services, contact="13812345678")
    services.reply(record_id, "已电话告知处理进度。", channel="phone", actor="li")
    (entry,) = services.thread(record_id)
    assert entry.state == "recorded"
    with pytest.raises(InvalidInput, match="no customer email address"):
        services.reply(record_id, "邮件回复", channel="email", actor="li")
    with pytest.raises(InvalidInput, match="not a channel"):
        services.reply(record_id, "传真回复", channel="fax", actor="li")


def test_the_customers_answer_resumes_the_clock_paused_while_waiting_on_them(
    services: Services, clock: VirtualClock
) -> None:
    record_id = new_record(services)
    services.transition(record_id, "accept", {"category": "quality", "priority": "P1"}, actor="li")
    services.transition(record_id, "wait_for_customer", {"wait_reason": "等型号"}, actor="li")
    assert clock_of(services, record_id, "resolve").running_since is None
    clock.advance(timedelta(hours=3))
    taken = services.receive(
        record_id, "型号是 XQG100", channel="email", external_id="<m1@example.com>"
    )
    assert taken is not None
    resolve = clock_of(services, record_id, "resolve")
    assert resolve.running_since == clock.now()
    with services.session_factory() as session:
        kinds = session.scalars(
            select(RecordEvent.kind)
            .where(RecordEvent.record_id == record_id)
            .order_by(RecordEvent.id)
        ).all()
    assert kinds[-3:] == ["message.in", "stage.in_progress", "sla.resolve.resumed"]


def test_the_same_channel_message_joins_the_thread_once(services: Services) -> None:
    record_id = new_record(services)
    first = services.receive(record_id, "第一次", channel="email", external_id="<same@x>")
    again = services.receive(record_id, "第一次", channel="email", external_id="<same@x>")
    assert first is not None and again is None
    assert len(services.thread(record_id)) == 1


def test_the_text_is_stored_encrypted_and_the_history_names_only_the_message(
    services: Services,
) -> None:
    record_id = new_record(services)
    message = services.note(record_id, "客户手机 13812345678", actor="li")
    with services.session_factory() as session:
        raw = (
            session.connection()
            .exec_driver_sql(f"SELECT body FROM thread_messages WHERE id = {int(message.id)}")
            .scalar_one()
        )
        assert "13812345678" not in raw
        event = session.scalars(
            select(RecordEvent).where(
                RecordEvent.record_id == record_id, RecordEvent.kind == "note"
            )
        ).one()
        assert event.changes == {"message": message.id, "channel": None}
        stored = session.get(ThreadMessage, message.id)
        assert stored is not None and stored.body == "客户手机 13812345678"


def test_empty_or_huge_text_and_unknown_records_are_refused(services: Services) -> None:
    record_id = new_record(services)
    with pytest.raises(InvalidInput, match="empty"):
        services.note(record_id, "   ", actor="li")
    with pytest.raises(InvalidInput, match="longer than"):
        services.note(record_id, "长" * 20_001, actor="li")
    with pytest.raises(NotFound):
        services.thread(999_999)


def test_an_email_reply_threads_under_the_customers_mail_in_their_client(
    services: Services, clock: VirtualClock
) -> None:
    record_id = new_record(services)
    services.receive(
        record_id,
        "洗衣机还是漏水",
        channel="email",
        subject="洗衣机漏水",
        external_id="<first@example.com>",
    )
    services.receive(
        record_id,
        "照片见附件",
        channel="email",
        subject="Re: 洗衣机漏水",
        external_id="<second@example.com>",
    )
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        services.reply(record_id, "工程师明天上门。", channel="email", actor="li")
        sender = SmtpSender(f"smtp://127.0.0.1:{controller.port}?from=desk@example.com")
        delivery = deliver_due(services.session_factory, {"email": sender}, clock.now())
    finally:
        controller.stop()
    assert delivery.sent == 1
    (raw,) = handler.received
    mail = message_from_bytes(raw, policy=default)
    assert mail["Subject"] == f"Re: 洗衣机漏水 [CL-{record_id}]"
    assert mail["In-Reply-To"] == "<second@example.com>"
    assert mail["References"] == "<first@example.com> <second@example.com>"
    assert mail["To"] == "wangfang@example.com"
    assert mail.get_content().strip() == "工程师明天上门。"
    (entry,) = [e for e in services.thread(record_id) if e.message.direction == "out"]
    assert entry.state == "sent"


class Inbox:
    """A real SMTP peer (aiosmtpd) that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802
        self.received.append(envelope.content)
        return "250 OK"
