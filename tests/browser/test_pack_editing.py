"""Operations staff shorten P1's resolve target in the admin and publish it without code (R-8.1).

A record created before keeps 3 working days; one created after gets 2.
The pack page with its diff and impact preview is saved as a screenshot.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.access import users
from engine.records import drafts
from engine.records.intake import NewRecord
from engine.records.versions import latest_version
from engine.store.models import SlaClock
from signin.auth import hash_password
from tests.browser.conftest import LiveServer, screenshot
from tests.conftest import ROOT
from wsgi import services

PASSWORD = "ops password 12"
NEW = NewRecord(
    record_type="feedback",
    channel="phone",
    priority="P1",
    fields={"customer_no": "C-900", "contact": "13600000000", "description": "门封漏水"},
)


def resolve_budget_hours(live_server: LiveServer, record_id: int) -> float:
    with services(live_server.app).session_factory() as session:
        clock = session.scalars(
            select(SlaClock).where(SlaClock.record_id == record_id, SlaClock.target == "resolve")
        ).one()
        return clock.budget_seconds / 3600


def test_operations_change_p1_resolve_to_two_working_days(
    page: Page, live_server: LiveServer
) -> None:
    service = services(live_server.app)
    with service.uow() as uow:
        users.add_user(
            uow.session,
            "ops_wu",
            "operations",
            PASSWORD,
            hash_password,
            service.clock.now(),
            display_name="吴运营",
        )
        uow.commit()
    before = service.create_record("after_sales", NEW, actor="api")

    page.goto("/admin/packs/after_sales")
    page.get_by_label("用户名").fill("ops_wu")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.locator("#pack-tabs").get_by_role("tab", name="时限与常改项").click()
    expect(page.get_by_role("heading", name="SLA 时限（按优先级）")).to_be_visible()

    page.get_by_label("feedback P1 resolve").fill("2 working days")
    page.locator("#save-sla").click()
    expect(page.locator("#diff")).to_contain_text("+          resolve: {within: 2 working days")
    expect(page.locator("#diff")).to_contain_text("-          resolve: {within: 3 working days")
    expect(page.locator("#impact")).to_contain_text("条未关闭记录保留在原版本上")
    screenshot(page, "pack_preview")
    page.locator("#pack-tabs").get_by_role("tab", name="步骤的表单字段").click()
    page.mouse.wheel(0, 5000)  # far down a long tab, the publish bar is still at hand
    expect(page.locator("#publish")).to_be_in_viewport()

    page.locator("#publish").click()
    expect(page.get_by_text("已发布 after_sales")).to_be_visible()
    after = service.create_record("after_sales", NEW, actor="api")
    assert resolve_budget_hours(live_server, before.id) == 27  # 3 × 9 working hours
    assert resolve_budget_hours(live_server, after.id) == 18  # 2 × 9


def test_a_broken_yaml_edit_shows_the_line_and_publishes_nothing(
    page: Page, live_server: LiveServer
) -> None:
    page.goto("/admin/packs/after_sales")  # a new browser context: sign in again
    page.get_by_label("用户名").fill("ops_wu")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    files = len(list((ROOT / "workflows" / "after_sales").glob("*.yaml")))
    expect(page.locator(".CodeMirror")).to_have_count(files)  # one editor per file, served here
    page.locator("#pack-tabs").get_by_role("tab", name="YAML").click()
    text = page.locator('textarea[name="file:feedback.yaml"]').input_value()
    page.evaluate(
        """([name, value]) => document.querySelector(`textarea[name="${name}"]`)
               .nextElementSibling.CodeMirror.setValue(value)""",
        ["file:feedback.yaml", text.replace("    stages:\n", "    stagse:\n")],
    )
    page.locator("#save-yaml").click()
    line = text.splitlines().index("    stages:") + 1
    expect(page.locator("#errors")).to_contain_text(
        f"feedback.yaml:{line}:5: unknown key 'stagse' (did you mean 'stages'?)"
    )
    expect(page.locator("#publish")).to_have_count(0)


def test_operations_add_an_extra_closed_day_in_the_calendar_form(
    page: Page, live_server: LiveServer
) -> None:
    service = services(live_server.app)
    with service.uow() as uow:
        users.add_user(
            uow.session, "ops_cal", "operations", PASSWORD, hash_password, service.clock.now()
        )
        drafts.discard_draft(uow.session, "after_sales")  # whatever an earlier test left
        uow.commit()
    page.goto("/admin/packs/after_sales")
    page.get_by_label("用户名").fill("ops_cal")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()

    page.locator("#pack-tabs").get_by_role("tab", name="工作日历").click()
    page.locator("#calendars summary", has_text="cn_workdays").click()
    closed = page.get_by_label("cn_workdays 额外休息日")
    closed.fill("2026-13-01")  # not a date: shown at the field, nothing saved
    page.locator("#save-calendar-cn_workdays").click()
    expect(page.locator('[data-field="closed"]')).to_contain_text("不是日期：2026-13-01")
    expect(page.locator("#publish")).to_have_count(0)

    page.get_by_label("cn_workdays 额外休息日").fill("2026-10-09")
    page.locator("#save-calendar-cn_workdays").click()
    expect(page.locator("#diff")).to_contain_text("+    closed: [2026-10-09]")
    expect(page.locator("#diff")).to_contain_text("# R-2.4 escalation ladder")  # comments kept
    expect(page.locator("#impact")).to_contain_text("条未关闭记录保留在原版本上")
    screenshot(page, "calendar_preview")
    page.locator("#publish").click()
    expect(page.get_by_text("已发布 after_sales")).to_be_visible()
    with service.session_factory() as session:
        latest = latest_version(session, "after_sales")
        assert "    closed: [2026-10-09]\n" in latest.files["pack.yaml"]
        assert latest.data["calendars"]["cn_workdays"]["closed"] == ["2026-10-09"]
