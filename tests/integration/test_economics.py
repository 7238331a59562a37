"""Customer economics and loyalty of the default pack (issue #25; R-4.3, R-4.4, R-5.4).

Churn, repurchase, referral and CLTV read orders with the windows of the pack's `economics`;
the loyalty ledger takes points once per source, loses them at expiry, and its levels count
in tier rules. Every test runs on SQLite and PostgreSQL, on a virtual clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.customers import loyalty
from engine.customers.satisfaction import AlreadyAnswered, Answer
from engine.errors import InvalidInput
from engine.insight import economics
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.models import CustomerTier, LoyaltyEntry, SatisfactionAnswer
from engine.time.clock import VirtualClock
from tests.conftest import SHANGHAI
from workflows.loader import load_pack_from_files
from workflows.validate import source_of


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=SHANGHAI)


def order(services: Services, number: str, oid: str, amount: float, when: datetime) -> None:
    services.record_order(number, {"external_id": oid, "amount": amount, "ordered_at": when})


def figures(services: Services, tier: str | None = None) -> economics.Economics:
    with services.uow() as uow:
        spec = services.latest_spec(uow.session, "after_sales")
        return economics.figures(uow.session, spec, services.clock.now(), tier)


@pytest.fixture
def shop(services: Services) -> Services:
    """Now is 2026-11-23. A: bought 2024 and 2026 (repurchased); B: only 2024 (churned);
    C: first order 2026, referred by A (new, referred); D: only 2026 (new)."""
    for number in ("A", "B", "C", "D"):
        services.save_customer(number, {})
    services.save_customer("C", {"referred_by": "A"})
    order(services, "A", "a1", 1000, at(2024, 6, 1))
    order(services, "A", "a2", 3000, at(2026, 6, 1))
    order(services, "B", "b1", 500, at(2024, 8, 1))
    order(services, "C", "c1", 2000, at(2026, 9, 1))
    order(services, "D", "d1", 1000, at(2026, 10, 1))
    return services


def test_churn_repurchase_referral_and_cltv_follow_their_definitions(shop: Services) -> None:
    found = figures(shop)
    # churn: A and B ordered before 365 days ago; B did not since → 1 of 2
    assert (found.churn_base, found.churned) == (2, 1)
    # repurchase: A, C and D ordered in the window; only A had ordered before → 1 of 3
    assert (found.buyers, found.repurchased) == (3, 1)
    # referral: C and D first ordered in the window; C was referred → 1 of 2
    assert (found.new_buyers, found.referred) == (2, 1)
    # CLTV: 6000 spent by 3 buyers over one year, times a 3-year lifespan
    assert found.values == {
        "churn_rate": 50.0,
        "repurchase_rate": pytest.approx(100 / 3),
        "referral_rate": 50.0,
        "cltv": pytest.approx(6000.0),
    }


def test_a_tier_scopes_the_figures_to_its_customers(shop: Services) -> None:
    shop.save_customer("B", {"tier": "high_value"})
    found = figures(shop, "high_value")
    assert (found.churn_base, found.churned, found.buyers) == (1, 1, 0)
    assert found.values["churn_rate"] == 100.0 and found.values["cltv"] is None


def test_nobody_to_count_gives_no_figure(services: Services) -> None:
    assert set(figures(services).values.values()) == {None}


def test_points_are_awarded_once_per_source_and_expire(shop: Services, clock: VirtualClock) -> None:
    assert shop.award_points() == {"after_sales": 4}  # a2, c1, d1 and C's referral; a1 expired
    assert shop.award_points() == {"after_sales": 0}  # a rerun adds nothing
    a_id = _customer_id(shop, "A")
    with shop.uow() as uow:
        spec = shop.latest_spec(uow.session, "after_sales")
        reasons = uow.session.execute(
            select(LoyaltyEntry.source_ref, LoyaltyEntry.points).order_by(LoyaltyEntry.source_ref)
        ).all()
        before = loyalty.standing(uow.session, spec, a_id, clock.now())
        after = loyalty.standing(uow.session, spec, a_id, at(2027, 6, 2))
    assert sorted(p for _, p in reasons) == [200, 1000, 2000, 3000]
    # A: 3000 for a2 and 200 for referring C → silver; a2's points lapse a year on
    assert (before.points, before.level) == (3200, "silver")
    assert (after.points, after.level) == (200, "member")


def test_a_loyalty_level_counts_in_a_tier_rule(
    services: Services, clock: VirtualClock, after_sales: PackSource
) -> None:
    loyal = "  loyal:\n    title: 忠实客户\n    when: {loyalty_level: {min: silver}}\n"
    text = after_sales.files["care.yaml"].replace("  silent:\n", loyal + "  silent:\n", 1)
    files = {**after_sales.files, "care.yaml": text}
    services.publish(
        source_of(load_pack_from_files("after_sales", files, "workflows/after_sales")), by="t"
    )
    services.save_customer("L", {})
    order(services, "L", "l1", 2500, clock.now() - timedelta(days=400))
    order(services, "L", "l2", 2500, clock.now() - timedelta(days=200))
    services.award_points()
    services.recompute_tiers()
    l_id = _customer_id(services, "L")
    with services.uow() as uow:
        tier = uow.session.scalar(select(CustomerTier.tier).where(CustomerTier.customer_id == l_id))
    assert tier == "loyal"  # 2500 unexpired points: silver; the older order's have lapsed


def test_a_referral_must_name_another_known_customer(services: Services) -> None:
    services.save_customer("A", {})
    with pytest.raises(InvalidInput):
        services.save_customer("B", {"referred_by": "nobody"})
    with pytest.raises(InvalidInput):
        services.save_customer("A", {"referred_by": "A"})


def _customer_id(services: Services, number: str) -> int:
    from engine.store.models import Customer

    with services.uow() as uow:
        found = uow.session.scalar(select(Customer.id).where(Customer.number == number))
    assert found is not None
    return found


def _closed_record(services: Services, score: int | None) -> int:
    record = services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            fields={"customer_no": "C-1", "contact": "13812345678", "description": "洗衣机漏水"},
        ),
        actor="t",
    )
    services.transition(record.id, "solve_on_spot", {"solution": "更换进水管"}, actor="t")
    form = {"lessons": "无"} if score is None else {"satisfaction": score, "lessons": "无"}
    services.transition(record.id, "close", form, actor="t")
    return record.id


def test_the_close_forms_score_counts_once_and_the_survey_takes_its_place(
    services: Services,
) -> None:
    record_id = _closed_record(services, 3)
    with services.uow() as uow:
        stored = uow.session.scalars(select(SatisfactionAnswer)).all()
        assert [(a.score, a.via) for a in stored] == [(3, "form")]
    services.answer_satisfaction(record_id, Answer(5, nps=10), via="link", actor="customer")
    with pytest.raises(AlreadyAnswered):
        services.answer_satisfaction(record_id, Answer(1, nps=0), via="agent", actor="t")
    with services.uow() as uow:
        stored = uow.session.scalars(select(SatisfactionAnswer)).all()
        count = uow.session.scalar(select(func.count()).select_from(SatisfactionAnswer))
    assert count == 1 and [(a.score, a.nps, a.via) for a in stored] == [(5, 10, "link")]


def test_a_close_without_a_score_stores_no_answer(services: Services) -> None:
    _closed_record(services, None)
    with services.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(SatisfactionAnswer)) == 0


def test_a_campaign_audience_reads_the_loyalty_level(
    services: Services, clock: VirtualClock, after_sales: PackSource
) -> None:
    thanks = (
        "  silver_thanks:\n    title: 银卡感谢\n"
        "    audience: {when: \"customer.loyalty_level == 'silver'\"}\n"
        "    trigger: {on: purchase, after: 1 day}\n"
        "    message: shipping_notice\n    purpose: service\n"
    )
    text = after_sales.files["care.yaml"].replace("campaigns:\n", "campaigns:\n" + thanks, 1)
    files = {**after_sales.files, "care.yaml": text}
    services.publish(
        source_of(load_pack_from_files("after_sales", files, "workflows/after_sales")), by="t"
    )
    services.save_customer("S", {})
    services.save_customer("M", {})
    order(services, "S", "s1", 2500, clock.now() - timedelta(hours=2))
    order(services, "M", "m1", 300, clock.now() - timedelta(hours=2))
    services.award_points()
    clock.set(clock.now() + timedelta(days=1))
    results = {r.campaign: r.statuses["queued"] for r in services.run_campaigns()}
    assert results["silver_thanks"] == 1  # S (2500 points: silver), not M (300: member)


def test_a_customers_export_holds_their_referral_and_ledger(shop: Services) -> None:
    shop.award_points()
    exported = shop.export_customer("C")["loyalty"]
    assert exported["referred_by"] == "A"
    assert [(e["reason"], e["points"]) for e in exported["ledger"]] == [("order", 2000)]
    assert shop.export_customer("A")["loyalty"]["referred_by"] is None
