"""Delivery you can trust (issue #20, part 5): a reply the customer's server refuses for good is
bounced at once, never retried, and their address is marked failing with a line on the
record's history; a 4xx is retried; a bounce report does the same as a refusal; mail from the
address, or a new contact, clears the mark; the files of a reply go out with its email.

R-3.2's contacts must reach the customer; R-8.3: the server's words are kept with addresses
masked. Real peers only: aiosmtpd on 127.0.0.1, mail in through the intake as the mailbox
poller gives it. Every test runs on SQLite and on PostgreSQL (the `db_engine` fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.conversation.mail import Attachment
from engine.delivery.outbox import MAX_ATTEMPTS, backoff, deliver_due
from engine.services import Services
from engine.store.models import Customer, OutboxMessage, Record, RecordEvent
from engine.time.clock import VirtualClock
from schedules.senders import SmtpSender
from schedules.worker import DeliverJob
from tests.integration.test_mail_intake import bounce_of, mail
from tests.integration.test_outbox import free_port

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8


class Mailbox:
    """An SMTP peer (aiosmtpd) that refuses some recipients at RCPT and keeps what it takes."""

    def __init__(self) -> None:
        self.refuse: dict[str, list[str]] = {}  # address -> answers to give, one per try
        self.received: list[bytes] = []

    async def handle_RCPT(  # noqa: N802
        self, server: object, session: object, envelope: Any, address: str, options: object
    ) -> str:
        answers = self.refuse.get(address)
        if answers:
            return answers.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802
        self.received.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, str]]:
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, f"smtp://127.0.0.1:{controller.port}?from=desk@example.com"
    controller.stop()


def deliver(services: Services, url: str) -> Any:
    """One run of the scheduler's outbox job, wired as `careloop serve` wires it."""
    return DeliverJob(services, {"email": SmtpSender(url, services.outbox_files)})()


def mailed_record(services: Services) -> int:
    outcome = services.take_mail("after_sales", "email", mail("洗衣机漏水", "一直漏水"))
    assert outcome.record_id is not None
    return outcome.record_id


def customer_of(services: Services, record_id: int) -> Customer:
    with services.session_factory() as session:
        record = session.get_one(Record, record_id)
        customer = session.get_one(Customer, record.customer_id)
        session.expunge(customer)
        return customer


def outbox_rows(services: Services) -> list[OutboxMessage]:
    with services.session_factory() as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        session.expunge_all()
        return rows


def history(services: Services, record_id: int, kind: str) -> list[dict[str, Any]]:
    with services.session_factory() as session:
        return list(
            session.scalars(
                select(RecordEvent.changes).where(
                    RecordEvent.record_id == record_id, RecordEvent.kind == kind
                )
            )
        )


def test_a_recipient_refused_for_good_is_bounced_at_once_and_the_address_marked_failing(
    services: Services, clock: VirtualClock, smtp: tuple[Mailbox, str]
) -> None:
    handler, url = smtp
    handler.refuse["wangfang@example.com"] = [
        "550 5.1.1 <wangfang@example.com>: Recipient address rejected: User unknown"
    ]
    record_id = mailed_record(services)
    services.reply(record_id, "工程师明天上门。", channel="email", actor="li")
    delivery = deliver(services, url)
    assert (delivery.sent, delivery.retried, delivery.bounced) == (0, 0, 1)
    clock.advance(timedelta(hours=3))
    assert deliver(services, url).sent == 0  # never tried again
    [row] = outbox_rows(services)
    assert (row.status, row.attempts) == ("bounced", 1)
    assert row.last_error is not None and row.last_error.startswith("550 5.1.1")
    reply = services.thread(record_id)[-1]
    assert reply.state == "bounced" and "User unknown" in (reply.error or "")
    customer = customer_of(services, record_id)
    assert customer.contact_failing_at is not None
    reason = customer.contact_failing_reason or ""
    assert "550 5.1.1" in reason and "w***@example.com" in reason
    assert "wangfang@" not in reason  # the server's words, the address masked
    [line] = history(services, record_id, "message.bounced")
    assert line == {"message": reply.message.id, "outbox": row.id, "reason": reason}
    assert handler.received == []


def test_a_4xx_at_rcpt_is_retried_and_leaves_the_address_alone(
    services: Services, clock: VirtualClock, smtp: tuple[Mailbox, str]
) -> None:
    handler, url = smtp
    handler.refuse["wangfang@example.com"] = ["450 4.2.1 mailbox busy, try later"]
    record_id = mailed_record(services)
    services.reply(record_id, "工程师明天上门。", channel="email", actor="li")
    first = deliver(services, url)
    assert (first.sent, first.retried, first.bounced) == (0, 1, 0)
    assert customer_of(services, record_id).contact_failing_at is None
    clock.advance(backoff(1))
    assert deliver(services, url).sent == 1
    [row] = outbox_rows(services)
    assert (row.status, row.attempts) == ("sent", 2)
    assert history(services, record_id, "message.bounced") == []
    assert len(handler.received) == 1


def test_a_bounce_report_marks_the_address_failing_and_their_next_mail_clears_it(
    services: Services, clock: VirtualClock
) -> None:
    record_id = mailed_record(services)
    services.reply(record_id, "工程师明天上门。", channel="email", actor="li")
    [row] = outbox_rows(services)
    assert services.take_mail("after_sales", "email", bounce_of(row.id)).action == "bounced"
    again = bounce_of(row.id).replace(b"<report-1@", b"<report-2@")
    assert services.take_mail("after_sales", "email", again).action == "bounced"
    failing = customer_of(services, record_id)
    assert failing.contact_failing_at == clock.now()
    assert "550 5.1.1 no such user" in (failing.contact_failing_reason or "")
    assert len(history(services, record_id, "message.bounced")) == 1  # one line, two reports
    exported = services.export_customer(failing.number)["contact_failing"]
    assert exported is not None and exported["reason"] == failing.contact_failing_reason
    assert datetime.fromisoformat(exported["at"]) == clock.now()
    clock.advance(timedelta(days=1))
    answer = mail(f"Re: 洗衣机漏水 [CL-{record_id}]", "收到了", message_id="<m2@example.com>")
    assert services.take_mail("after_sales", "email", answer).action == "joined"
    customer = customer_of(services, record_id)
    assert (customer.contact_failing_at, customer.contact_failing_reason) == (None, None)


def test_a_new_contact_clears_the_mark_and_a_late_bounce_to_the_old_one_leaves_it_alone(
    services: Services,
) -> None:
    record_id = mailed_record(services)
    services.reply(record_id, "工程师明天上门。", channel="email", actor="li")
    services.reply(record_id, "请确认上门时间。", channel="email", actor="li")
    first, second = outbox_rows(services)
    services.take_mail("after_sales", "email", bounce_of(first.id))
    number = customer_of(services, record_id).number
    services.save_customer(number, {"contact": "wangfang@example.com"})  # the same: still failing
    assert customer_of(services, record_id).contact_failing_at is not None
    services.save_customer(number, {"contact": "wf@example.org"})
    assert customer_of(services, record_id).contact_failing_at is None
    late = bounce_of(second.id).replace(b"<report-1@", b"<report-2@")
    assert services.take_mail("after_sales", "email", late).action == "bounced"
    assert customer_of(services, record_id).contact_failing_at is None  # not the new address
    assert len(history(services, record_id, "message.bounced")) == 2


def test_the_files_of_a_reply_go_out_with_its_email(
    services: Services, smtp: tuple[Mailbox, str]
) -> None:
    handler, url = smtp
    record_id = mailed_record(services)
    manual = Attachment("说明书 第2版.pdf", "application/pdf", len(PDF), PDF)
    photo = Attachment("photo.png", "image/png", 4, b"\x89PNG")
    services.reply(record_id, "说明书见附件。", channel="email", actor="li", files=[manual, photo])
    assert deliver(services, url).sent == 1
    (raw,) = handler.received
    assert b"filename*=utf-8''%E8%AF%B4%E6%98%8E%E4%B9%A6" in raw  # RFC 2231, not raw UTF-8
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain",))
    assert body is not None and body.get_content().strip() == "说明书见附件。"
    files = [
        (p.get_filename(), p.get_content_type(), p.get_content())
        for p in message.iter_attachments()
    ]
    assert files == [
        ("说明书 第2版.pdf", "application/pdf", PDF),
        ("photo.png", "image/png", b"\x89PNG"),
    ]


def test_a_dead_letter_is_sent_again_to_the_contact_as_it_is_now(
    services: Services, clock: VirtualClock, smtp: tuple[Mailbox, str]
) -> None:
    handler, url = smtp
    handler.refuse["wangfang@example.com"] = ["451 4.3.0 try again later"] * MAX_ATTEMPTS
    record_id = mailed_record(services)
    reply = services.reply(record_id, "工程师明天上门。", channel="email", actor="li")
    for _ in range(MAX_ATTEMPTS):
        deliver(services, url)
        clock.advance(timedelta(hours=3))
    assert services.thread(record_id)[-1].state == "failed"
    assert customer_of(services, record_id).contact_failing_at is None  # a 4xx says nothing
    services.save_customer(customer_of(services, record_id).number, {"contact": "wf@example.org"})
    services.resend(record_id, reply.id, actor="li")
    assert deliver(services, url).sent == 1
    dead, sent = outbox_rows(services)
    assert (dead.status, dead.attempts, dead.recipient) == (
        "dead",
        MAX_ATTEMPTS,
        "wangfang@example.com",
    )
    assert (sent.status, sent.attempts, sent.recipient) == ("sent", 1, "wf@example.org")
    (raw,) = handler.received
    assert message_from_bytes(raw, policy=default)["To"] == "wf@example.org"
    assert services.thread(record_id)[-1].state == "sent"


def test_a_bounce_stands_when_marking_what_it_means_fails(
    services: Services, smtp: tuple[Mailbox, str], caplog: pytest.LogCaptureFixture
) -> None:
    handler, url = smtp
    handler.refuse["wangfang@example.com"] = ["550 5.1.1 no such user"]
    record_id = mailed_record(services)
    services.reply(record_id, "工程师明天上门。", channel="email", actor="li")

    def broken(session: Session, message: OutboxMessage, now: datetime) -> None:
        raise RuntimeError("the customers table is away")

    sender = SmtpSender(url, services.outbox_files)
    delivery = deliver_due(
        services.session_factory, {"email": sender}, services.clock.now(), on_bounce=broken
    )
    assert delivery.bounced == 1
    [row] = outbox_rows(services)
    assert (row.status, row.lease_until) == ("bounced", None)  # not sent again after a lease
    assert "marking what it means failed" in caplog.text
