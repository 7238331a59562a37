"""An agent takes a phone call and creates its record from the desk (issue #21).

At 390×844: from the queue to the new-record form, type the call in, land on the new record.
At 1280×900: the same customer calls again and the form offers their open record instead.
Screenshots: tests/browser/artifacts/new-record-phone*.png and new-record-desktop*.png.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_thread import DESKTOP, OVERFLOW, PHONE, sign_in


def test_an_agent_creates_a_record_for_a_phone_call(page: Page, live_server: LiveServer) -> None:
    """R-1.1, R-1.2: a call typed in on the pack's form; R-1.7: a second call on the same
    subject is offered the first record."""
    page.set_viewport_size(PHONE)
    sign_in(page, live_server)
    screenshot(page, "new-record-phone-queue")
    page.get_by_role("link", name="新建记录").click()
    expect(page.get_by_role("heading", name="新建记录")).to_be_visible()
    form = page.locator("#new-record")
    expect(form.locator("[name=channel]")).to_have_value("phone")
    form.locator("[name=priority]").select_option("P1")
    form.locator("[name=category]").select_option("quality")
    form.locator("[name=customer_no]").fill("C-701")
    form.locator("[name=customer_name]").fill("赵敏")
    form.locator("[name=contact]").fill("13600007777")
    form.locator("[name=product]").fill("滚筒洗衣机 XQG100")
    form.locator("[name=description]").fill("来电：洗衣机脱水时剧烈晃动并报 E3。")
    assert page.evaluate(OVERFLOW) <= 0, "the new-record form is wider than a phone"
    screenshot(page, "new-record-phone-form")

    form.get_by_role("button", name="创建记录").click()
    expect(page).to_have_url(re.compile(r"/records/\d+$"))
    record_id = page.url.rsplit("/", 1)[-1]
    expect(page.get_by_role("status")).to_have_text(f"已创建记录 #{record_id}")
    expect(page.get_by_text("13600007777")).to_have_count(0)  # masked on the record page
    assert page.evaluate(OVERFLOW) <= 0
    screenshot(page, "new-record-phone-created")

    page.set_viewport_size(DESKTOP)
    page.goto("/records/new")
    form = page.locator("#new-record")
    form.get_by_label("查找客户").fill("136 0000 7777")
    form.get_by_role("button", name="查找").click()
    found = page.locator("#customer-found")
    expect(found).to_contain_text("C-701")
    expect(found).to_contain_text("赵*")
    expect(found).to_contain_text("136****7777")
    form = page.locator("#new-record")
    form.locator("[name=category]").select_option("quality")
    form.locator("[name=description]").fill("又来电：仍然报 E3。")
    form.get_by_role("button", name="创建记录").click()
    warning = page.locator("#same-subject")
    expect(warning).to_contain_text(f"#{record_id}")
    expect(warning).to_contain_text("待受理")
    screenshot(page, "new-record-desktop-same-subject")

    warning.get_by_role("button", name=f"添加到 #{record_id}").click()
    expect(page).to_have_url(f"{live_server.url}/records/{record_id}#thread")
    expect(page.locator("#thread .msg-in")).to_contain_text("又来电：仍然报 E3。")
    screenshot(page, "new-record-desktop-added")
