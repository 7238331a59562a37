"""The chat box on a phone (issue #23 item 4, S0 7×24): a customer asks for an order's status
and gets it, then asks something the box cannot answer and is handed over; an agent finds the
record in the queue with the chat on its thread.

Screenshots: tests/browser/artifacts/chat-phone.png, chat-phone-en.png, chat-handed-over.png and
chat-dashboard.png (the supervisor's self-service figures, issue #23 item 6).
"""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from engine.selfservice.handover import Handover, Turn
from engine.store.models import Customer
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_queue_phone import supervisor
from tests.browser.test_thread import OVERFLOW, PASSWORD, PHONE, sign_in
from tests.selfservice_seed import PHONE as ON_FILE
from tests.selfservice_seed import SHIPPED, seed_shop
from wsgi import services

CHAT = "/help/after_sales/chat"


def shop(live_server: LiveServer) -> None:
    """The shop's customer, orders and articles, added once: the live server is shared."""
    service = services(live_server.app)
    with service.uow() as uow:
        seeded = uow.session.scalar(select(Customer.id).where(Customer.number == "C-88"))
    if seeded is None:
        seed_shop(service)


def ask(page: Page, question: str) -> None:
    """Send a question and wait for the box's answer to it: the greeting already mentions the
    phone number, so asserting on the last turn alone could pass before the answer arrived and
    send the next question with the state of the one before (seen in CI)."""
    answered = page.locator(".turn.bot").count()
    page.get_by_label("您的问题").fill(question)
    page.get_by_role("button", name="发送").click()
    page.locator(".turn.bot").nth(answered).wait_for(timeout=10_000)


def test_a_customer_on_a_phone_gets_an_order_status_then_a_person(
    page: Page, live_server: LiveServer
) -> None:
    shop(live_server)
    page.set_viewport_size(PHONE)
    page.goto(CHAT)
    expect(page.get_by_role("heading", name="在线客服")).to_be_visible()

    ask(page, f"我的订单 {SHIPPED} 到哪了？")
    expect(page.locator(".turn.bot").last).to_contain_text("手机号")  # asks for the other half
    ask(page, ON_FILE)
    expect(page.locator(".turn.bot").last).to_contain_text(f"订单 {SHIPPED} 已于")
    expect(page.locator(".turn.bot").last).to_contain_text("发货")

    ask(page, "洗碗机门关不上")
    last = page.locator(".turn.bot").last
    expect(last).to_contain_text("没有找到答案")
    last.get_by_role("button", name="转人工客服").click()
    page.get_by_label("手机号或邮箱").fill("13955556666")
    page.get_by_label("称呼（选填）").fill("李雷")
    page.get_by_role("button", name="提交并转人工").click()
    done = page.locator(".turn.bot").last
    expect(done).to_contain_text("服务单号")
    found = re.search(r"服务单号 (\d+)", done.inner_text())
    assert found is not None
    record_id = found.group(1)
    assert page.evaluate(OVERFLOW) == 0  # nothing scrolls sideways on a 390 px phone
    screenshot(page, "chat-phone")

    sign_in(page, live_server)
    page.goto("/queue")
    expect(page.locator(f'table.queue tbody tr[data-record="{record_id}"]')).to_have_count(1)
    page.goto(f"/records/{record_id}")
    expect(page.get_by_text("洗碗机门关不上").first).to_be_visible()
    expect(page.get_by_text("自助回答：").first).to_be_visible()
    screenshot(page, "chat-handed-over")


def test_the_chat_box_reads_in_english_for_an_english_browser(
    browser: Browser, live_server: LiveServer
) -> None:
    shop(live_server)
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport=PHONE, timezone_id="Asia/Shanghai"
    )
    try:
        page = context.new_page()
        page.goto(CHAT)
        expect(page.get_by_role("heading", name="Online help")).to_be_visible()
        page.get_by_label("Your question").fill("退款多久能到账")
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.locator(".turn.bot").last).to_contain_text("These may answer your question")
        expect(page.locator(".article summary").first).to_have_text("如何申请退款")
        page.locator(".article summary").first.click()
        page.get_by_role("button", name="Helpful").first.click()
        expect(page.locator(".turn.bot").last).to_contain_text("Glad that helped")
        assert page.evaluate(OVERFLOW) == 0
        screenshot(page, "chat-phone-en")
    finally:
        context.close()


def test_a_supervisor_sees_the_self_service_figures_on_the_dashboard(
    page: Page, live_server: LiveServer
) -> None:
    shop(live_server)
    service = services(live_server.app)
    service.chat_hand_over(
        "after_sales",
        Handover("chat-browser-dash1", "13955557777", "", [Turn("customer", "烤箱不加热")]),
    )
    supervisor(live_server)
    page.goto("/login")
    page.get_by_label("用户名").fill("zhou_queue")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto("/dashboard?period=7d")
    panel = page.locator("#selfservice")
    expect(panel.get_by_role("heading", name="自助服务")).to_be_visible()
    expect(panel.locator("#ss-questions")).to_contain_text("烤箱不加热")
    handed = int(panel.locator("#ss-handed-over strong").inner_text())
    assert handed >= 1
    panel.scroll_into_view_if_needed()
    screenshot(page, "chat-dashboard")
