"""The dashboard's analysis section (issue #25 item 4, R-4.2) in Chinese and in English, on a
desk and on a 390 px phone: top problems with their share, churn by resolution time and by
satisfaction as tables and charts; no raw key, no Chinese in the English chrome.

Screenshots: tests/browser/artifacts/review_analysis_zh.png, review_analysis_en_phone.png.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, ViewportSize, expect

from engine.access import users
from engine.records.intake import NewRecord
from signin.auth import hash_password
from tests.browser.conftest import LiveServer, screenshot
from wsgi import services

PASSWORD = "analysis password 1"
PHONE: ViewportSize = {"width": 390, "height": 844}
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def seed(live_server: LiveServer) -> None:
    service = services(live_server.app)
    with service.uow() as uow:
        for name, locale in (("ana_zh", "zh"), ("ana_en", "en")):
            users.add_user(
                uow.session,
                name,
                "supervisor",
                PASSWORD,
                hash_password,
                service.clock.now(),
                locale=locale,
            )
        uow.commit()
    for category in ("quality", "logistics"):
        service.create_record(
            "after_sales",
            NewRecord(
                record_type="feedback",
                channel="phone",
                category=category,
                fields={"customer_no": "C-950", "contact": "13900001111", "description": "异响"},
            ),
            actor="api",
        )


def sign_in(page: Page, name: str) -> None:
    page.goto("/login")
    page.locator("input[name=username]").fill(name)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()


def test_the_analysis_reads_in_chinese_and_in_english_on_a_phone(
    page: Page, live_server: LiveServer
) -> None:
    seed(live_server)
    sign_in(page, "ana_zh")
    page.goto("/dashboard?period=7d")
    section = page.locator("#analysis")
    expect(section.get_by_role("heading", name="高频问题（按类别）")).to_be_visible()
    expect(section.locator("#table-churn-resolution th").first).to_have_text("区间")
    expect(section.locator("svg.chart")).to_have_count(2)
    expect(section.locator("#table-top-category")).to_contain_text(
        re.compile(r"产品质量\s*\d+\s*\d+%")
    )
    section.scroll_into_view_if_needed()
    screenshot(page, "review_analysis_zh")

    page.context.clear_cookies()
    page.set_viewport_size(PHONE)
    sign_in(page, "ana_en")
    page.goto("/dashboard?period=7d&top_by=tag")
    section = page.locator("#analysis")
    expect(section.get_by_role("heading", name="Top problems (by tag)")).to_be_visible()
    expect(
        section.get_by_role("heading", name="Churn and repurchase (by satisfaction)")
    ).to_be_visible()
    chrome = section.locator("h2, th, p.noprint").all_inner_texts()
    assert not [t for t in chrome if re.search(r"[\u4e00-\u9fff]", t)], chrome
    assert page.evaluate(OVERFLOW) == 0  # nothing scrolls sideways on a 390 px phone
    section.scroll_into_view_if_needed()
    screenshot(page, "review_analysis_en_phone")
