"""An agent attaches a photo of the fault to a record from its page (issue #21, item 3).

In Chromium: the upload form sends the file, the page previews it (an <img> the browser
decoded from the protected preview route), a page renamed `.jpg` is refused with the reason in
the user's language, and a colleague who reads English sees the same card in English.
Screenshots: tests/browser/artifacts/attachments-zh.png and attachments-en.png.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from engine.access import users
from engine.records.intake import NewRecord
from engine.store.models import User
from signin.auth import hash_password
from tests.browser.conftest import LiveServer, screenshot
from wsgi import services

PASSWORD = "attach password 1"
OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
HTML = b"<!doctype html><html><script>alert(1)</script></html>"


def agents(live_server: LiveServer) -> None:
    """Two agents of the service desk, one reading Chinese and one English (added once: the
    live server and its users are shared by every browser test)."""
    service = services(live_server.app)
    with service.uow() as uow:
        for name, display, locale in (("att_zh", "周敏", "zh"), ("att_en", "Ada Lin", "en")):
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
                    locale=locale,
                )
        uow.commit()


def photo() -> bytes:
    """A picture of something: a washing machine's door on a tiled floor, drawn."""
    image = Image.new("RGB", (800, 600), "#d9e2ec")
    draw = ImageDraw.Draw(image)
    for x in range(0, 800, 80):
        draw.line([(x, 420), (x, 600)], fill="#9fb3c8", width=3)
    draw.rectangle([220, 80, 580, 520], fill="#f0f4f8", outline="#334e68", width=8)
    draw.ellipse([290, 180, 510, 400], fill="#486581", outline="#102a43", width=10)
    draw.ellipse([420, 480, 700, 560], fill="#2680c2")  # the leak
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page).not_to_have_url("/login")


def test_an_agent_attaches_a_photo_and_sees_it_previewed_in_both_languages(
    page: Page, browser: Browser, live_server: LiveServer
) -> None:
    agents(live_server)
    record = services(live_server.app).create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            priority="P2",
            fields={
                "customer_no": "C-7301",
                "customer_name": "刘洋",
                "contact": "13700001234",
                "description": "洗衣机门封漏水",
            },
        ),
        actor="api",
    )
    sign_in(page, "att_zh")
    page.goto(f"/records/{record.id}")
    card = page.locator("#attachments")
    expect(card.get_by_role("heading")).to_contain_text("附件")
    expect(card).to_contain_text("暂无附件")
    card.locator("input[type=file]").set_input_files(
        {"name": "门封漏水.png", "mimeType": "image/png", "buffer": photo()}
    )
    card.get_by_role("button", name="上传").click()
    expect(page.locator("body")).to_contain_text("已上传附件：门封漏水.png")
    preview = page.locator("#attachments img.thumb")
    expect(preview).to_have_count(1)
    preview.scroll_into_view_if_needed()
    # Polled through the browser's protocol, not a string evaluated in the page: the desk's
    # CSP forbids eval, and Chromium 156.0.8078.129 applies it to `wait_for_function`.
    expect(preview).to_have_js_property("naturalWidth", 320)  # the preview, not the original
    expect(card).to_contain_text("周敏")
    page.locator("#attachments input[type=file]").set_input_files(
        {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": HTML}
    )
    page.locator("#attachments").get_by_role("button", name="上传").click()
    expect(page.locator("body")).to_contain_text("此类文件不能上传")
    expect(page.locator("#attachments li.msg-file")).to_have_count(1)
    screenshot(page, "attachments-zh")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/records/{record.id}#attachments")
    assert page.evaluate(OVERFLOW) == 0  # nothing wider than a phone's screen
    page.locator("#attachments").screenshot(path=str(screenshot(page, "attachments-phone")))

    english = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    try:
        other = english.new_page()
        sign_in(other, "att_en")
        other.goto(f"/records/{record.id}")
        card = other.locator("#attachments")
        expect(card.get_by_role("heading")).to_contain_text("Attachments")
        expect(card).to_contain_text("Add a file")
        expect(card.get_by_role("button", name="Upload")).to_be_visible()
        shown = card.inner_text()
        for data in ("门封漏水.png", "周敏"):  # a file's name and a person's name are data
            shown = shown.replace(data, "")
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in shown), shown
        expect(other.locator("#attachments img.thumb")).to_have_js_property("naturalWidth", 320)
        screenshot(other, "attachments-en")
    finally:
        english.close()
