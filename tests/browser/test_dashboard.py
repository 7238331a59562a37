"""A supervisor opens the dashboard; a customer answers the satisfaction link (issue #8).

Screenshots: tests/browser/artifacts/dashboard.png (charts) and satisfaction_link.png.
"""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from engine.access import users
from engine.records.intake import NewRecord
from portal.survey import make_token
from signin.auth import hash_password
from tests.browser.conftest import LiveServer, screenshot
from wsgi import services

PASSWORD = "dashboard password 1"


def feedback(live_server: LiveServer, category: str, channel: str, days_ago: int) -> int:
    service = services(live_server.app)
    record = service.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel=channel,
            category=category,
            received_at=service.clock.now() - timedelta(days=days_ago, hours=1),
            fields={"customer_no": "C-900", "contact": "13900001111", "description": "续航短"},
        ),
        actor="api",
    )
    return record.id


def test_a_supervisor_sees_the_dashboard_with_charts(page: Page, live_server: LiveServer) -> None:
    service = services(live_server.app)
    with service.uow() as uow:
        users.add_user(
            uow.session, "zhou_sup", "supervisor", PASSWORD, hash_password, service.clock.now()
        )
        uow.commit()
    seeded = [
        ("quality", "phone", 0), ("quality", "wechat", 1), ("quality", "phone", 2),
        ("logistics", "email", 2), ("service", "phone", 3), ("quality", "online_chat", 4),
        ("function", "phone", 5), ("logistics", "phone", 6),
    ]  # fmt: skip
    for category, channel, days_ago in seeded:
        feedback(live_server, category, channel, days_ago)
    page.goto("/dashboard?period=7d")
    page.get_by_label("用户名").fill("zhou_sup")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard?period=7d")
    expect(page.get_by_role("heading", name="服务看板", exact=False)).to_be_visible()
    charts = page.locator("svg.chart")
    # four KPI charts, two self-service ones (issue #23), two churn ones (issue #25)
    expect(charts).to_have_count(8)
    expect(page.locator("#top-problems svg rect.bar").first).to_be_visible()
    # quality leads with 4 of the 8 seeded here (other browser tests share this server's data)
    expect(page.locator("#top-problems")).to_contain_text(
        re.compile(r"^高频问题（占比）.*?产品质量")
    )
    path = screenshot(page, "dashboard")
    assert path.read_bytes().startswith(b"\x89PNG")


def test_a_customer_answers_by_the_link_once(page: Page, live_server: LiveServer) -> None:
    service = services(live_server.app)
    record_id = feedback(live_server, "quality", "phone", 0)
    service.transition(record_id, "solve_on_spot", {"solution": "更换电池"}, actor="liu")
    with live_server.app.test_request_context():
        token = make_token(record_id, service.clock.now() + timedelta(hours=72))
    page.goto(f"/survey/{token}")
    expect(page.get_by_role("heading", name="服务满意度评价")).to_be_visible()
    page.get_by_label("4", exact=True).check()
    page.get_by_label("您向朋友推荐我们的可能性（0–10）").select_option("9")  # NPS
    page.get_by_label("评价").fill("很快就换好了")
    screenshot(page, "satisfaction_link")
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator("#thanks")).to_be_visible()
    response = page.goto(f"/survey/{token}")
    assert response is not None and response.status == 409
    expect(page.locator("#refused")).to_contain_text("只能评价一次")
