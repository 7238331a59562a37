"""Two agents on one record, and a duplicate merged from the record page (issue #21 item 2).

马丽 (Chinese) and 张三 (English) open the same record: each page names the other. 马丽 merges
the customer's second call into the first: the survivor's thread holds the second call's
message, its history says what was merged and shows the merged record's events, marked; the
merged record's page points to the survivor. On a desk and on a phone, in both languages,
with no raw key and no Chinese in the English chrome.

Screenshots: tests/browser/artifacts/merge_<lang>_<width>_<page>.png.
"""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlalchemy import select

from engine.access import users
from engine.records.intake import NewRecord
from engine.store.models import User
from signin.auth import hash_password
from tests.browser.conftest import ARTIFACTS, DEFAULT_TIMEOUT_MS, LiveServer, screenshot
from wsgi import services

PASSWORD = "merge password 1"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESK: ViewportSize = {"width": 1280, "height": 900}
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
RAW_KEYS = re.compile(r"\b(pending|closed|merged|merged_into|record\.merged|service_desk)\b")
AGENTS = (("mali", "马丽", "zh"), ("zhangsan", "张三", "en"))


def agents(live_server: LiveServer) -> None:
    service = services(live_server.app)
    with service.uow() as uow:
        for username, name, locale in AGENTS:
            if uow.session.scalar(select(User).where(User.username == username)) is None:
                users.add_user(
                    uow.session,
                    username,
                    "agent",
                    PASSWORD,
                    hash_password,
                    service.clock.now(),
                    display_name=name,
                    team="service_desk",
                    locale=locale,
                )
        uow.commit()


def call(live_server: LiveServer, text: str) -> int:
    service = services(live_server.app)
    fields = {
        "customer_no": "C-731",
        "customer_name": "周敏",
        "contact": "13900007310",
        "product": "空调",
        "description": text,
    }
    new = NewRecord(record_type="feedback", channel="phone", priority="P2", fields=fields)
    record_id = service.create_record("after_sales", new, actor="api").id
    service.receive(record_id, text, channel="phone")
    return record_id


def signed_in(browser: Browser, live_server: LiveServer, username: str) -> Page:
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/queue"))
    return page


def test_two_agents_see_each_other_and_one_merges_the_duplicate(
    browser: Browser, live_server: LiveServer
) -> None:
    agents(live_server)
    first = call(live_server, "空调不制冷，第一次来电")
    second = call(live_server, "空调还是不制冷，第二次来电")
    mali = signed_in(browser, live_server, "mali")
    zhang = signed_in(browser, live_server, "zhangsan")
    try:
        mali.goto(f"/records/{first}")
        zhang.goto(f"/records/{first}")
        expect(zhang.locator("#presence")).to_have_text("马丽 is also viewing this record")
        mali.reload()  # its next beat, without waiting 20 s for it
        expect(mali.locator("#presence")).to_have_text("张三 也在查看此记录")
        screenshot(mali, "merge_zh_1280_presence")

        mali.locator("#merge summary").click()
        mali.locator("#merge input[name=other]").fill(f"CL-{second}")
        mali.locator("#merge input[value=into_this]").check()
        mali.set_viewport_size(PHONE)
        assert mali.evaluate(OVERFLOW) <= 0, "the merge form is wider than a phone"
        screenshot(mali, "merge_zh_390_form")
        mali.locator("#merge").screenshot(path=str(ARTIFACTS / "merge_zh_390_form_box.png"))
        mali.set_viewport_size(DESK)
        mali.locator("#merge button[type=submit]").click()

        expect(mali).to_have_url(f"{live_server.url}/records/{first}")
        expect(mali.locator(".flash.success")).to_have_text(f"已将记录 #{second} 合并到 #{first}。")
        expect(mali.locator("#thread")).to_contain_text("空调还是不制冷，第二次来电")
        timeline = mali.locator(".timeline")
        expect(timeline).to_contain_text(f"合并了记录 #{second}")
        expect(timeline.locator(".from-merged").first).to_have_text(f"来自 #{second}")
        expect(mali.locator("#merged-list")).to_contain_text(f"#{second}")
        assert not RAW_KEYS.search(mali.locator("main").inner_text())
        screenshot(mali, "merge_zh_1280_survivor")

        mali.goto(f"/records/{second}")
        banner = mali.locator("#merged-banner")
        expect(banner).to_contain_text(f"此记录已合并到 #{first}")
        expect(mali.locator("#merge")).to_have_count(0)
        mali.set_viewport_size(PHONE)
        assert mali.evaluate(OVERFLOW) <= 0, "the merged record's page is wider than a phone"
        screenshot(mali, "merge_zh_390_merged")

        zhang.goto(f"/records/{second}")
        expect(zhang.locator("#merged-banner")).to_have_text(
            f"This record was merged into #{first}; carry on there."
        )
        screenshot(zhang, "merge_en_1280_merged")
        zhang.goto(f"/records/{first}")
        expect(zhang.locator(".timeline")).to_contain_text(f"Merged record #{second} into this one")
        for chrome in ("#merge summary", "#merge label", "#merged-list", ".from-merged"):
            for text in zhang.locator(chrome).all_inner_texts():
                assert not CJK.search(text), (chrome, text)
        zhang.set_viewport_size(PHONE)
        zhang.locator("#merge summary").click()
        assert zhang.evaluate(OVERFLOW) <= 0
        screenshot(zhang, "merge_en_390_survivor")
    finally:
        mali.context.close()
        zhang.context.close()
