"""SMS and WeChat through the team's gateways (issue #20, part 3), below the web: a reply
queued for the customer's phone and POSTed, signed, to a real local gateway; quiet hours;
the refusals; a gateway's message joining its record or opening one; delivery receipts.

R-1.1 (multi-channel intake) and R-3.2 (the promised contacts reach the customer). Every
test runs on SQLite and on PostgreSQL (the `db_engine` fixture).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine.conversation.gatewayintake import GatewayMessage
from engine.delivery.outbox import deliver_due
from engine.errors import InvalidInput, NotFound
from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.models import OutboxMessage, Record
from engine.time.clock import VirtualClock
from ops.settings import Settings
from schedules.senders import configured_senders
from tests.gateway import running_gateway

SECRET = b"gateway-secret"
PHONE = "13812345678"


def by_phone(services: Services, number: str = "C-9", contact: str = PHONE) -> int:
    """A record from a customer who phoned and gave their mobile number."""
    fields = {
        "customer_no": number,
        "customer_name": "王芳",
        "contact": contact,
        "description": "冰箱不制冷",
    }
    new = NewRecord(record_type="feedback", fields=fields, channel="phone", priority="P1")
    return services.create_record("after_sales", new, actor="test").id


def outbox_of(services: Services, record_id: int) -> list[OutboxMessage]:
    with services.session_factory() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.record_id == record_id))
        found = list(rows)
        session.expunge_all()
        return found


def deliver(services: Services, url: str, now: datetime) -> int:
    settings = Settings.for_tests(
        gateways=(("sms", url),), gateway_secret=SECRET.decode(), outbound_allow=("127.0.0.1",)
    )
    return deliver_due(services.session_factory, configured_senders(settings), now).sent


def test_an_sms_reply_goes_to_the_customers_phone_through_the_gateway_signed(
    services: Services, clock: VirtualClock
) -> None:
    """R-3.2: the answer reaches the customer on the channel they can read, by SMS."""
    record_id = by_phone(services)
    services.reply(record_id, "您好，工程师明天上午上门。", channel="sms", actor="li")
    (queued,) = outbox_of(services, record_id)
    assert (queued.channel, queued.recipient, queued.status) == ("sms", PHONE, "pending")
    with running_gateway(SECRET) as gateway:
        assert deliver(services, f"{gateway.url}/sms", clock.now()) == 1
    ((path, headers, body),) = gateway.taken
    assert path == "/sms" and gateway.refused == 0
    assert body == {
        "id": f"careloop-outbox-{queued.id}",
        "channel": "sms",
        "to": PHONE,
        "text": "您好，工程师明天上午上门。",
        "record": record_id,
        "reference": f"CL-{record_id}",
        "pack": "after_sales",
    }
    assert headers["Idempotency-Key"] == body["id"]
    assert services.thread(record_id)[-1].state == "sent"


def test_an_sms_due_at_night_waits_for_the_end_of_quiet_hours(
    services: Services, clock: VirtualClock
) -> None:
    """The pack's quiet hours (21:00-08:00 for SMS, Asia/Shanghai): nobody's phone buzzes."""
    record_id = by_phone(services)
    clock.advance(timedelta(hours=13, minutes=30))  # Monday 22:30 in Shanghai
    services.reply(record_id, "已为您登记，明早联系。", channel="sms", actor="li")
    (queued,) = outbox_of(services, record_id)
    morning = datetime(2026, 11, 24, 8, 0, tzinfo=clock.now().tzinfo)
    assert queued.next_attempt_at == morning
    with running_gateway(SECRET) as gateway:
        assert deliver(services, gateway.url, clock.now()) == 0
        clock.advance(timedelta(hours=9, minutes=29))
        assert deliver(services, gateway.url, clock.now()) == 0
        clock.advance(timedelta(minutes=1))
        assert deliver(services, gateway.url, clock.now()) == 1
    assert len(gateway.taken) == 1


def test_an_sms_needs_a_phone_number_and_consent(services: Services) -> None:
    by_mail = by_phone(services, "C-10", contact="wangfang@example.com")
    with pytest.raises(InvalidInput, match="no customer phone number"):
        services.reply(by_mail, "您好", channel="sms", actor="li")
    record_id = by_phone(services, "C-11")
    services.save_customer("C-11", {"consent_service": False})
    with pytest.raises(InvalidInput, match="has not agreed to service messages"):
        services.reply(record_id, "您好", channel="sms", actor="li")
    assert outbox_of(services, by_mail) == [] and outbox_of(services, record_id) == []


def test_a_phone_reply_is_still_a_contact_made_outside(services: Services) -> None:
    record_id = by_phone(services)
    services.reply(record_id, "已电话告知。", channel="phone", actor="li")
    assert outbox_of(services, record_id) == []
    assert services.thread(record_id)[-1].state == "recorded"


def sms(message_id: str, text: str, sender: str = PHONE) -> GatewayMessage:
    return GatewayMessage(message_id, sender, text)


def test_an_sms_joins_the_record_its_text_names_when_its_customer_sent_it(
    services: Services, clock: VirtualClock
) -> None:
    """R-1.1: the customer's SMS finds the record it is about, not just their latest."""
    older = by_phone(services)
    clock.advance(timedelta(minutes=5))
    newer = by_phone(services)
    latest = services.take_gateway_message("after_sales", "sms", sms("m-2", "还在等"))
    assert (latest.action, latest.record_id) == ("joined", newer)
    asking = sms("m-1", f"CL-{older} 修好了吗")
    taken = services.take_gateway_message("after_sales", "sms", asking)
    assert (taken.action, taken.record_id) == ("joined", older)
    entry = services.thread(older)[-1]
    message = entry.message
    assert (message.direction, message.channel, entry.state) == ("in", "sms", "received")


def test_another_phone_naming_a_record_gets_a_record_of_its_own(services: Services) -> None:
    """A guessed number lets nobody write into another customer's record."""
    record_id = by_phone(services)
    taken = services.take_gateway_message(
        "after_sales", "sms", sms("m-3", f"[CL-{record_id}] 我的也坏了", sender="13900000000")
    )
    assert taken.action == "created" and taken.record_id != record_id
    assert [e.message.direction for e in services.thread(record_id)] == []


def test_an_sms_from_a_new_number_opens_a_record_as_the_pack_says(services: Services) -> None:
    taken = services.take_gateway_message(
        "after_sales", "sms", sms("m-4", "热水器漏水，请尽快处理", sender="139 0000 1111")
    )
    assert taken.action == "created"
    with services.session_factory() as session:
        record = session.get_one(Record, taken.record_id)
        assert (record.channel, record.priority, record.record_type) == ("sms", "P2", "feedback")
        assert record.customer is not None and record.customer.contact == "139 0000 1111"
        assert record.fields["description"] == "热水器漏水，请尽快处理"
    again = services.take_gateway_message(
        "after_sales", "sms", sms("m-5", "补充：型号 X1", sender="13900001111")
    )
    assert (again.action, again.record_id) == ("joined", taken.record_id)


def test_the_same_gateway_message_is_taken_once(services: Services) -> None:
    record_id = by_phone(services)
    first = services.take_gateway_message("after_sales", "sms", sms("m-6", "收到"))
    again = services.take_gateway_message("after_sales", "sms", sms("m-6", "收到"))
    assert again.action == "duplicate"
    assert (
        (again.record_id, again.message_id)
        == (first.record_id, first.message_id)
        == (
            record_id,
            first.message_id,
        )
    )
    assert [e.message.id for e in services.thread(record_id)] == [first.message_id]


def test_receipts_mark_a_reply_delivered_or_failed_with_the_reason(services: Services) -> None:
    record_id = by_phone(services)
    services.reply(record_id, "第一条", channel="sms", actor="li")
    services.reply(record_id, "第二条", channel="sms", actor="li")
    first, second = outbox_of(services, record_id)
    services.take_receipt("sms", f"careloop-outbox-{first.id}", "delivered", None)
    services.take_receipt("sms", f"careloop-outbox-{second.id}", "failed", "空号")
    states = [(e.state, e.error) for e in services.thread(record_id)]
    assert states == [("delivered", None), ("failed", "空号")]
    with pytest.raises(NotFound):
        services.take_receipt("wechat", f"careloop-outbox-{first.id}", "delivered", None)
    with pytest.raises(NotFound):
        services.take_receipt("sms", "careloop-outbox-999999", "delivered", None)
