"""Outbound messages: composed once with the timer's effect, delivered with retries, dead-lettered.

Real local peers: an SMTP server (aiosmtpd) and an HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine.delivery.outbound import OutboundPolicy
from engine.delivery.outbox import MAX_ATTEMPTS, backoff, deliver_due
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.models import OutboxMessage
from engine.time.clock import VirtualClock
from engine.time.health import scheduler_status
from schedules.senders import SmtpSender, WebhookSender
from tests.conftest import DEFAULT_RECIPIENTS, SHANGHAI
from workflows.loader import load_pack_from_files
from workflows.validate import source_of

PHONE = "13812345678"
RECIPIENTS = """
  recipients:
    supervisor: {email: [supervisor@example.com]}
    manager: {email: [manager@example.com], webhook: true}
"""


@pytest.fixture
def with_recipients(after_sales: PackSource) -> PackSource:
    text = DEFAULT_RECIPIENTS.sub(RECIPIENTS.lstrip("\n"), after_sales.files["pack.yaml"], 1)
    files = {**after_sales.files, "pack.yaml": text}
    return source_of(load_pack_from_files("after_sales", files, "workflows/after_sales"))


@pytest.fixture
def breached(services: Services, clock: VirtualClock, with_recipients: PackSource) -> Services:
    """A P1 record whose respond target breached at 13:00: the supervisor must be told."""
    services.publish(with_recipients, by="ops")
    services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            priority="P1",
            fields={
                "customer_no": "C-1",
                "customer_name": "李娜",
                "contact": PHONE,
                "product": "洗碗机 D3",
                "description": "漏水",
            },
        ),
        actor="api",
    )
    clock.set(datetime(2026, 11, 23, 13, 0, tzinfo=SHANGHAI))
    services.sweep()
    return services


def queued(services: Services) -> list[OutboxMessage]:
    """What the staff are sent: not the acknowledgement to the caller (an SMS, R-3.2)."""
    with services.session_factory() as session:
        staff = select(OutboxMessage).where(OutboxMessage.channel != "sms")
        return list(session.scalars(staff.order_by(OutboxMessage.id)))


def test_the_breach_queues_one_masked_email_to_the_supervisor(breached: Services) -> None:
    [message] = queued(breached)
    assert (message.channel, message.recipient, message.status) == (
        "email",
        "supervisor@example.com",
        "pending",
    )
    assert message.subject == "【SLA 超时】反馈 #1 首次响应已超时"
    assert "2026-11-23 13:00" in message.body and "洗碗机 D3" in message.body
    assert "客户：李*" in message.body  # the name, masked
    assert PHONE not in message.body and "李娜" not in message.body
    breached.sweep()
    assert len(queued(breached)) == 1  # a second sweep queues nothing again


class FlakySmtp:
    """An SMTP peer that refuses the first `refusals` deliveries with a temporary error."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.received: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refusals > 0:
            self.refusals -= 1
            return "451 4.3.0 try again later"
        self.received.append(envelope.content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[FlakySmtp, Controller]]:
    handler = FlakySmtp(refusals=0)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller
    controller.stop()


def test_a_server_that_refuses_then_accepts_gets_the_message_once(
    breached: Services, clock: VirtualClock, smtp_server: tuple[FlakySmtp, Controller]
) -> None:
    handler, controller = smtp_server
    handler.refusals = 1
    senders = {"email": SmtpSender(f"smtp://127.0.0.1:{controller.port}?from=desk@example.com")}
    first = deliver_due(breached.session_factory, senders, clock.now())
    assert (first.sent, first.retried) == (0, 1)
    assert deliver_due(breached.session_factory, senders, clock.now()).sent == 0  # backing off
    clock.advance(backoff(1))
    assert deliver_due(breached.session_factory, senders, clock.now()).sent == 1
    clock.advance(timedelta(hours=3))
    assert deliver_due(breached.session_factory, senders, clock.now()).sent == 0
    assert len(handler.received) == 1
    mail = handler.received[0].decode()
    assert "Message-ID: <careloop-outbox-1@careloop>" in mail and PHONE not in mail
    [message] = queued(breached)
    assert (message.status, message.attempts) == ("sent", 2)


def test_a_server_that_always_refuses_leads_to_a_dead_letter(
    breached: Services, clock: VirtualClock, smtp_server: tuple[FlakySmtp, Controller]
) -> None:
    handler, controller = smtp_server
    handler.refusals = 1000
    senders = {"email": SmtpSender(f"smtp://127.0.0.1:{controller.port}")}
    for _ in range(MAX_ATTEMPTS):
        deliver_due(breached.session_factory, senders, clock.now())
        clock.advance(timedelta(hours=3))
    [message] = queued(breached)
    assert (message.status, message.attempts) == ("dead", MAX_ATTEMPTS)
    assert "451" in (message.last_error or "")
    assert handler.received == []
    with breached.uow() as uow:
        assert scheduler_status(uow.session, clock.now())["dead_letters"] == 1


def test_a_message_whose_sender_died_is_sent_after_its_lease(
    breached: Services, clock: VirtualClock, smtp_server: tuple[FlakySmtp, Controller]
) -> None:
    handler, controller = smtp_server
    with breached.session_factory() as session:  # leased by a sender that then died
        message = session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "email")
        ).one()
        message.status, message.lease_until = "sending", clock.now() + timedelta(minutes=5)
        session.commit()
    senders = {"email": SmtpSender(f"smtp://127.0.0.1:{controller.port}")}
    assert deliver_due(breached.session_factory, senders, clock.now()).sent == 0
    clock.advance(timedelta(minutes=6))
    assert deliver_due(breached.session_factory, senders, clock.now()).sent == 1
    assert len(handler.received) == 1


class Hook(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet: tests read the requests, not the access log."""


def test_the_webhook_gets_signed_json_without_personal_data(
    breached: Services, clock: VirtualClock
) -> None:
    clock.set(datetime(2026, 11, 23, 17, 0, tzinfo=SHANGHAI))  # 4 h after: the manager
    breached.sweep()
    Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/careloop"
        local = OutboundPolicy.allowing(["127.0.0.1"])  # the test's own receiver, by name
        senders = {"webhook": WebhookSender(url, "s3cret", policy=local)}
        delivered = deliver_due(breached.session_factory, senders, clock.now())
        assert delivered.sent == 1, [m.last_error for m in queued(breached)]
    finally:
        server.shutdown()
        server.server_close()
    [(headers, body)] = Hook.received
    stamp, _, signature = headers["X-Careloop-Signature"].partition(",v1=")
    timestamp = stamp.removeprefix("t=")
    expected = hmac.new(b"s3cret", f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert signature == expected
    payload = json.loads(body)
    assert headers["Idempotency-Key"] == payload["id"]
    assert (payload["audience"], payload["subject"]) == ("manager", "sla.respond.escalation")
    assert PHONE.encode() not in body


def test_a_bad_smtp_url_is_refused_with_its_shape() -> None:
    with pytest.raises(ValueError, match="smtp://host:25"):
        SmtpSender("mail.example.com")
