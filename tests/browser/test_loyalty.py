"""An agent on a phone opens a customer's 360° view and reads their loyalty points, level and
ledger (issue #25, R-5.4).

A supervisor reads churn, repurchase, referral and CLTV and the scoped targets on the
dashboard. Screenshots: tests/browser/artifacts/loyalty-phone.png, economics-dashboard.png.
"""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from engine.access import users
from signin.auth import hash_password
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_thread import OVERFLOW, PHONE, sign_in
from wsgi import services

SUPERVISOR = "economics password 1"


def test_an_agent_on_a_phone_reads_the_customers_points_and_level(
    page: Page, live_server: LiveServer
) -> None:
    service = services(live_server.app)
    service.save_customer("C-LOYAL", {})
    ordered = service.clock.now() - timedelta(days=10)
    for oid, amount in (("L-1", 1800.0), ("L-2", 450.0)):
        service.record_order(
            "C-LOYAL", {"external_id": oid, "amount": amount, "ordered_at": ordered}
        )
    service.award_points()
    page.set_viewport_size(PHONE)
    sign_in(page, live_server)
    page.goto("/customers/C-LOYAL")
    card = page.locator("#loyalty")
    expect(card.get_by_role("heading", name="积分与会员等级")).to_be_visible()
    expect(card).to_contain_text("2250 积分 · 银卡会员")
    expect(card.locator("tr")).to_have_count(3)  # the header and two orders
    expect(card).to_contain_text("+1800")
    assert page.evaluate(OVERFLOW) <= 0, "the loyalty card is wider than a phone"
    card.scroll_into_view_if_needed()
    screenshot(page, "loyalty-phone")


def test_a_supervisor_sees_customer_economics_and_the_scoped_targets(
    page: Page, live_server: LiveServer
) -> None:
    """Screenshot: tests/browser/artifacts/economics-dashboard.png."""
    service = services(live_server.app)
    with service.uow() as uow:
        now = service.clock.now()
        users.add_user(uow.session, "econ_sup", "supervisor", SUPERVISOR, hash_password, now)
        uow.commit()
    service.save_customer("C-ECON", {})
    order = {"external_id": "E-1", "amount": 1200.0, "ordered_at": now - timedelta(days=5)}
    service.record_order("C-ECON", order)
    page.goto("/dashboard")
    page.get_by_label("用户名").fill("econ_sup")
    page.get_by_label("密码").fill(SUPERVISOR)
    page.get_by_role("button", name="登录").click()
    economics = page.locator("#economics")
    expect(economics).to_contain_text("流失率")
    expect(economics.locator("#kpi-cltv")).to_contain_text("客户终身价值 CLTV")
    targets = page.locator("#targets")
    expect(targets).to_contain_text("核心触点（电话）满意度")
    expect(targets).to_contain_text("高价值客户流失率")
    screenshot(page, "economics-dashboard")
