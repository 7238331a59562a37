"""Mail into records (issue #20): a new mail makes a record, a reply joins its own, automatic
mail makes nothing, the same mail is taken once. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import select

from engine.services import Services
from engine.store.models import Customer, OutboxMessage, Record, SlaClock
from engine.time.clock import VirtualClock

PHOTO = b"\xff\xd8\xff\xe0" + b"0" * 2048  # a JPEG's first bytes: enough for its type


def mail(
    subject: str,
    body: str,
    *,
    sender: str = "王芳 <wangfang@example.com>",
    message_id: str = "<m1@example.com>",
    charset: str = "gbk",
    **headers: str,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "service@shop.example"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body, charset=charset)
    return message.as_bytes()


def with_photo(raw: bytes) -> bytes:
    from email import message_from_bytes
    from email.policy import default

    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    message.add_attachment(PHOTO, maintype="image", subtype="jpeg", filename="故障照片.jpg")
    return message.as_bytes()


def test_a_chinese_mail_makes_a_record_with_its_customer_and_the_message_on_its_thread(
    services: Services,
) -> None:
    raw = with_photo(mail("洗衣机漏水", "您好，洗衣机一直漏水。\n型号 XQG100"))
    outcome = services.take_mail("after_sales", "email", raw)
    assert outcome.action == "created" and outcome.record_id is not None
    with services.session_factory() as session:
        record = session.get_one(Record, outcome.record_id)
        assert (record.record_type, record.channel, record.priority) == ("feedback", "email", "P2")
        assert record.fields["description"].startswith("洗衣机漏水\n\n您好，洗衣机一直漏水。")
        customer = session.get_one(Customer, record.customer_id)
        assert customer.contact == "wangfang@example.com" and customer.name == "王芳"
    (entry,) = services.thread(outcome.record_id)
    assert entry.message.direction == "in" and entry.message.subject == "洗衣机漏水"
    assert "型号 XQG100" in entry.message.body


def test_the_customers_reply_to_our_answer_joins_the_record_and_resumes_its_clock(
    services: Services, clock: VirtualClock
) -> None:
    first = services.take_mail("after_sales", "email", mail("洗衣机漏水", "一直漏水"))
    assert first.record_id is not None
    record_id = first.record_id
    services.transition(record_id, "accept", {"category": "quality", "priority": "P1"}, actor="li")
    services.reply(record_id, "请告诉我们型号。", channel="email", actor="li")
    services.transition(record_id, "wait_for_customer", {"wait_reason": "等型号"}, actor="li")
    with services.session_factory() as session:
        ours = session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.record_id == record_id)
        ).one()
    clock.advance(timedelta(hours=2))
    answer = mail(
        "Re: 洗衣机漏水",
        "型号是 XQG100\n\n-----原始邮件-----\n请告诉我们型号。",
        message_id="<m2@example.com>",
        In_Reply_To=f"<careloop-outbox-{ours}@careloop>",
    )
    joined = services.take_mail("after_sales", "email", answer)
    assert (joined.action, joined.record_id) == ("joined", record_id)
    with services.session_factory() as session:
        record = session.get_one(Record, record_id)
        resolve = session.scalars(
            select(SlaClock).where(SlaClock.record_id == record_id, SlaClock.target == "resolve")
        ).one()
        assert record.stage == "in_progress" and resolve.running_since == clock.now()
    last = services.thread(record_id)[-1]
    assert last.message.body == "型号是 XQG100"  # the quoted history is trimmed


def test_an_autoresponder_and_a_bounce_make_nothing(services: Services) -> None:
    auto = mail("自动回复：洗衣机漏水", "我正在休假", Auto_Submitted="auto-replied")
    bounce = mail(
        "Undelivered Mail",
        "delivery failed",
        sender="MAILER-DAEMON@shop.example",
        message_id="<b1@shop.example>",
    )
    assert services.take_mail("after_sales", "email", auto).action == "ignored"
    assert services.take_mail("after_sales", "email", bounce).action == "ignored"
    with services.session_factory() as session:
        assert session.scalars(select(Record)).all() == []


def test_the_same_mail_twice_is_taken_once_even_without_a_message_id(services: Services) -> None:
    raw = mail("洗衣机漏水", "一直漏水")
    assert services.take_mail("after_sales", "email", raw).action == "created"
    assert services.take_mail("after_sales", "email", raw).action == "duplicate"
    bare = raw.replace(b"Message-ID: <m1@example.com>\n", b"")
    assert b"Message-ID" not in bare
    assert services.take_mail("after_sales", "email", bare).action == "created"
    assert services.take_mail("after_sales", "email", bare).action == "duplicate"


def test_a_strangers_mail_with_a_records_reference_makes_a_record_of_its_own(
    services: Services,
) -> None:
    first = services.take_mail("after_sales", "email", mail("漏水", "一直漏水"))
    stranger = mail(
        f"Re: 漏水 [CL-{first.record_id}]",
        "我也想看看这个记录",
        sender="someone@elsewhere.example",
        message_id="<s1@elsewhere.example>",
    )
    own = services.take_mail("after_sales", "email", stranger)
    assert own.action == "created" and own.record_id != first.record_id
    same_customer = mail(
        f"Re: 漏水 [CL-{first.record_id}]", "补充：是滚筒的", message_id="<m3@example.com>"
    )
    joined = services.take_mail("after_sales", "email", same_customer)
    assert (joined.action, joined.record_id) == ("joined", first.record_id)


def bounce_of(outbox_id: int) -> bytes:
    """A delivery report (RFC 3464) as a mail system sends it, quoting our mail's headers."""
    report = EmailMessage()
    report["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.com>"
    report["To"] = "service@shop.example"
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Message-ID"] = "<report-1@mx.example.com>"
    report["Auto-Submitted"] = "auto-replied"
    report.set_content(
        "This is the mail system: your mail could not be delivered.\n550 5.1.1 no such user"
    )
    quoted = EmailMessage()
    quoted["Message-ID"] = f"<careloop-outbox-{outbox_id}@careloop>"
    quoted["Subject"] = "Re: 洗衣机漏水"
    quoted.set_content("工程师明天上门。")
    report.add_attachment(quoted)
    return report.as_bytes()


def test_a_bounce_of_our_reply_marks_it_bounced_and_makes_nothing(services: Services) -> None:
    first = services.take_mail("after_sales", "email", mail("洗衣机漏水", "一直漏水"))
    assert first.record_id is not None
    services.reply(first.record_id, "工程师明天上门。", channel="email", actor="li")
    with services.session_factory() as session:
        ours = session.scalars(select(OutboxMessage.id)).one()
    bounced = services.take_mail("after_sales", "email", bounce_of(ours))
    assert (bounced.action, bounced.record_id) == ("bounced", first.record_id)
    reply = [e for e in services.thread(first.record_id) if e.message.direction == "out"][0]
    assert reply.state == "bounced" and reply.error is not None and "550" in reply.error
    vacation = mail(
        "自动回复", "我正在休假", message_id="<v1@example.com>",
        Auto_Submitted="auto-replied", In_Reply_To=f"<careloop-outbox-{ours}@careloop>",
    )  # fmt: skip
    assert services.take_mail("after_sales", "email", vacation).action == "ignored"
    with services.session_factory() as session:
        assert len(session.scalars(select(Record)).all()) == 1
