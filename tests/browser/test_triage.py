"""Triage in the browser (issue #13, R-2.1, R-2.9): a known solution, applied, solves on the spot.

A screenshot of the record page with its suggestions is saved in tests/browser/artifacts/.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from engine.access import users
from engine.knowledge import articles, synonyms
from engine.records.intake import NewRecord
from engine.store.models import Article, KnownProblem
from signin.auth import hash_password
from tests.browser.conftest import LiveServer, screenshot
from wsgi import services

PASSWORD = "triage password 1"


def seed(live_server: LiveServer) -> int:
    """An agent of a team of her own, the knowledge, and her new record about a late parcel."""
    service = services(live_server.app)
    now = service.clock.now()
    with service.uow() as uow:
        session = uow.session
        users.add_user(session, "qian", "agent", PASSWORD, hash_password, now, team="parcel_desk")
        synonyms.add_group(session, "快递, 物流, 配送", actor="ops", now=now)
        articles.save_article(
            session,
            Article(
                title="物流延迟怎么办", body="超过 48 小时未更新：**催件**。", status="published"
            ),
            actor="ops",
            now=now,
        )
        articles.save_problem(
            session,
            KnownProblem(
                title="大促期间物流积压", symptoms="快递延迟", solution="致歉并补发优惠券"
            ),
            actor="ops",
            now=now,
        )
        uow.commit()
    new = NewRecord(
        record_type="feedback",
        channel="online_chat",
        assignee="qian",
        fields={"customer_no": "C-913", "contact": "13700001111", "description": "快递一直没到"},
    )
    return service.create_record("after_sales", new, actor="api").id


def test_an_agent_applies_a_known_solution_and_solves_on_the_spot(
    page: Page, live_server: LiveServer
) -> None:
    record_id = seed(live_server)
    page.goto(f"/records/{record_id}")
    page.get_by_label("用户名").fill("qian")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()

    triage = page.locator("#triage")
    expect(triage.locator("#suggest-article")).to_contain_text("物流延迟怎么办")
    expect(triage.locator("#suggest-problem")).to_contain_text("大促期间物流积压")
    expect(triage.locator("mark").first).to_be_visible()
    screenshot(page, "triage")

    triage.locator("#suggest-problem").get_by_role("button", name="关联到此问题").click()
    expect(page.locator("#known-problem")).to_contain_text("大促期间物流积压")

    page.locator("#suggest-problem").get_by_role("link", name="采用此方案").click()
    spot = page.locator("#t-solve_on_spot")
    expect(spot.get_by_label("解决方案")).to_have_value("致歉并补发优惠券")
    spot.get_by_role("button", name="当场解决").click()
    expect(page.locator("#stage")).to_have_text("已解决")
