"""A bounced reply on a phone (issue #20, part 5): the agent sees the warning next to the
customer and above the reply box, and sends the reply again with one button.

Screenshot: tests/browser/artifacts/bounce-phone.png.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_thread import OVERFLOW, PHONE, seed, sign_in
from tests.integration.test_mail_intake import bounce_of
from wsgi import services


def test_an_agent_on_a_phone_sees_the_bounce_and_sends_the_reply_again(
    page: Page, live_server: LiveServer
) -> None:
    service = services(live_server.app)
    record_id = seed(live_server)
    reply = service.reply(record_id, "工程师明天上门。", channel="email", actor="xu")
    assert reply.outbox_id is not None
    report = bounce_of(reply.outbox_id).replace(b"<report-1@", f"<report-{record_id}@".encode())
    assert service.take_mail("after_sales", "email", report).action == "bounced"
    page.set_viewport_size(PHONE)
    sign_in(page, live_server)
    page.goto(f"/records/{record_id}")
    warnings = page.locator(".contact-failing")
    expect(warnings).to_have_count(2)  # next to the customer, above the reply box
    expect(warnings.last).to_contain_text("邮件回复仍可发送，但可能无法送达")
    out = page.locator("#thread .msg-out")
    expect(out).to_contain_text("已退信：")
    expect(out).to_contain_text("550 5.1.1 no such user")
    assert page.evaluate(OVERFLOW) <= 0, "the bounced reply is wider than a phone"
    screenshot(page, "bounce-phone")

    out.get_by_role("button", name="重新发送").click()
    expect(page.get_by_role("status")).to_have_text("已重新加入发送队列。")
    expect(out).to_contain_text("已排队")
    expect(out.get_by_role("button", name="重新发送")).to_have_count(0)
