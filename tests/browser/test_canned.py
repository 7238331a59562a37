"""An agent answers with a canned response and works from the keyboard (issue #21, items 4, 7).

On the queue `?` shows the keys and J then Enter opens a record; on a record, R focuses the
reply box, the canned search finds "请提供购买凭证" by a keyword, inserts it rendered for the
record (the customer's own name), and sending it puts the record to wait on the customer
(R-3.1). Keys typed in a field stay in the field. Screenshots: tests/browser/artifacts/
keys-help.png, canned-search.png, canned-inserted.png, canned-sent.png.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from engine.customers.profiles import upsert_customer
from engine.records.intake import NewRecord
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_thread import sign_in
from wsgi import services


def in_progress(live_server: LiveServer) -> int:
    """陈女士's record, accepted as "other" so it stays with the service desk."""
    service = services(live_server.app)
    with service.uow() as uow:
        upsert_customer(uow.session, "C-621", {"name": "陈女士"}, service.clock.now())
        uow.commit()
    fields = {
        "customer_no": "C-621",
        "customer_name": "陈女士",
        "contact": "13600006666",
        "product": "滚筒洗衣机",
        "description": "洗衣机不能开机",
    }
    new = NewRecord(record_type="feedback", channel="phone", priority="P2", fields=fields)
    record_id = service.create_record("after_sales", new, actor="api").id
    service.transition(record_id, "accept", {"category": "other", "priority": "P2"}, actor="api")
    return record_id


def test_keys_open_the_help_and_a_record_from_the_queue(
    page: Page, live_server: LiveServer
) -> None:
    in_progress(live_server)
    sign_in(page, live_server)
    expect(page.locator("#take-next")).to_have_attribute("title", "快捷键：T")
    page.keyboard.press("?")
    help_box = page.locator("#keys-help")
    expect(help_box).to_be_visible()
    expect(help_box).to_contain_text("领取下一条")
    screenshot(page, "keys-help")
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()
    page.keyboard.press("j")
    expect(page.locator("tr.chosen")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/records/\d+$"))


def test_an_agent_replies_with_a_canned_response(page: Page, live_server: LiveServer) -> None:
    record_id = in_progress(live_server)
    sign_in(page, live_server)
    page.goto(f"/records/{record_id}")
    reply = page.locator(".reply-box textarea")
    note = page.locator(".note-box textarea")
    expect(reply).to_have_attribute("title", "快捷键：R")
    page.keyboard.press("r")
    expect(reply).to_be_focused()
    page.keyboard.press("i")  # typed in the reply box: a letter, not a shortcut
    expect(reply).to_have_value("i")
    expect(note).not_to_be_focused()
    reply.fill("")

    search = page.locator(".canned-search")
    search.click()
    search.fill("凭证")
    hits = page.locator(".canned-hits")
    expect(hits.get_by_role("button", name="请提供购买凭证")).to_be_visible()
    expect(hits.get_by_role("button")).to_have_count(1)
    screenshot(page, "canned-search")
    hits.get_by_role("button", name="请提供购买凭证").click()
    expect(reply).to_be_focused()
    expect(reply).to_have_value(re.compile(r"^陈女士，为确认滚筒洗衣机是否在保修期内"))
    then = page.get_by_label("发送后：等待客户")
    expect(then).to_be_visible()
    expect(then).to_be_checked()
    screenshot(page, "canned-inserted")

    page.locator(".reply-box select[name=channel]").select_option("phone")  # by phone: recorded
    page.get_by_role("button", name="发送回复").click()
    expect(page.locator(".flash.success").first).to_be_visible()
    expect(page.locator("#stage")).to_have_text("等待客户")
    expect(page.locator("#thread .msg")).to_contain_text(["陈女士，为确认滚筒洗衣机是否在保修期内"])
    screenshot(page, "canned-sent")


def test_an_agent_keeps_their_own_canned_response(page: Page, live_server: LiveServer) -> None:
    """Saved on 我的快捷回复, refused with its reason when hostile, offered on every record."""
    record_id = in_progress(live_server)
    sign_in(page, live_server)
    page.goto("/me/canned")
    page.get_by_label("标题").fill("夜间回访")
    page.get_by_label("内容").fill("{{ ''.__class__ }}")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".has-error .error")).to_contain_text("'__class__' is not allowed")
    page.get_by_label("内容").fill(
        "{{ customer.name }}您好，工程师将于今晚回电（{{ reference }}）。"
    )
    page.get_by_role("button", name="保存").click()
    expect(page.locator("table.canned-list")).to_contain_text("夜间回访")
    screenshot(page, "canned-mine")
    page.goto(f"/records/{record_id}")
    page.locator(".canned-search").fill("夜间")
    page.locator(".canned-hits").get_by_role("button", name="夜间回访").click()
    expect(page.locator(".reply-box textarea")).to_have_value(
        f"陈女士您好，工程师将于今晚回电（CL-{record_id}）。"
    )
    expect(page.locator(".canned-then")).to_be_hidden()
