"""The thread on the record page (issue #20): the agent reads it, replies and writes notes.

Through the test client, as tests/integration/test_desk.py drives the desk: what is queued,
what stays internal, what the engine refuses (shown, with the typed text kept, never a 500),
who may post, the English page, CSRF, and the customer's contact never shown raw.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.store.models import OutboxMessage, ThreadMessage
from tests.integration.test_desk import PASSWORD, create, make_app, signed_in
from wsgi import services

ADDRESS = "wangfang@example.com"


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Iterator[Flask]:
    yield make_app(tmp_path, after_sales, WTF_CSRF_ENABLED=False)


def by_email(app: Flask, number: str = "C-7") -> int:
    """A record that came by email from a customer who gave their address."""
    fields = {
        "customer_no": number,
        "customer_name": "王芳",
        "contact": ADDRESS,
        "description": "洗衣机漏水",
    }
    return (
        services(app)
        .create_record(
            "after_sales",
            NewRecord(record_type="feedback", channel="email", priority="P1", fields=fields),
            actor="api",
        )
        .id
    )


def outbox(app: Flask, record_id: int) -> list[OutboxMessage]:
    with services(app).session_factory() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.record_id == record_id))
        return list(rows.all())


def thread_section(page: str) -> str:
    found = re.search(r'<section class="card" id="thread">(.*?)</section>', page, re.S)
    assert found is not None, "the record page has no thread"
    return found.group(1)


def test_the_record_page_preselects_email_for_a_record_that_came_by_email(app: Flask) -> None:
    record_id = by_email(app)
    page = signed_in(app, "li").get(f"/records/{record_id}").get_data(as_text=True)
    thread = thread_section(page)
    assert "沟通记录" in page and "还没有消息。" in thread
    assert '<option value="email" selected>' in thread
    assert "发送回复" in thread and "添加内部备注" in thread
    phone = signed_in(app, "li").get(f"/records/{create(app)}").get_data(as_text=True)
    # A caller is answered by SMS: the pack's `answering.by_channel` (docs/channels.md).
    assert '<option value="sms" selected>' in thread_section(phone)


def test_an_email_reply_is_queued_in_the_outbox_and_shown_as_queued(app: Flask) -> None:
    record_id = by_email(app)
    client = signed_in(app, "li")
    response = client.post(
        f"/records/{record_id}/reply",
        data={"text": "您好，工程师明早 9 点上门。\n请保持电话畅通。", "channel": "email"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/records/{record_id}#thread")
    (mail,) = outbox(app, record_id)
    assert (mail.channel, mail.recipient) == ("email", ADDRESS)
    page = client.get(f"/records/{record_id}").get_data(as_text=True)
    assert "回复已加入发送队列。" in page  # the flash
    thread = thread_section(page)
    assert 'class="msg msg-out" data-state="queued"' in thread
    assert "已排队" in thread and ">queued<" not in thread
    assert "您好，工程师明早 9 点上门。\n请保持电话畅通。" in thread  # line breaks as written
    assert ">li<" in thread and "邮件" in thread


def test_a_note_is_shown_as_internal_and_sends_nothing(app: Flask) -> None:
    record_id = by_email(app)
    client = signed_in(app, "li")
    response = client.post(
        f"/records/{record_id}/note", data={"text": "客户上次投诉过，注意语气。"}
    )
    assert response.status_code == 302
    assert outbox(app, record_id) == []
    page = client.get(f"/records/{record_id}").get_data(as_text=True)
    assert "已添加内部备注。" in page
    thread = thread_section(page)
    assert 'class="msg msg-note" data-state="internal"' in thread
    assert "内部备注 · 不会发给客户" in thread and "客户上次投诉过，注意语气。" in thread


def test_a_phone_reply_is_recorded_not_sent(app: Flask) -> None:
    record_id = create(app)
    client = signed_in(app, "li")
    client.post(f"/records/{record_id}/reply", data={"text": "已电话告知。", "channel": "phone"})
    assert outbox(app, record_id) == []
    thread = thread_section(client.get(f"/records/{record_id}").get_data(as_text=True))
    assert "已记录（电话等）" in thread and 'data-state="recorded"' in thread


def test_an_email_reply_to_a_customer_without_address_shows_why_and_keeps_the_text(
    app: Flask,
) -> None:
    record_id = create(app)  # the customer gave a phone number only
    response = signed_in(app, "li").post(
        f"/records/{record_id}/reply", data={"text": "邮件答复：已安排上门。", "channel": "email"}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f"record {record_id} has no customer email address to answer" in page  # the engine's
    assert "客户没有邮箱地址" in page  # and what to do about it, in the user's language
    thread = thread_section(page)
    assert "邮件答复：已安排上门。</textarea>" in thread
    assert '<option value="email" selected>' in thread
    assert outbox(app, record_id) == []
    with services(app).session_factory() as session:
        assert session.scalars(select(ThreadMessage)).all() == []


def test_an_empty_note_or_an_unknown_channel_is_refused_on_the_page(app: Flask) -> None:
    record_id = by_email(app)
    client = signed_in(app, "li")
    empty = client.post(f"/records/{record_id}/note", data={"text": "   "})
    assert empty.status_code == 400 and "请填写内容。" in empty.get_data(as_text=True)
    fax = client.post(f"/records/{record_id}/reply", data={"text": "传真", "channel": "fax"})
    assert fax.status_code == 400 and "is not a channel" in fax.get_data(as_text=True)
    assert client.post(f"/records/{record_id}/reply", data={}).status_code == 400


def test_only_staff_who_may_open_the_record_may_post_to_its_thread(app: Flask) -> None:
    record_id = by_email(app)
    services(app).transition(
        record_id, "accept", {"category": "service", "priority": "P2"}, actor="other"
    )  # routed to training
    outsider = signed_in(app, "wang")
    assert outsider.post(f"/records/{record_id}/note", data={"text": "看看"}).status_code == 404
    reply = {"text": "你好", "channel": "email"}
    assert outsider.post(f"/records/{record_id}/reply", data=reply).status_code == 404
    assert outbox(app, record_id) == []
    anonymous = app.test_client().post(f"/records/{record_id}/note", data={"text": "x"})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    supervisor = signed_in(app, "zhao")
    assert supervisor.post(f"/records/{record_id}/note", data={"text": "已知悉"}).status_code == 302


def test_the_customer_is_shown_masked_and_their_words_escaped(app: Flask) -> None:
    record_id = by_email(app)
    services(app).receive(
        record_id, "<script>alert(1)</script>\n型号 XQG100", channel="email", author=ADDRESS
    )
    page = signed_in(app, "li").get(f"/records/{record_id}").get_data(as_text=True)
    thread = thread_section(page)
    assert ADDRESS not in page
    assert "w***@example.com" in thread and 'class="msg msg-in"' in thread
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\n型号 XQG100" in thread
    assert "<script>alert(1)" not in page


def test_a_failed_delivery_says_why_with_the_address_masked(app: Flask) -> None:
    record_id = by_email(app)
    services(app).reply(record_id, "您好", channel="email", actor="li")
    with services(app).session_factory() as session:
        (mail,) = session.scalars(select(OutboxMessage)).all()
        mail.status, mail.last_error = "dead", f"550 <{ADDRESS}> mailbox unavailable"
        session.commit()
    thread = thread_section(
        signed_in(app, "li").get(f"/records/{record_id}").get_data(as_text=True)
    )
    assert "发送失败" in thread and "mailbox unavailable" in thread
    assert ADDRESS not in thread and "w***@example.com" in thread


def test_the_english_page_shows_the_thread_in_english(app: Flask) -> None:
    record_id = by_email(app)
    client = signed_in(app, "li")
    client.post("/me/language", data={"locale": "en"})
    client.post(f"/records/{record_id}/reply", data={"text": "Hello", "channel": "email"})
    client.post(f"/records/{record_id}/note", data={"text": "VIP"})
    page = client.get(f"/records/{record_id}").get_data(as_text=True)
    thread = thread_section(page)
    for words in ("Conversation", "Queued", "Internal note · not sent to the customer"):
        assert words in page
    assert "Send reply" in thread and "Add internal note" in thread
    assert "已排队" not in thread and "发送回复" not in thread


def test_posting_to_the_thread_needs_the_csrf_token(
    tmp_path: Path, after_sales: PackSource
) -> None:
    app = make_app(tmp_path, after_sales)
    record_id = by_email(app)
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login)
    assert token is not None
    client.post("/login", data={"username": "li", "password": PASSWORD, "csrf_token": token[1]})
    note = {"text": "无令牌"}
    assert client.post(f"/records/{record_id}/note", data=note).status_code == 400
    assert (
        client.post(f"/records/{record_id}/reply", data={**note, "channel": "email"}).status_code
        == 400
    )
    assert outbox(app, record_id) == []
    page = client.get(f"/records/{record_id}").get_data(as_text=True)
    assert "无令牌" not in page
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', thread_section(page))
    assert form_token is not None
    done = client.post(f"/records/{record_id}/note", data={**note, "csrf_token": form_token[1]})
    assert done.status_code == 302
