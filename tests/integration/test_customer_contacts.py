"""The contacts the process promises reach the customer (R-3.2, R-3.3, issue #20): each is a
message on the record's thread, sent by the customer's channel once, or skipped with the reason
on the history; a deadline moves with a reason, at least a day before it unless a supervisor
overrides (R-3.2).

Every test runs on SQLite and on PostgreSQL (the `db_engine` fixture), in virtual time.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.customers.surveylinks import SurveyLinks
from engine.errors import InvalidInput
from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.models import OutboxMessage, RecordEvent, SlaClock
from engine.time.clock import VirtualClock
from engine.time.extensions import ExtensionRefused

CUSTOMER = {"customer_no": "C-7", "customer_name": "王芳", "description": "冰箱不制冷"}


@pytest.fixture
def desk(services: Services) -> Services:
    services.links = SurveyLinks("test-secret", "https://desk.example.com")
    return services


def new_record(
    services: Services, contact: str = "wangfang@example.com", channel: str = "email"
) -> int:
    fields = {**CUSTOMER, "contact": contact}
    record = services.create_record(
        "after_sales",
        NewRecord(record_type="feedback", fields=fields, channel=channel, priority="P1"),
        actor="test",
    )
    return record.id


def history(services: Services, record_id: int, prefix: str = "contact.") -> list[dict[str, Any]]:
    with services.session_factory() as session:
        events = session.scalars(
            select(RecordEvent)
            .where(RecordEvent.record_id == record_id, RecordEvent.kind.startswith(prefix))
            .order_by(RecordEvent.id)
        )
        return [{"kind": e.kind, **e.changes} for e in events]


def mails(services: Services, record_id: int) -> list[OutboxMessage]:
    with services.session_factory() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.record_id == record_id, OutboxMessage.channel == "email")
            .order_by(OutboxMessage.id)
        ).all()
        session.expunge_all()
        return list(rows)


def deadline(services: Services, record_id: int, target: str = "resolve") -> datetime | None:
    with services.session_factory() as session:
        return session.scalars(
            select(SlaClock.deadline).where(
                SlaClock.record_id == record_id, SlaClock.target == target
            )
        ).one()


def accept(services: Services, record_id: int) -> None:
    services.transition(record_id, "accept", {"category": "quality", "priority": "P1"}, actor="li")


def test_the_acknowledgement_tells_the_promised_time_once_and_meets_nothing(
    desk: Services,
) -> None:
    record_id = new_record(desk)
    desk.sweep()
    desk.sweep()  # a second sweep sends nothing again
    (mail,) = mails(desk, record_id)
    assert mail.recipient == "wangfang@example.com"
    assert mail.subject == f"我们已收到您的反馈 [CL-{record_id}]"
    # P1 received Monday 09:00: resolved within 3 working days, by Wednesday 18:00.
    assert "2026-11-25 18:00 前给您解决方案" in mail.body and f"CL-{record_id}" in mail.body
    (entry,) = desk.thread(record_id)
    assert (entry.message.author, entry.state, entry.message.outbox_id) == (
        "careloop",
        "queued",
        mail.id,
    )
    assert history(desk, record_id) == [
        {
            "kind": "contact.sent",
            "contact": "acknowledgement",
            "channel": "email",
            "message": entry.message.id,
        }
    ]
    # Careloop's own words are nobody's first reply: the respond target waits for a person.
    with desk.session_factory() as session:
        respond = session.scalars(
            select(SlaClock).where(SlaClock.record_id == record_id, SlaClock.target == "respond")
        ).one()
        assert respond.met_at is None
    desk.reply(record_id, "您好，工程师今天联系您。", channel="email", actor="li")
    with desk.session_factory() as session:
        assert (
            session.scalars(
                select(SlaClock.met_at).where(
                    SlaClock.record_id == record_id, SlaClock.target == "respond"
                )
            ).one()
            is not None
        )


def test_a_progress_update_every_24_hours_unless_the_agent_wrote(
    desk: Services, clock: VirtualClock
) -> None:
    record_id = new_record(desk)
    accept(desk, record_id)
    desk.sweep()
    clock.advance(timedelta(hours=20))
    desk.reply(record_id, "备件已到，明天上门。", channel="email", actor="li")
    clock.advance(timedelta(hours=4))
    desk.sweep()  # 24 h in progress, but the agent wrote 4 h ago: skipped
    clock.advance(timedelta(hours=24))
    desk.sweep()  # the next day nobody wrote: the customer hears from us
    progress = [e for e in history(desk, record_id) if e["contact"] == "progress"]
    assert [(e["kind"], e.get("reason")) for e in progress] == [
        ("contact.skipped", "replied"),
        ("contact.sent", None),
    ]
    assert "仍在处理中，当前状态：处理中" in mails(desk, record_id)[-1].body


def test_without_consent_to_service_messages_nothing_is_sent_and_history_says_why(
    desk: Services,
) -> None:
    desk.save_customer("C-7", {"consent_service": False})
    record_id = new_record(desk)
    desk.sweep()
    assert mails(desk, record_id) == []
    assert desk.thread(record_id) == []
    assert history(desk, record_id) == [
        {
            "kind": "contact.skipped",
            "contact": "acknowledgement",
            "reason": "no_consent",
            "detail": "C-7",
        }
    ]


def test_a_caller_is_told_by_sms_in_the_short_wording_after_quiet_hours(
    desk: Services, clock: VirtualClock
) -> None:
    clock.set(datetime(2026, 11, 23, 22, 30, tzinfo=clock.now().tzinfo))
    record_id = new_record(desk, contact="13800001111", channel="phone")
    desk.sweep()
    (sent,) = history(desk, record_id)
    assert (sent["kind"], sent["channel"]) == ("contact.sent", "sms")
    with desk.session_factory() as session:
        (sms,) = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms"))
        assert sms.recipient == "13800001111"
        assert sms.body.startswith("【售后】您的反馈已受理（CL-")
        # No SMS at night (pack `answering.quiet_hours`): it leaves at 08:00.
        assert sms.next_attempt_at == datetime(2026, 11, 24, 8, 0, tzinfo=clock.now().tzinfo)


def test_a_caller_who_left_an_address_is_answered_by_email(desk: Services) -> None:
    record_id = new_record(desk, contact="wangfang@example.com", channel="phone")
    desk.sweep()
    (sent,) = history(desk, record_id)
    assert (sent["kind"], sent["channel"]) == ("contact.sent", "email")


def test_a_contact_no_channel_can_reach_is_a_skip_not_a_pretend_send(desk: Services) -> None:
    record_id = new_record(desk, contact="王先生家座机", channel="walk_in")
    desk.sweep()
    (skipped,) = history(desk, record_id)
    assert (skipped["kind"], skipped["reason"]) == ("contact.skipped", "unreachable")
    assert "sms" in skipped["detail"]
    assert desk.thread(record_id) == []


def test_the_result_notice_carries_a_signed_survey_link_to_this_record(
    desk: Services, clock: VirtualClock
) -> None:
    record_id = new_record(desk)
    accept(desk, record_id)
    clock.advance(timedelta(hours=3))
    desk.transition(
        record_id, "resolve", {"solution_type": "service", "solution": "更换密封圈"}, actor="li"
    )
    desk.sweep()
    result = mails(desk, record_id)[-1]
    assert "解决方案：更换密封圈" in result.body
    (token,) = re.findall(r"https://desk\.example\.com/survey/([\w.-]+)", result.body)
    signed_for, expires = desk.links.read(token)  # type: ignore[union-attr]
    assert signed_for == record_id and expires == clock.now() + timedelta(hours=72)
    clock.advance(timedelta(hours=2))
    desk.sweep()  # the callback two hours after resolution
    assert history(desk, record_id)[-1]["contact"] == "callback"


def test_a_deadline_moves_with_its_reason_and_the_customer_is_told(
    desk: Services, clock: VirtualClock
) -> None:
    record_id = new_record(desk)
    accept(desk, record_id)
    old = deadline(desk, record_id)
    assert old is not None
    new = old + timedelta(days=1)  # Thursday 18:00
    event = desk.extend_deadline(record_id, new, "压缩机备件需从厂家调货", actor="li")
    assert (event.old_deadline, event.new_deadline) == (old, new)
    assert deadline(desk, record_id) == new
    desk.sweep()
    notice = mails(desk, record_id)[-1]
    assert "压缩机备件需从厂家调货" in notice.body
    assert "由 2026-11-25 18:00 调整为 2026-11-26 18:00" in notice.body
    (extended,) = history(desk, record_id, "sla.resolve.extended")
    assert extended["reason"] == "压缩机备件需从厂家调货"


def test_a_late_move_is_refused_unless_a_supervisor_overrides(
    desk: Services, clock: VirtualClock
) -> None:
    record_id = new_record(desk)
    accept(desk, record_id)
    old = deadline(desk, record_id)
    assert old is not None
    clock.set(old - timedelta(hours=2))
    with pytest.raises(ExtensionRefused, match="at least 1 day before"):
        desk.extend_deadline(record_id, old + timedelta(days=2), "排期已满", actor="li")
    assert deadline(desk, record_id) == old  # nothing moved
    desk.extend_deadline(
        record_id, old + timedelta(days=2), "排期已满", actor="zhao", override=True
    )
    assert deadline(desk, record_id) == old + timedelta(days=2)
    (extended,) = history(desk, record_id, "sla.resolve.extended")
    assert extended["override"] is True


@pytest.mark.parametrize(
    ("shift", "reason", "message"),
    [
        (timedelta(hours=-1), "排期已满", "must come after"),
        (timedelta(days=1), "   ", "say why"),
    ],
)
def test_a_move_backwards_or_without_a_reason_is_refused(
    desk: Services, shift: timedelta, reason: str, message: str
) -> None:
    record_id = new_record(desk)
    accept(desk, record_id)
    old = deadline(desk, record_id)
    assert old is not None
    with pytest.raises(InvalidInput, match=message):
        desk.extend_deadline(record_id, old + shift, reason, actor="li")


def test_a_passed_deadline_stays_breached(desk: Services, clock: VirtualClock) -> None:
    record_id = new_record(desk)
    accept(desk, record_id)
    old = deadline(desk, record_id)
    assert old is not None
    clock.set(old + timedelta(minutes=1))
    desk.sweep()
    with pytest.raises(ExtensionRefused, match="has passed"):
        desk.extend_deadline(
            record_id, old + timedelta(days=3), "排期已满", actor="zhao", override=True
        )
