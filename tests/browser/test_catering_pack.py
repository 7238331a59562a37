"""A new team publishes the catering pack and works a dine-in complaint through it (R-8.2)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from engine.access import users
from engine.records.intake import NewRecord
from signin.auth import hash_password
from tests.browser.conftest import LiveServer, screenshot
from tests.conftest import ROOT
from workflows.validate import checked_source
from wsgi import services

PASSWORD = "front of house 1"


def test_a_dining_complaint_goes_from_pending_to_closed(
    page: Page, live_server: LiveServer
) -> None:
    service = services(live_server.app)
    service.publish(checked_source(ROOT / "workflows" / "catering"), by="ops")  # one command
    with service.uow() as uow:
        users.add_user(
            uow.session,
            "zhou",
            "agent",
            PASSWORD,
            hash_password,
            service.clock.now(),
            display_name="周经理",
            team="front_of_house",
        )
        uow.commit()
    record = service.create_record(
        "catering",
        NewRecord(
            record_type="dining_complaint",
            channel="walk_in",
            priority="P1",
            fields={
                "contact": "13700007777",
                "store": "徐汇店",
                "table_no": "12",
                "description": "上菜太慢，等了四十分钟",
            },
        ),
        actor="pos",
    )

    page.goto(f"/records/{record.id}")
    page.get_by_label("用户名").fill("zhou")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name=f"#{record.id} 堂食投诉")).to_be_visible()
    expect(page.locator("#stage")).to_have_text("待受理")

    accept = page.locator("#t-accept")
    accept.evaluate("details => details.open = true")
    accept.get_by_label("类别").select_option("waiting_time")  # → front of house
    accept.get_by_label("优先级").select_option("P1")
    accept.get_by_role("button", name="受理").click()
    expect(page.locator("#stage")).to_have_text("处理中")

    resolve = page.locator("#t-resolve")
    resolve.evaluate("details => details.open = true")
    resolve.get_by_label("处理方式").select_option("voucher")
    resolve.get_by_label("处理说明").fill("致歉并赠送代金券")
    resolve.get_by_role("button", name="解决").click()
    expect(page.locator("#stage")).to_have_text("已解决")
    expect(page.locator("table.clocks")).not_to_contain_text("已超时")

    close = page.locator("#t-close")
    close.evaluate("details => details.open = true")
    close.get_by_label("满意度（1-5）").fill("5")
    close.get_by_role("button").click()
    expect(page.locator("#stage")).to_have_text("已关闭")
    screenshot(page, "catering_closed")
