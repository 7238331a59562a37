"""An agent on a phone answers a customer from the record page (issue #20).

A 390×844 window: open a record that came by email, write an internal note, reply by email,
see both on the thread (the note marked internal, the reply queued), and nothing wider than
the screen. Screenshots: tests/browser/artifacts/thread-phone*.png and thread-desktop.png.
"""

from __future__ import annotations

from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy import select

from engine.access import users
from engine.records.intake import NewRecord
from engine.store.models import User
from signin.auth import hash_password
from tests.browser.conftest import LiveServer, screenshot
from wsgi import services

PASSWORD = "thread password 1"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def agent(live_server: LiveServer) -> None:
    """The agent 徐静 of the service desk, added once for the tests of this module.

    A name of its own: the live server and its users are shared by every browser test."""
    service = services(live_server.app)
    with service.uow() as uow:
        if uow.session.scalar(select(User).where(User.username == "xu")) is None:
            users.add_user(
                uow.session,
                "xu",
                "agent",
                PASSWORD,
                hash_password,
                service.clock.now(),
                display_name="徐静",
                team="service_desk",
            )
            uow.commit()


def seed(live_server: LiveServer) -> int:
    """A record from a customer who wrote by email, with their first message."""
    service = services(live_server.app)
    record = service.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="email",
            priority="P1",
            fields={
                "customer_no": "C-601",
                "customer_name": "王芳",
                "contact": "wangfang.long.address@example.com",
                "description": "洗衣机脱水时漏水",
            },
        ),
        actor="api",
    )
    service.receive(
        record.id,
        "你好，洗衣机脱水时底部漏水，地面全湿了。\n型号 XQG100-HBD14126L，去年 8 月购买。",
        channel="email",
        author="wangfang.long.address@example.com",
    )
    return record.id


def by_phone(live_server: LiveServer) -> int:
    """A record from a customer who left a phone number only."""
    return (
        services(live_server.app)
        .create_record(
            "after_sales",
            NewRecord(
                record_type="feedback",
                channel="phone",
                priority="P2",
                fields={
                    "customer_no": "C-602",
                    "customer_name": "李强",
                    "contact": "13700002222",
                    "description": "冰箱门封条脱落",
                },
            ),
            actor="api",
        )
        .id
    )


def sign_in(page: Page, live_server: LiveServer) -> None:
    agent(live_server)
    page.goto("/login")
    page.get_by_label("用户名").fill("xu")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="工作队列")).to_be_visible()


def test_an_agent_on_a_phone_writes_a_note_and_a_reply(page: Page, live_server: LiveServer) -> None:
    record_id = seed(live_server)
    page.set_viewport_size(PHONE)
    sign_in(page, live_server)
    page.goto(f"/records/{record_id}")
    thread = page.locator("#thread")
    expect(thread.get_by_role("heading", name="沟通记录")).to_be_visible()
    expect(thread.locator(".msg-in")).to_contain_text("w***@example.com")
    expect(page.get_by_text("wangfang.long.address@example.com")).to_have_count(0)
    expect(thread.get_by_label("渠道")).to_have_value("email")  # it came by email
    assert page.evaluate(OVERFLOW) <= 0, "the record page is wider than a phone"
    screenshot(page, "thread-phone-before")

    thread.get_by_label("内部备注", exact=True).fill("客户去年报修过同型号，先查保修。")
    thread.get_by_role("button", name="添加内部备注").click()
    expect(page).to_have_url(f"{live_server.url}/records/{record_id}#thread")
    expect(page.get_by_role("status")).to_have_text("已添加内部备注。")
    note = page.locator("#thread .msg-note")
    expect(note).to_contain_text("内部备注 · 不会发给客户")
    expect(note).to_contain_text("客户去年报修过同型号，先查保修。")

    reply = "王女士您好：\n工程师明天上午 9–11 点上门检查排水管。\n如时间不便请直接回复本邮件。"
    page.locator("#thread").get_by_label("回复客户").fill(reply)
    page.locator("#thread").get_by_role("button", name="发送回复").click()
    expect(page.get_by_role("status")).to_have_text("回复已加入发送队列。")
    out = page.locator("#thread .msg-out")
    expect(out).to_have_count(1)
    expect(out).to_contain_text("已排队")
    expect(out.locator(".msg-body")).to_have_text(reply)  # line breaks as written
    kinds = page.locator("#thread .msg").evaluate_all("items => items.map(i => i.className)")
    assert kinds == ["msg msg-in", "msg msg-note", "msg msg-out"]  # oldest first

    # The customer's message sits left, ours right: apart at a glance, even on a phone.
    left = page.locator("#thread .msg-in").bounding_box()
    right = out.bounding_box()
    assert left is not None and right is not None
    assert left["x"] < right["x"]
    assert page.evaluate(OVERFLOW) <= 0, "the thread is wider than a phone"
    screenshot(page, "thread-phone")

    page.set_viewport_size(DESKTOP)
    screenshot(page, "thread-desktop")


def test_an_email_reply_to_a_customer_without_address_says_why_and_keeps_the_text(
    page: Page, live_server: LiveServer
) -> None:
    record_id = by_phone(live_server)
    page.set_viewport_size(PHONE)
    sign_in(page, live_server)
    page.goto(f"/records/{record_id}")
    thread = page.locator("#thread")
    expect(thread.get_by_label("渠道")).to_have_value("sms")  # a caller is answered by SMS
    thread.get_by_label("渠道").select_option("email")
    thread.get_by_label("回复客户").fill("您好，已为您安排上门。")
    thread.get_by_role("button", name="发送回复").click()
    expect(page.get_by_role("status")).to_contain_text("has no customer email address")
    thread = page.locator("#thread")
    expect(thread.get_by_label("回复客户")).to_have_value("您好，已为您安排上门。")
    expect(thread.get_by_label("回复客户")).to_be_focused()  # the phone scrolls to it
    expect(thread.locator(".error")).to_contain_text("客户没有邮箱地址")
    expect(thread.locator(".msg")).to_have_count(0)
    assert page.evaluate(OVERFLOW) <= 0
    screenshot(page, "thread-phone-refused")
