"""A customer's mail, all the way round (issue #20, R-1.1, R-2.4, R-3.2), with real servers.

A Chinese mail (GBK subject and body, a photo attached) lands in a Dovecot mailbox; the mail
job takes it and a record appears in the agent's queue; the sweep sends the acknowledgement
with the promised time, read back from a real SMTP server (aiosmtpd); the agent answers from
the record page in Chromium; the customer's answer, threaded only by its headers, joins the
same record and takes it back from waiting on them, so its clock runs again.
Screenshots: tests/browser/artifacts/mail-round-trip-*.png.
"""

from __future__ import annotations

import base64
import struct
import uuid
import zlib
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.delivery.outbox import deliver_due
from engine.services import Services
from engine.store.models import Record, SlaClock
from schedules.mailjob import MailJob
from schedules.mailsources import mail_sources
from schedules.senders import SmtpSender
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_thread import sign_in
from tests.integration.test_outbox import free_port
from tests.mailserver import ImapServer
from wsgi import services


class Inbox:
    """The customer's side of SMTP: every mail Careloop sends, parsed."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        mail = message_from_bytes(envelope.content, policy=default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


def png(width: int = 48, height: int = 32) -> bytes:
    """A real picture (a blue rectangle), so the record page can show its thumbnail."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x2b\x6c\xb0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def gbk_mail(subject: str, body: str, sender: str, message_id: str, **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"王芳 <{sender}>"
    mail["To"] = "service@shop.example"
    mail["Subject"] = "PLACEHOLDER"
    mail["Message-ID"] = message_id
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body, charset="gbk")
    return mail


def raw(mail: EmailMessage, subject: str) -> bytes:
    """The mail as a Chinese client sends it: the subject a GBK encoded word."""
    encoded = base64.b64encode(subject.encode("gbk")).decode()
    return mail.as_bytes().replace(
        b"Subject: PLACEHOLDER", f"Subject: =?gbk?b?{encoded}?=".encode()
    )


def deliver_outbox(service: Services, port: int, inbox: Inbox, address: str) -> list[EmailMessage]:
    """Send what the outbox holds (other tests' mail too: the live server is shared) and
    return what reached `address`."""
    senders = {"email": SmtpSender(f"smtp://127.0.0.1:{port}", service.outbox_files)}
    deliver_due(service.session_factory, senders, service.clock.now())
    return [mail for mail in inbox.mails if mail["To"] == address]


def test_a_chinese_mail_goes_all_the_way_round(
    page: Page, live_server: LiveServer, imap_server: ImapServer, inbox: tuple[Inbox, int]
) -> None:
    service = services(live_server.app)
    received, smtp_port = inbox
    user, password = quote(imap_server.user, safe=""), quote(imap_server.password, safe="")
    url = f"imap://{user}:{password}@{imap_server.host}:{imap_server.port}/INBOX?pack=after_sales"
    job = MailJob(service, mail_sources(url))
    address = f"wang.{uuid.uuid4().hex[:8]}@example.com"

    # 1. The customer writes, in GBK, with a photo of the fault.
    first = gbk_mail(
        "", "你好，冰箱这两天不制冷，照片见附件。", address, f"<{uuid.uuid4()}@mail.example>"
    )
    first.add_attachment(png(), maintype="image", subtype="png", filename="冰箱照片.png")
    imap_server.deliver(raw(first, "冰箱不制冷"))
    assert job()["created"] == 1
    with service.session_factory() as session:
        record = session.scalars(select(Record).order_by(Record.id.desc()).limit(1)).one()
        record_id = record.id
        assert record.fields["description"].startswith("冰箱不制冷")

    # 2. The acknowledgement, with the promised time, reaches the customer.
    service.sweep()
    (ack,) = deliver_outbox(service, smtp_port, received, address)
    assert ack["To"] == address and str(ack["Subject"]) == f"我们已收到您的反馈 [CL-{record_id}]"
    assert ack["In-Reply-To"] == first["Message-ID"]
    assert "前给您解决方案" in ack.get_content()

    # 3. The agent finds it in the queue and answers from the record page.
    sign_in(page, live_server)
    page.goto("/queue")
    page.get_by_role("link", name=str(record_id), exact=True).click()
    thread = page.locator("#thread")
    expect(thread.locator(".msg-in")).to_contain_text("冰箱这两天不制冷")
    expect(thread.locator(".msg-in img")).to_have_count(1)  # the photo's thumbnail
    expect(thread.locator(".msg-out").first).to_contain_text("您的反馈已受理")
    expect(page.get_by_text(address)).to_have_count(0)  # the address only ever masked
    screenshot(page, "mail-round-trip-arrived")
    thread.get_by_label("回复客户").fill("您好，请问冰箱是哪一年购买的？方便提供购买凭证吗？")
    thread.get_by_role("button", name="发送回复").click()
    expect(thread.locator(".msg-out").last).to_contain_text("方便提供购买凭证吗")
    # Triage (it stays with the service desk), then wait on the answer: the clocks pause.
    service.transition(record_id, "accept", {"category": "other", "priority": "P2"}, actor="xu")
    service.transition(record_id, "wait_for_customer", {"wait_reason": "等购买凭证"}, actor="xu")
    ack_again, reply = deliver_outbox(service, smtp_port, received, address)
    assert ack_again is ack
    assert "方便提供购买凭证吗" in reply.get_content()

    # 4. The customer answers their mail client's way: headers only, no reference in the subject.
    answer = gbk_mail(
        "", "去年 5 月买的，发票见附件。", address, f"<{uuid.uuid4()}@mail.example>",
        In_Reply_To=reply["Message-ID"], References=f"{first['Message-ID']} {reply['Message-ID']}",
    )  # fmt: skip
    imap_server.deliver(raw(answer, "回复：冰箱"))
    assert job()["joined"] == 1
    with service.session_factory() as session:
        record = session.get_one(Record, record_id)
        assert record.stage == "in_progress"  # back from waiting on the customer
        resolve = session.scalars(
            select(SlaClock).where(SlaClock.record_id == record_id, SlaClock.target == "resolve")
        ).one()
        assert resolve.running_since is not None  # its clock runs again
    page.reload()
    expect(thread.locator(".msg-in").last).to_contain_text("去年 5 月买的")
    expect(page.locator("#stage")).to_have_text("处理中")
    screenshot(page, "mail-round-trip-answered")
