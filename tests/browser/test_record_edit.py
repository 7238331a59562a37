"""An agent corrects a record on the desk (issue #21, item 2), in Chinese on a desk and in
English on a phone: follow it with one click, tag it and find it by the tag in the queue,
change its priority with a reason (R-2.4), edit a field, and hand it to a teammate.

Screenshots: tests/browser/artifacts/record-edit-<lang>-<width>.png, record-edit-queue.png.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.access import users
from engine.records.intake import NewRecord
from engine.store.models import Record, User
from signin.auth import hash_password
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_polish_tour import CHROME, CJK, chrome_text, data_words
from tests.browser.test_thread import OVERFLOW
from wsgi import services

PASSWORD = "record edit password"


def staff_and_record(live_server: LiveServer) -> int:
    """周洁 and her teammate 吴敏 on the service desk, and a record of hers."""
    service = services(live_server.app)
    with service.uow() as uow:
        for name, display in (("re_zhou", "周洁"), ("re_wu", "吴敏")):
            if uow.session.scalar(select(User).where(User.username == name)) is None:
                users.add_user(
                    uow.session,
                    name,
                    "agent",
                    PASSWORD,
                    hash_password,
                    service.clock.now(),
                    display_name=display,
                    team="service_desk",
                )
        uow.commit()
    fields = {
        "customer_no": "C-731",
        "customer_name": "林强",
        "contact": "13711112222",
        "description": "空调外机噪音大",
    }
    new = NewRecord(record_type="feedback", channel="phone", priority="P2", fields=fields)
    record_id = service.create_record("after_sales", new, actor="api").id
    service.supervise(record_id, actor="api", reassign_to="re_zhou")
    return record_id


def sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def test_an_agent_follows_tags_regrades_and_edits_a_record(
    page: Page, live_server: LiveServer
) -> None:
    record_id = staff_and_record(live_server)
    sign_in(page, "re_zhou")
    page.goto(f"/records/{record_id}")
    expect(page.get_by_text("13711112222")).to_have_count(0)

    page.locator("#follow").click()  # one click
    expect(page.locator("#follow")).to_have_text("取消关注")
    expect(page.locator("#followers .chip")).to_contain_text("周洁")

    page.get_by_label("添加标签").fill("保修，回访")
    page.locator("#tags").get_by_role("button", name="添加").click()
    expect(page.locator("#tags .chip")).to_have_count(2)

    page.locator("#regrade summary").click()
    page.locator("#regrade select[name=priority]").select_option("P0")
    page.get_by_label("调整原因").fill("客户家中有老人，高温天气")
    page.get_by_role("button", name="调整优先级").click()
    expect(page.get_by_role("status")).to_have_text("优先级已调整为 P0 紧急。")
    expect(page.locator(".timeline")).to_contain_text("调整优先级：P2 → P0")

    page.locator("#edit-fields summary").click()
    contact = page.locator("input[name=edit-contact]")
    expect(contact).to_have_value("")
    expect(contact).to_have_attribute("placeholder", re.compile(r"137\*\*\*\*2222"))
    page.locator("input[name=edit-product]").fill("变频空调 KFR-35")
    page.get_by_role("button", name="保存修改").click()
    expect(page.get_by_role("status")).to_have_text("已保存修改：产品/服务")
    page.locator("#reassign summary").click()
    page.locator("#regrade summary").click()
    page.locator("#edit-fields summary").click()
    assert page.evaluate(OVERFLOW) <= 0
    screenshot(page, "record-edit-zh-1280")

    page.locator("#tags .chip a", has_text="回访").click()
    expect(page).to_have_url(re.compile(r"/queue\?.*tags="))
    expect(page.locator(f'tr[data-record="{record_id}"] .chip')).to_have_count(2)
    screenshot(page, "record-edit-queue")


def test_the_record_page_reads_in_english_on_a_phone_and_hands_the_record_on(
    page: Page, live_server: LiveServer
) -> None:
    record_id = staff_and_record(live_server)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "re_zhou")
    page.goto(f"/records/{record_id}")
    page.locator("header form.inline button[name=locale]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    for name in ("#reassign", "#regrade", "#edit-fields"):
        page.locator(f"{name} summary").click()
    assert page.evaluate(OVERFLOW) <= 0, "the record page is wider than a phone"
    service = services(live_server.app)
    with service.uow() as uow:  # a choice field's options are pack data too
        spec = service.latest_spec(uow.session, "after_sales")
    fields = spec.record_types["feedback"].fields.values()
    choices = [label for f in fields for label in f.choices.values()]
    leftover = CJK.findall(chrome_text(page, CHROME, [*data_words(live_server), *choices]))
    assert not leftover, "".join(leftover)
    screenshot(page, "record-edit-en-390")
    page.locator("#reassign select[name=to]").select_option(label="吴敏")
    page.get_by_role("button", name="Reassign", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Reassigned to 吴敏.")
    with service.uow() as uow:
        assert uow.session.get_one(Record, record_id).assignee == "re_wu"
    page.locator("header form.inline button[name=locale]").click()  # back to Chinese
