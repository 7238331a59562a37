"""KPI targets in their own scope (R-4.4): CSAT at the core touch point, churn of high-value
customers, repurchase and referral of everyone; and the dashboard that shows them (R-4.3).

The default pack declares `csat_phone` (CSAT on the phone channel), `repurchase_rate`,
`referral_rate` and `churn_high_value` (churn of the high_value tier).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from engine.access import users
from engine.customers.satisfaction import Answer
from engine.insight import economics, improvement, kpis, targets
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.services import Services
from signin.auth import hash_password
from tests.integration.test_dashboard import PASSWORD, signed_in
from tests.integration.test_dashboard import app as dashboard_app  # noqa: F401 (a fixture)
from wsgi import services as services_of


def answered(services: Services, channel: str, score: int) -> None:
    record = services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel=channel,
            fields={"customer_no": "C-1", "contact": "13812345678", "description": "不制冷"},
        ),
        actor="t",
    )
    services.transition(record.id, "solve_on_spot", {"solution": "重启"}, actor="t")
    services.answer_satisfaction(record.id, Answer(score, nps=2 * score), via="agent", actor="t")


def current(services: Services) -> dict[str, float | None]:
    now = services.clock.now()
    with services.uow() as uow:
        spec = services.latest_spec(uow.session, "after_sales")
        f = improvement.kpi_filter(spec, now - timedelta(days=1), now + timedelta(hours=1))
        report = kpis.report(uow.session, f)
        everyone = economics.figures(uow.session, spec, now)
        return targets.target_values(uow.session, spec, f, report.values, everyone, now)


def test_each_target_reads_its_own_scope(services: Services) -> None:
    answered(services, "phone", 5)
    answered(services, "email", 1)
    services.save_customer("V", {"tier": "high_value"})
    services.save_customer("W", {})
    now = services.clock.now()
    for number, when in (("V", now - timedelta(days=500)), ("W", now - timedelta(days=10))):
        services.record_order(number, {"external_id": number, "amount": 100, "ordered_at": when})
    values = current(services)
    assert values["csat"] == 50.0  # both channels
    assert values["csat_phone"] == 100.0  # the phone only
    assert values["churn_high_value"] == 100.0  # V, the one high-value customer, churned
    assert values["repurchase_rate"] == 0.0  # W bought in the window, never before
    assert values["referral_rate"] == 0.0


def test_a_target_scope_must_fit_its_kpi(after_sales: PackSource) -> None:
    from engine.specs.build import build_pack_spec

    data = dict(after_sales.data)
    data["kpi_targets"] = {
        "csat_vip": {"kpi": "csat", "from": 80, "to": 90, "where": {"tier": "high_value"}},
        "churn_phone": {"kpi": "churn_rate", "from": 9, "to": 5, "where": {"channel": "phone"}},
        "nope": {"kpi": "happiness", "from": 1, "to": 2},
    }
    problems = build_pack_spec(data)[1]
    found = {(p.path, p.message) for p in problems}
    assert (
        ("kpi_targets", "csat_vip", "where", "tier"),
        "'csat' cannot be scoped by tier",
    ) in found
    assert (
        ("kpi_targets", "churn_phone", "where", "channel"),
        "'churn_rate' cannot be scoped by channel",
    ) in found
    assert (("kpi_targets", "nope", "kpi"), "unknown KPI 'happiness'") in found


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_the_dashboard_shows_customer_economics_and_scoped_targets(
    dashboard_app: Flask,  # noqa: F811
    locale: str,
) -> None:
    service = services_of(dashboard_app)
    service.save_customer("V", {})
    when = service.clock.now() - timedelta(days=3)
    service.record_order("V", {"external_id": "V1", "amount": 1200, "ordered_at": when})
    with service.uow() as uow:
        now = service.clock.now()
        users.add_user(
            uow.session, "amy", "supervisor", PASSWORD, hash_password, now, locale=locale
        )
        uow.commit()
    client = signed_in(dashboard_app, "amy")
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'id="economics"' in page and 'id="kpi-cltv"' in page
    assert "3600.0" in page  # 1200 a year from one buyer, over a 3-year lifespan
    assert "核心触点（电话）满意度" in page and "高价值客户流失率" in page  # the pack's titles
    words = ("Churn rate", "Repurchase rate") if locale == "en" else ("流失率", "复购率")
    assert all(w in page for w in words)
