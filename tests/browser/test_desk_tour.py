"""The desk's day in one tour, in Chinese and in English (issue #21, Done-when).

An agent takes a phone call and creates its record, creates a second one when the customer
calls again, finds the first by a word of its description, answers it with a canned response,
attaches a photo and merges the duplicate into it; a supervisor saves the search as a view and
bulk-assigns from it. Every page on the way is scanned: no Chinese in the English chrome, no
raw pack key in the Chinese pages (the same checks as test_polish_tour).

Screenshots: tests/browser/artifacts/desk_tour_<lang>_<step>.png.
"""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from engine.access import users
from signin.auth import hash_password
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_polish_tour import CHROME, CJK, RAW_KEYS, chrome_text, data_words
from wsgi import services

PASSWORD = "desk tour pass 1"
# A word of each run's own, so the search finds this tour's record on the shared live server.
WORDS = {"zh": "蒸烤一体机", "en": "净水器滤芯"}
CUSTOMERS = {"zh": "C-2101", "en": "C-2102"}
PEOPLE = {"zh": ("唐敏", "韩冬"), "en": ("Tang Min", "Han Dong")}


def staff(live_server: LiveServer, language: str) -> tuple[str, str]:
    """An agent and a supervisor of the service desk who read `language`."""
    service = services(live_server.app)
    agent, supervisor = f"tour21_agent_{language}", f"tour21_sup_{language}"
    with service.uow() as uow:
        for username, role, name in zip(
            (agent, supervisor), ("agent", "supervisor"), PEOPLE[language], strict=True
        ):
            users.add_user(
                uow.session,
                username,
                role,
                PASSWORD,
                hash_password,
                service.clock.now(),
                display_name=name,
                team="service_desk",
                locale=language,
            )
        uow.commit()
    return agent, supervisor


def sign_in(page: Page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def looked_at(page: Page, live_server: LiveServer, language: str, step: str) -> None:
    """Keep the screenshot and check the page speaks one language with no raw key."""
    screenshot(page, f"desk_tour_{language}_{step}")
    if language == "en":
        leftover = CJK.findall(chrome_text(page, CHROME, data_words(live_server)))
        assert not leftover, (step, "".join(leftover))
    else:
        shown = page.locator("main").first
        body = shown.inner_text() + "\n".join(shown.locator("option").all_inner_texts())
        assert not RAW_KEYS.search(body), (step, RAW_KEYS.findall(body))


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 60, 60)).save(out, "PNG")
    return out.getvalue()


def create_call(page: Page, customer: str, description: str, *, again: bool = False) -> int:
    """Type a phone call into the new-record form; `again` creates past the same-subject offer."""
    page.goto("/records/new")
    form = page.locator("#new-record")
    form.locator("[name=channel]").select_option("phone")
    form.locator("[name=priority]").select_option("P2")
    form.locator("[name=category]").select_option("other")
    form.locator("[name=customer_no]").fill(customer)
    form.locator("[name=customer_name]").fill("吕芳")
    form.locator("[name=contact]").fill("13700004444")
    form.locator("[name=description]").fill(description)
    page.locator("#create-record").click()
    if again:
        expect(page.locator("#same-subject")).to_be_visible()
        page.locator("#create-record").click()  # 仍然新建: a second record all the same
    expect(page).to_have_url(re.compile(r"/records/\d+$"))
    return int(page.url.rsplit("/", 1)[-1])


@pytest.mark.parametrize("language", ["zh", "en"])
def test_an_agent_and_a_supervisor_work_a_call_through_the_desk(
    page: Page, live_server: LiveServer, language: str
) -> None:
    agent, supervisor = staff(live_server, language)
    word, customer = WORDS[language], CUSTOMERS[language]
    sign_in(page, agent)

    first = create_call(page, customer, f"来电：{word}显示屏不亮，按键无反应。")
    expect(page.get_by_text("13700004444")).to_have_count(0)  # masked
    looked_at(page, live_server, language, "1_created")
    second = create_call(page, customer, f"又来电：{word}仍然不亮。", again=True)
    assert second != first
    services(live_server.app).transition(
        first, "accept", {"category": "other", "priority": "P2"}, actor="api"
    )

    page.goto("/queue")
    page.locator("input[name=q]").fill(word)
    page.locator("form.queue-filters button[type=submit]").click()
    rows = page.locator("table.queue tbody tr[data-record]")
    expect(rows.first).to_be_visible()
    assert {first, second} <= {int(r.get_attribute("data-record") or 0) for r in rows.all()}
    looked_at(page, live_server, language, "2_found")

    page.locator(f"table.queue tbody tr[data-record='{first}'] a").first.click()
    expect(page).to_have_url(re.compile(rf"/records/{first}$"))
    page.wait_for_load_state()  # the reply box's script listens before anything is typed
    page.locator(".canned-search").click()
    page.locator(".canned-search").fill("凭证")
    page.locator(".canned-hits button").first.click()
    reply = page.locator(".reply-box textarea")
    expect(reply).to_have_value(re.compile("请您提供购买凭证"))
    page.locator(".reply-box select[name=channel]").select_option("phone")
    page.locator(".reply-box button.primary").click()
    expect(page.locator("#thread .msg")).to_contain_text([re.compile("请您提供购买凭证")])
    looked_at(page, live_server, language, "3_canned")

    page.locator("#attachments input[type=file]").set_input_files(
        {"name": "display.png", "mimeType": "image/png", "buffer": photo()}
    )
    page.locator("#attachments button[type=submit]").click()
    expect(page.locator("#attachments img.thumb")).to_have_count(1)
    looked_at(page, live_server, language, "4_attached")

    page.locator("#merge summary").click()
    page.locator("#merge input[name=other]").fill(f"CL-{second}")
    page.locator("#merge input[value=into_this]").check()
    page.locator("#merge button[type=submit]").click()
    expect(page.locator("#merged-list")).to_contain_text(f"#{second}")
    looked_at(page, live_server, language, "5_merged")

    sign_in(page, supervisor)
    page.goto(f"/queue?q={word}")
    page.locator("details.save-view summary").click()
    page.locator("details.save-view input[name=name]").fill(f"Tour 21 {language}")
    page.locator("details.save-view button[type=submit]").click()
    view = page.locator(".saved-view a", has_text=f"Tour 21 {language}")
    expect(view).to_contain_text("1")  # the merged duplicate is closed: one open record left
    view.click()
    page.locator(f"input[name=ids][value='{first}']").check()
    page.locator("#bulk select[name=assignee]").select_option(agent)
    page.locator("#bulk button[value=assign]").click()
    done = {"zh": "已处理 1 条。", "en": "1 done."}[language]
    expect(page.locator(".flash.success").first).to_have_text(done)
    row = page.locator(f"table.queue tbody tr[data-record='{first}']")
    expect(row).to_contain_text(PEOPLE[language][0])
    looked_at(page, live_server, language, "6_bulk_assigned")
