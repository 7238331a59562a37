"""Flask-Admin for operations: access on every URL, and changing a pack safely (R-8.1)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.access import users
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.store.models import AuditEntry, PackVersion, Record, RecordEvent, SlaClock, Timer, User
from signin.auth import hash_password
from tests.conftest import web_app
from wsgi import services

PASSWORD = "admin password 1"
P1_RESOLVE = "sla:record_types|feedback|sla|policies|P1|resolve|within"


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    app = web_app(tmp_path, pack=after_sales, WTF_CSRF_ENABLED=False)
    service = services(app)
    with service.uow() as uow:
        for name, role in (("ops", "operations"), ("sup", "supervisor"), ("agt", "agent")):
            users.add_user(uow.session, name, role, PASSWORD, hash_password, service.clock.now())
        uow.commit()
    return app


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert (
        client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    )
    return client


def admin_paths(app: Flask) -> list[tuple[str, str]]:
    paths = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin/") or rule.rule.startswith("/admin/static"):
            continue
        path = re.sub(r"<int:[a-z_]+>", "1", rule.rule)
        path = re.sub(r"<[a-z_]+>", "after_sales", path).replace("<export_type>", "csv")
        path = re.sub(r"<[^>]+>", "csv", path)
        assert rule.methods is not None
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.append((method, path))
    return paths


def test_signed_out_visitors_and_agents_are_kept_out_of_every_admin_url(app: Flask) -> None:
    paths = admin_paths(app)
    assert len(paths) > 40
    anonymous, agent = app.test_client(), signed_in(app, "agt")
    for method, path in paths:
        response = anonymous.open(path, method=method)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
        assert agent.open(path, method=method).status_code == 403, (method, path)


def test_supervisors_read_but_do_not_change(app: Flask) -> None:
    supervisor = signed_in(app, "sup")
    assert supervisor.get("/admin/record/").status_code == 200
    assert supervisor.get("/admin/auditentry/").status_code == 200
    assert supervisor.get("/admin/packs/after_sales").status_code == 403
    assert supervisor.get("/admin/user/").status_code == 403


def test_every_admin_page_opens_for_operations(app: Flask) -> None:
    services(app).create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            fields={"customer_no": "C-1", "contact": "13812345678", "description": "x"},
        ),
        actor="t",
    )
    ops = signed_in(app, "ops")
    for path in (
        "/admin/",
        "/admin/packs/",
        "/admin/packs/after_sales",
        "/admin/record/",
        "/admin/customer/",
        "/admin/user/",
        "/admin/team/",
        "/admin/auditentry/",
        "/admin/outboxmessage/",
        "/admin/packversion/",
        "/admin/apitoken/",
    ):
        response = ops.get(path)
        assert response.status_code == 200, path
        assert "13812345678" not in response.get_data(as_text=True)


def test_a_shorter_p1_target_is_previewed_published_and_only_binds_new_records(
    app: Flask,
) -> None:
    service = services(app)
    new = NewRecord(
        record_type="feedback",
        channel="phone",
        priority="P1",
        fields={"customer_no": "C-1", "contact": "13812345678", "description": "x"},
    )
    before = service.create_record("after_sales", new, actor="api")
    ops = signed_in(app, "ops")
    assert (
        ops.post("/admin/packs/after_sales/sla", data={P1_RESOLVE: "2 working days"}).status_code
        == 302
    )
    page = ops.get("/admin/packs/after_sales").get_data(as_text=True)
    assert "-          resolve: {within: 3 working days" in page
    assert "+          resolve: {within: 2 working days" in page
    assert "1 条未关闭记录保留在原版本上" in page
    assert ops.post("/admin/packs/after_sales/publish").status_code == 302
    after = service.create_record("after_sales", new, actor="api")
    with service.session_factory() as session:
        versions = session.scalars(select(PackVersion.version)).all()
        resolve = {
            r: session.scalars(
                select(SlaClock).where(SlaClock.record_id == r, SlaClock.target == "resolve")
            )
            .one()
            .budget_seconds
            for r in (before.id, after.id)
        }
        published = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "pack.publish")
        ).one()
        assert session.get_one(Record, before.id).pack_version.version == 1
    assert sorted(versions) == [1, 2]
    assert resolve == {before.id: 3 * 9 * 3600, after.id: 2 * 9 * 3600}
    assert (published.actor, published.detail["before"], published.detail["after"]) == ("ops", 1, 2)
    assert "+          resolve: {within: 2 working days" in published.detail["diff"]


def test_a_broken_yaml_edit_shows_its_line_and_publishes_nothing(
    app: Flask, after_sales: PackSource
) -> None:
    ops = signed_in(app, "ops")
    broken = after_sales.files["feedback.yaml"].replace("    stages:\n", "    stagse:\n")
    ops.post("/admin/packs/after_sales/yaml", data={"file:feedback.yaml": broken})
    page = ops.get("/admin/packs/after_sales").get_data(as_text=True)
    line = broken.splitlines().index("    stagse:") + 1
    assert f"feedback.yaml:{line}:5: unknown key &#39;stagse&#39;" in page
    assert 'id="publish"' not in page
    published = ops.post("/admin/packs/after_sales/publish")
    assert published.status_code == 302
    with services(app).session_factory() as session:
        assert session.scalars(select(PackVersion.version)).all() == [1]


def test_rolling_back_loads_an_old_version_as_the_draft(app: Flask) -> None:
    ops = signed_in(app, "ops")
    ops.post("/admin/packs/after_sales/sla", data={P1_RESOLVE: "2 working days"})
    ops.post("/admin/packs/after_sales/publish")
    assert ops.post("/admin/packs/after_sales/rollback/1").status_code == 302
    ops.post("/admin/packs/after_sales/publish")
    with services(app).session_factory() as session:
        rows = session.scalars(select(PackVersion).order_by(PackVersion.version)).all()
    assert [r.version for r in rows] == [1, 2, 3]
    assert rows[2].source_hash == rows[0].source_hash


def record_of(app: Flask, number: str = "C-1") -> int:
    return (
        services(app)
        .create_record(
            "after_sales",
            NewRecord(
                record_type="feedback",
                channel="phone",
                priority="P2",
                fields={"customer_no": number, "contact": "13812345678", "description": "x"},
            ),
            actor="api",
        )
        .id
    )


def test_supervisors_reassign_regrade_and_close_duplicates_through_the_engine(app: Flask) -> None:
    first, second = record_of(app), record_of(app, "C-2")
    supervisor = signed_in(app, "sup")
    assert supervisor.get(f"/admin/supervise/{first}").status_code == 200
    supervisor.post(f"/admin/supervise/{first}", data={"reassign": "1", "assignee": "agt"})
    refused = supervisor.post(
        f"/admin/supervise/{first}", data={"regrade": "1", "priority": "P0"}, follow_redirects=True
    )
    assert "say why" in refused.get_data(as_text=True)
    supervisor.post(
        f"/admin/supervise/{first}", data={"regrade": "1", "priority": "P0", "reason": "客户停产"}
    )
    supervisor.post(f"/admin/supervise/{second}", data={"duplicate_of": str(first)})
    with services(app).session_factory() as session:
        one, two = session.get_one(Record, first), session.get_one(Record, second)
        kinds = session.scalars(
            select(RecordEvent.kind).where(RecordEvent.record_id == first).order_by(RecordEvent.id)
        ).all()
        resolve = session.scalars(
            select(SlaClock).where(SlaClock.record_id == first, SlaClock.target == "resolve")
        ).one()
        pending = session.scalars(
            select(Timer).where(Timer.record_id == second, Timer.status == "pending")
        ).all()
    assert (one.assignee, one.priority) == ("agt", "P0")
    assert "assigned" in kinds
    assert kinds[-3:] == ["priority.changed", "sla.respond.replanned", "sla.resolve.replanned"]
    assert resolve.budget_seconds == 24 * 3600  # P0 promises now
    assert (two.is_open, two.stage, pending) == (False, "closed", [])


def test_bulk_reassign_goes_record_by_record_through_the_engine(app: Flask) -> None:
    ids = [record_of(app, f"C-{i}") for i in range(3)]
    ops = signed_in(app, "ops")
    # CSRF is off in this app; the actions' token (Flask-WTF's) is tested in test_browser_safety.
    picked = ops.post("/admin/record/action/", data={"action": "reassign", "rowid": ids})
    assert picked.status_code == 200 and "批量改派 3 条记录" in picked.get_data(as_text=True)
    ops.post("/admin/supervise/bulk", data={"ids": ids, "assignee": "agt"})
    with services(app).session_factory() as session:
        owners = session.scalars(select(Record.assignee).where(Record.id.in_(ids))).all()
        events = session.scalars(
            select(RecordEvent).where(
                RecordEvent.kind == "assigned", RecordEvent.record_id.in_(ids)
            )
        ).all()
    assert owners == ["agt"] * 3 and len(events) == 3


def test_warning_follow_ups_and_routing_change_in_the_structured_form(app: Flask) -> None:
    ops = signed_in(app, "ops")
    ops.post(
        "/admin/packs/after_sales/sla",
        data={
            "sla:record_types|feedback|sla|warning": "75%",
            "sla:record_types|feedback|followups|progress_update|every": "12h",
            "sla:routing|1|department": "service_desk",
        },
    )
    page = ops.get("/admin/packs/after_sales").get_data(as_text=True)
    assert "+      warning: 75%" in page
    assert "+        every: 12h" in page
    assert "+    department: service_desk" in page
    assert "# R-2.2 Departments and routing by type" in page  # comments survive the edit
    assert 'id="publish"' in page


def test_operations_edit_a_user_s_role_and_create_a_team(app: Flask) -> None:
    ops = signed_in(app, "ops")
    with services(app).session_factory() as session:
        agent_id = session.scalars(select(User.id).where(User.username == "agt")).one()
    page = ops.get(f"/admin/user/edit/?id={agent_id}").get_data(as_text=True)
    assert 'value="supervisor"' in page
    saved = ops.post(
        f"/admin/user/edit/?id={agent_id}",
        data={
            "display_name": "阿甘",
            "role": "supervisor",
            "locale": "en",
            "capacity": "10",
            "active": "y",
        },
    )
    assert saved.status_code == 302
    with services(app).session_factory() as session:
        user = session.get_one(User, agent_id)
    assert (user.role, user.locale, user.capacity) == ("supervisor", "en", 10)
    form = ops.get("/admin/team/new/").get_data(as_text=True)
    assert 'value="round_robin"' in form


def test_a_customer_s_care_page_shows_consent_tiers_history_and_occasions_masked(
    app: Flask,
) -> None:
    from datetime import date

    from engine.customers.profiles import upsert_customer
    from engine.store.models import CampaignOccasion, CustomerTier

    service = services(app)
    now = service.clock.now()
    with service.uow() as uow:
        customer, _created = upsert_customer(
            uow.session,
            "C-77",
            {
                "name": "王小明",
                "contact": "13812345678",
                "birthday": date(1990, 5, 17),
                "consent_marketing": True,
                "consent_source": "门店登记",
            },
            now,
        )
        uow.session.add(
            CustomerTier(
                pack="after_sales",
                customer_id=customer.id,
                tier="high_value",
                rule="spend_percentile ≥ 0.9",
                spend_percentile=0.95,
                changed_at=now,
            )
        )
        uow.session.add(
            CampaignOccasion(
                pack="after_sales",
                campaign="birthday_greeting",
                customer_id=customer.id,
                occasion="birthday:2026",
                purpose="marketing",
                due_at=now,
                send_at=now,
                status="sent",
                created_at=now,
            )
        )
        uow.commit()
    record_of(app, "C-77")
    listing = signed_in(app, "sup").get("/admin/customer/").get_data(as_text=True)
    assert 'href="/admin/customer_care/C-77"' in listing
    page = signed_in(app, "sup").get("/admin/customer_care/C-77")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "13812345678" not in text and "王小明" not in text and "1990" not in text
    assert "门店登记" in text and "营销消息 ✓" in text  # consent, its source
    assert "高价值客户" in text and "spend_percentile ≥ 0.9" in text  # the tier (titled), its rule
    assert "consent" in text and "granted" in text  # the history of the consent
    assert "birthday_greeting" in text and "birthday:2026" in text
    assert signed_in(app, "ops").get("/admin/customer_care/C-404").status_code == 404


def test_the_admin_speaks_the_user_s_language(app: Flask) -> None:
    with services(app).uow() as uow:
        uow.session.scalars(select(User).where(User.username == "ops")).one().locale = "en"
        uow.commit()
    english = signed_in(app, "ops")
    page = english.get("/admin/packs/after_sales").get_data(as_text=True)
    assert "SLA targets (by priority)" in page and "Business calendars" in page
    assert "Records" in page and "Audit log" in page  # the menu
    assert "SLA 时限" not in page
    refused = english.post(
        "/admin/packs/after_sales/form/calendar",
        data={
            "target": "cn_workdays",
            "hours:0:days": "mon-fri",
            "hours:0:ranges": "09:00-18:00",
            "closed": "tomorrow",
            "country": "CN",
        },
    )
    assert "Not a date: tomorrow (write YYYY-MM-DD)" in refused.get_data(as_text=True)
    chinese = signed_in(app, "sup").get("/admin/record/").get_data(as_text=True)
    assert "审计日志" in chinese and "受理时间" in chinese
