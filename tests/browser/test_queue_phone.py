"""Finding work on a phone (issue #21, item 5; R-2.6): a supervisor searches the queue by a
Chinese word, saves the view, and the page never scrolls sideways (the table does, in its box).

Screenshots: tests/browser/artifacts/queue-phone.png and queue-phone-en.png.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.access import users
from engine.records.intake import NewRecord
from engine.store.models import User
from signin.auth import hash_password
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_thread import OVERFLOW, PASSWORD, PHONE
from wsgi import services


def supervisor(live_server: LiveServer) -> None:
    """The supervisor 周敏, added once: the live server's users are shared by every test."""
    service = services(live_server.app)
    with service.uow() as uow:
        if uow.session.scalar(select(User).where(User.username == "zhou_queue")) is None:
            users.add_user(
                uow.session,
                "zhou_queue",
                "supervisor",
                PASSWORD,
                hash_password,
                service.clock.now(),
                display_name="周敏",
                team="service_desk",
            )
            uow.commit()


def test_a_supervisor_on_a_phone_searches_and_saves_a_view(
    page: Page, live_server: LiveServer
) -> None:
    supervisor(live_server)
    record = services(live_server.app).create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            priority="P1",
            fields={
                "customer_no": "C-701",
                "customer_name": "赵磊",
                "contact": "13600003333",
                "description": "烘干机烘不干衣服\n已经清理过滤网，还是要烘三个小时",
            },
        ),
        actor="api",
    )
    page.set_viewport_size(PHONE)
    page.goto("/login")
    page.get_by_label("用户名").fill("zhou_queue")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="工作队列")).to_be_visible()

    page.get_by_role("searchbox").fill("烘干机")
    page.get_by_role("button", name="筛选").click()
    rows = page.locator("table.queue tbody tr[data-record]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-record", str(record.id))
    expect(rows.first.locator("td.subject")).to_have_text("烘干机烘不干衣服")
    expect(page.get_by_text("13600003333")).to_have_count(0)

    page.locator("details.save-view summary").click()
    page.get_by_label("视图名称").fill("烘干机")
    page.get_by_label("与本组共享").check()
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator(".saved-view a", has_text="烘干机")).to_contain_text("1")
    screenshot(page, "queue-phone")
    assert page.evaluate(OVERFLOW) == 0  # the page itself never scrolls sideways

    # The same page in English: the filters' words translated, still no sideways scroll.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("button", name="Filter")).to_be_visible()
    expect(page.get_by_text("Save these filters")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Subject")).to_be_visible()
    assert page.evaluate(OVERFLOW) == 0
    screenshot(page, "queue-phone-en")
    page.get_by_role("button", name="中文").click()  # the shared user reads Chinese again
