"""A person at the desk: sign in, take the next record, get a form wrong, fix it, see the result.

Screenshots of the queue and the record page are saved in tests/browser/artifacts/.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from engine.access import users
from engine.records.intake import NewRecord
from signin.auth import hash_password
from tests.browser.conftest import LiveServer, screenshot
from wsgi import services

PASSWORD = "desk password 1"


def seed(live_server: LiveServer) -> int:
    """An agent, and three waiting records of which the P0 is the most urgent."""
    service = services(live_server.app)
    with service.uow() as uow:
        users.add_user(
            uow.session,
            "liu",
            "agent",
            PASSWORD,
            hash_password,
            service.clock.now(),
            display_name="刘敏",
            team="service_desk",
        )
        uow.commit()
    urgent = 0
    for number, priority in (("C-501", "P2"), ("C-502", "P0"), ("C-503", "P1")):
        record = service.create_record(
            "after_sales",
            NewRecord(
                record_type="feedback",
                channel="phone",
                priority=priority,
                fields={
                    "customer_no": number,
                    "customer_name": "陈静",
                    "contact": "13900001111",
                    "description": "冰箱不制冷",
                },
            ),
            actor="api",
        )
        urgent = record.id if priority == "P0" else urgent
    return urgent


def test_an_agent_takes_the_next_record_and_accepts_it(page: Page, live_server: LiveServer) -> None:
    urgent = seed(live_server)
    page.goto("/queue")
    expect(page).to_have_url(f"{live_server.url}/login?next=%2Fqueue")
    page.get_by_label("用户名").fill("liu")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()

    expect(page.get_by_role("heading", name="工作队列")).to_be_visible()
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_have_attribute("data-record", str(urgent))  # P0 first
    expect(rows.first).to_have_class("sla-on_track")
    expect(page.get_by_text("13900001111")).to_have_count(0)  # personal data stays masked
    screenshot(page, "queue")

    page.get_by_role("button", name="领取下一条").click()
    expect(page).to_have_url(f"{live_server.url}/records/{urgent}")
    expect(page.locator("#stage")).to_have_text("待受理")

    # Accept without the required category: the form comes back with the error, values kept.
    accept = page.locator("#t-accept")
    accept.locator("summary").click()
    accept.get_by_label("优先级").select_option("P0")
    accept.get_by_label("所需资源").select_option("on_site")
    accept.get_by_label("类别").evaluate("select => select.selectedIndex = -1")
    accept.get_by_role("button", name="受理").click()
    expect(page.locator("#t-accept .error")).to_have_count(1)
    expect(page.locator("#t-accept").get_by_label("所需资源")).to_have_value("on_site")
    expect(page.locator("#stage")).to_have_text("待受理")

    page.locator("#t-accept").get_by_label("类别").select_option("other")
    page.locator("#t-accept").get_by_role("button", name="受理").click()
    expect(page.get_by_text("已受理。")).to_be_visible()
    expect(page.locator("#stage")).to_have_text("处理中")
    expect(page.locator("#sla-state")).to_contain_text("按时")
    expect(page.locator("table.clocks")).to_contain_text("已达成")  # respond met
    screenshot(page, "record")
