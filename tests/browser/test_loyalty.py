"""An agent on a phone opens a customer's 360° view and reads their loyalty points, level and
ledger (issue #25, R-5.4).

Screenshot: tests/browser/artifacts/loyalty-phone.png.
"""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_thread import OVERFLOW, PHONE, sign_in
from wsgi import services


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
