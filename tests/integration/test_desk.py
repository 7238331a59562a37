"""The agent workspace through the test client: sign-in, roles, CSRF, queue, forms (R-2.6)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from engine.access import users
from engine.customers.profiles import upsert_customer
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.store.models import AuditEntry, Record
from signin.auth import hash_password
from tests.conftest import web_app
from wsgi import services

PASSWORD = "correct horse battery"
PUBLIC = (
    "/login",
    "/healthz",
    "/readyz",
    "/metrics",  # counts only; local clients or the scrape token (tests/ops/test_metrics.py)
    "/status",  # the packs' status page and the scheduler's counts, for monitors
    "/static/",
    "/desk-static/",
    "/admin/static/",
    "/admin-assets/",
    "/api/",
    "/survey/",  # the satisfaction link: the signed token is the permission
    "/help/",  # the customer portal: public help pages, web form, signed tracking links (#23)
    "/help-static/",
)


def make_app(tmp_path: Path, after_sales: PackSource, **config: Any) -> Flask:
    app = web_app(tmp_path, pack=after_sales, **config)
    service = services(app)
    with service.uow() as uow:
        users.add_user(
            uow.session,
            "li",
            "agent",
            PASSWORD,
            hash_password,
            service.clock.now(),
            team="service_desk",
        )
        users.add_user(
            uow.session, "wang", "agent", PASSWORD, hash_password, service.clock.now(), team="rnd"
        )
        users.add_user(
            uow.session, "zhao", "supervisor", PASSWORD, hash_password, service.clock.now()
        )
        uow.commit()
    return app


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Iterator[Flask]:
    yield make_app(tmp_path, after_sales, WTF_CSRF_ENABLED=False)


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def create(app: Flask, number: str = "C-1", priority: str = "P1") -> int:
    return (
        services(app)
        .create_record(
            "after_sales",
            NewRecord(
                record_type="feedback",
                channel="phone",
                priority=priority,
                fields={
                    "customer_no": number,
                    "customer_name": "王芳",
                    "contact": "13812345678",
                    "description": "滚筒异响",
                },
            ),
            actor="api",
        )
        .id
    )


def prefixed(transition: str, **values: object) -> dict[str, object]:
    """Form data as the record page posts it: each transition's fields under its prefix."""
    return {f"{transition}-{name}": value for name, value in values.items()}


def row_version(app: Flask, record_id: int) -> int:
    with services(app).session_factory() as session:
        return session.get_one(Record, record_id).row_version


def test_every_data_view_sends_a_signed_out_visitor_to_sign_in(app: Flask) -> None:
    record_id = create(app)
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PUBLIC) or rule.rule == "/":
            continue
        path = re.sub(r"<int[^>]*>", str(record_id), rule.rule)
        path = re.sub(r"<[a-z_:]+>", "x", path)
        assert rule.methods is not None
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            assert response.status_code == 302, (method, path, response.status_code)
            assert "/login" in response.headers["Location"]
            checked += 1
    assert checked >= 6


def test_a_wrong_password_is_refused_without_saying_which_part(app: Flask) -> None:
    response = app.test_client().post("/login", data={"username": "li", "password": "nope"})
    assert response.status_code == 400
    assert "用户名或密码不正确" in response.get_data(as_text=True)


def test_an_agent_gets_403_on_what_supervisors_may_do(app: Flask) -> None:
    record_id = create(app)
    assert signed_in(app, "li").post(f"/records/{record_id}/reveal").status_code == 403
    supervisor = signed_in(app, "zhao").post(
        f"/records/{record_id}/reveal", data={"reason": "客户来电核对"}
    )
    assert supervisor.status_code == 200 and "13812345678" in supervisor.get_data(as_text=True)
    with services(app).session_factory() as session:
        entry = session.scalars(select(AuditEntry)).one()
    assert (entry.actor, entry.action, entry.subject) == ("zhao", "reveal", f"record:{record_id}")
    assert "13812345678" not in str(entry.detail)


def test_a_post_without_its_csrf_token_is_400(tmp_path: Path, after_sales: PackSource) -> None:
    app = make_app(tmp_path, after_sales)
    client = app.test_client()
    assert client.post("/login", data={"username": "li", "password": PASSWORD}).status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    signed = client.post(
        "/login", data={"username": "li", "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert signed.status_code == 302
    assert client.post("/queue/take").status_code == 400


def test_the_queue_shows_masked_records_with_sla_colours_vip_first(app: Flask) -> None:
    plain = create(app, "C-1")
    vip = create(app, "C-2")
    with services(app).uow() as uow:
        upsert_customer(uow.session, "C-2", {"tier": "vip"}, services(app).clock.now())
        uow.commit()
    page = signed_in(app, "li").get("/queue").get_data(as_text=True)
    assert page.index(f'data-record="{vip}"') < page.index(f'data-record="{plain}"')
    assert "sla-on_track" in page and "VIP" in page
    assert "13812345678" not in page and "王芳" not in page


def test_the_first_queue_page_costs_the_same_statements_whatever_its_size(app: Flask) -> None:
    client = signed_in(app, "li")
    bind = services(app).session_factory.kw["bind"]
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    counts = []
    for batch in (3, 24):
        for i in range(batch):
            create(app, f"C-{batch}-{i}")
        statements.clear()
        event.listen(bind, "before_cursor_execute", count)
        assert client.get("/queue").status_code == 200
        event.remove(bind, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1] and counts[0] <= 12, counts


def test_take_next_assigns_the_most_urgent_unassigned_record(app: Flask) -> None:
    create(app, "C-1", "P2")
    urgent = create(app, "C-2", "P0")
    response = signed_in(app, "li").post("/queue/take")
    assert response.headers["Location"].endswith(f"/records/{urgent}")
    with services(app).session_factory() as session:
        assert session.get_one(Record, urgent).assignee == "li"


def test_a_rejected_form_keeps_what_was_typed_and_stores_nothing(app: Flask) -> None:
    record_id = create(app)
    client = signed_in(app, "li")
    version = row_version(app, record_id)
    bad = client.post(
        f"/records/{record_id}/transitions/accept",
        data=prefixed("accept", priority="P1", resources="on_site", row_version=version),
    )
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert 'aria-invalid="true"' in page and '<option selected value="on_site">' in page
    assert row_version(app, record_id) == version
    good = client.post(
        f"/records/{record_id}/transitions/accept",
        data=prefixed("accept", priority="P1", category="quality", row_version=version),
    )
    assert good.status_code == 302
    assert good.headers["Location"] == "/queue"  # routed to R&D: no longer this agent's team
    page = signed_in(app, "zhao").get(f"/records/{record_id}").get_data(as_text=True)
    assert "处理中" in page


def test_a_stale_form_says_so_and_shows_the_record_as_it_is(app: Flask) -> None:
    record_id = create(app)
    client = signed_in(app, "zhao")
    stale = row_version(app, record_id)
    services(app).transition(
        record_id, "accept", {"category": "service", "priority": "P2"}, actor="other"
    )
    response = client.post(
        f"/records/{record_id}/transitions/wait_for_customer",
        data=prefixed("wait_for_customer", wait_reason="等照片", row_version=stale),
    )
    assert response.status_code == 409
    assert "已被他人更新" in response.get_data(as_text=True)


def test_an_agent_of_another_team_gets_404_for_a_routed_record(app: Flask) -> None:
    record_id = create(app)
    services(app).transition(
        record_id, "accept", {"category": "service", "priority": "P2"}, actor="other"
    )  # routed to training
    assert signed_in(app, "wang").get(f"/records/{record_id}").status_code == 404
    assert signed_in(app, "zhao").get(f"/records/{record_id}").status_code == 200


def test_the_customer_view_shows_records_and_masked_contact(app: Flask) -> None:
    create(app, "C-9")
    page = signed_in(app, "li").get("/customers/C-9").get_data(as_text=True)
    assert "138****5678" in page and "王*" in page and "13812345678" not in page


def test_the_customer_view_shows_tier_consent_and_care_with_the_birthday_masked(
    app: Flask,
) -> None:
    """R-5: the tier with its rule, consent with its source, every campaign occasion."""
    from datetime import date

    svc = services(app)
    svc.save_customer(
        "C-9",
        {"birthday": date(1990, 11, 24), "consent_marketing": True, "consent_source": "shop"},
    )
    now = svc.clock.now()
    svc.record_order("C-9", {"external_id": "O-1", "amount": 10.0, "ordered_at": now})
    svc.run_campaigns()
    page = signed_in(app, "li").get("/customers/C-9").get_data(as_text=True)
    assert "家电售后反馈与客户关怀: 潜力客户" in page  # titles, not after_sales: potential
    assert "first_purchase_within 3 months" in page
    assert "营销消息 ✓" in page and "shop" in page
    assert "**-11-24" in page and "1990" not in page
    assert "<td>潜力客户</td>" in page and "已建任务" in page  # the campaign, not tier_potential
    assert "客户等级（家电售后反馈与客户关怀）：— → 潜力客户" in page
    assert "营销消息：同意" in page
    english = signed_in(app, "li")
    english.post("/me/language", data={"locale": "en"})
    page = english.get("/customers/C-9").get_data(as_text=True)
    assert "Task created" in page and "marketing messages: granted" in page
    assert "task</td>" not in page and "tier_potential" not in page


def test_each_user_reads_in_their_own_language(app: Flask) -> None:
    create(app)
    client = signed_in(app, "li")
    assert "工作队列" in client.get("/queue").get_data(as_text=True)
    switched = client.post("/me/language", data={"locale": "en"})
    assert switched.status_code == 302
    page = client.get("/queue").get_data(as_text=True)
    assert "Work queue" in page and "Take next" in page and 'lang="en"' in page
    assert "工作队列" in signed_in(app, "zhao").get("/queue").get_data(as_text=True)
    assert client.post("/me/language", data={"locale": "fr"}).status_code == 400


def test_every_message_of_the_workspace_has_its_english(tmp_path: Path) -> None:
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[2]
    with (root / "babel.cfg").open(encoding="utf-8") as cfg:
        # Babel ships no type hints for parse_mapping_cfg.
        method_map, _options = parse_mapping_cfg(cfg)  # type: ignore[no-untyped-call]
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    found = {
        message
        for _f, _l, message, *_ in extract_from_dir(str(root), method_map, keywords=keywords)
    }
    po = root / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        english = {m.id for m in read_po(handle) if m.id and m.string}
    assert found and found <= english, sorted(found - english)


def test_the_record_page_names_people_not_their_sign_in_names(app: Flask) -> None:
    """Issue #21 item 6: who acted and who wrote our messages read as people's names."""
    service = services(app)
    with service.uow() as uow:
        users.add_user(
            uow.session,
            "sun_li",
            "agent",
            PASSWORD,
            hash_password,
            service.clock.now(),
            display_name="孙丽",
            team="service_desk",
        )
        uow.commit()
    record_id = create(app)
    service.transition(record_id, "accept", {"category": "other", "priority": "P2"}, actor="sun_li")
    service.reply(record_id, "您好，已收到。", channel="phone", actor="sun_li")
    page = signed_in(app, "li").get(f"/records/{record_id}").get_data(as_text=True)
    assert '<span class="actor">孙丽</span>' in page
    assert '<strong class="msg-author">孙丽</strong>' in page
    assert ">sun_li<" not in page  # (the followers' picker keeps it as the option's value)
