"""What a tier gives on entering it, and a tier set by hand winning (R-5.2, R-8.3).

The default pack's `potential` tier creates a needs-survey task and sends an offer (marketing
consent); `high_value` tells the customer of their perks (service). A customer set to a tier by
hand is in that tier whatever the rules compute underneath: no potential-tier task or offer for
a customer set to high-value. Set through the desk's services, the API or a CSV import, the
hand-set tier is entered as a computed one is: its own task and welcome happen once, setting it
again does nothing, and the rules later reaching the same tier enter it no second time. Every
test runs on SQLite and PostgreSQL, on a virtual clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from engine.customers import imports
from engine.records.versions import PackSource
from engine.services import Services
from engine.services.imports import IMPORT_ZONE
from engine.store.models import CustomerEvent, OutboxMessage, Record
from engine.time.clock import VirtualClock
from tests.integration.test_desk import make_app
from tests.integration.test_loyalty_faces import bearer
from wsgi import services as app_services


def buy(services: Services, number: str, clock: VirtualClock) -> None:
    """A first purchase yesterday: the rules make the customer `potential`."""
    services.record_order(
        number,
        {"external_id": f"O-{number}", "amount": 10.0, "ordered_at": clock.now() - timedelta(1)},
    )


def run(services: Services, clock: VirtualClock) -> dict[str, int]:
    """A minute later, every campaign: how many tasks or messages each tier campaign made."""
    clock.advance(timedelta(minutes=1))
    return {
        r.campaign: r.statuses["queued"] + r.statuses["task"]
        for r in services.run_campaigns()
        if r.statuses["queued"] + r.statuses["task"]
        and r.campaign.startswith(("tier_", "welcome_"))
    }


def sent(services: Services) -> list[tuple[str, str]]:
    with services.session_factory() as session:
        return [
            (m.payload["campaign"], m.payload["customer"])
            for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            if m.payload.get("campaign")
        ]


def test_entering_potential_gives_a_survey_task_and_an_offer_once(
    services: Services, clock: VirtualClock
) -> None:
    services.save_customer("C-1", {"consent_marketing": True})
    services.save_customer("C-2", {})  # no marketing consent: the survey, no offer
    buy(services, "C-1", clock)
    buy(services, "C-2", clock)
    assert run(services, clock) == {"tier_potential": 2, "welcome_potential": 1}
    assert run(services, clock) == {}  # once per entry
    assert sent(services) == [("welcome_potential", "C-1")]


def test_a_tier_set_by_hand_wins_over_the_computed_tiers_task_and_offer(
    services: Services, clock: VirtualClock
) -> None:
    services.save_customer("C-VIP", {"tier": "high_value", "consent_marketing": True})
    services.save_customer("C-1", {"consent_marketing": True})
    buy(services, "C-VIP", clock)  # computed: potential, but set to high_value by hand
    buy(services, "C-1", clock)
    assert run(services, clock) == {
        "tier_potential": 1,
        "welcome_potential": 1,
        "welcome_high_value": 1,  # the hand-set tier's own perks
    }
    with services.session_factory() as session:
        tasks = session.scalars(select(Record).where(Record.record_type == "care_task")).all()
        assert [t.fields["customer_no"] for t in tasks] == ["C-1"]
    assert sorted(sent(services)) == [
        ("welcome_high_value", "C-VIP"),
        ("welcome_potential", "C-1"),
    ]


def test_a_tier_set_by_hand_is_entered_once_like_a_computed_one(
    services: Services, clock: VirtualClock
) -> None:
    services.save_customer("C-1", {"consent_marketing": True})
    buy(services, "C-1", clock)  # computed: potential
    assert run(services, clock) == {"tier_potential": 1, "welcome_potential": 1}
    services.save_customer("C-1", {"tier": "high_value"})
    assert run(services, clock) == {"welcome_high_value": 1}
    services.save_customer("C-1", {"tier": "high_value", "name": "李雷"})  # again: nothing
    assert run(services, clock) == {}
    with services.session_factory() as session:
        events = session.scalars(
            select(CustomerEvent).where(CustomerEvent.kind == "tier").order_by(CustomerEvent.id)
        ).all()
        assert [(e.old_value, e.new_value, e.rule) for e in events] == [
            (None, "potential", "potential: first_purchase_within 3 months"),
            ("potential", "high_value", "set by hand"),
        ]
    assert sent(services) == [("welcome_potential", "C-1"), ("welcome_high_value", "C-1")]


def test_the_rules_reaching_a_tier_set_by_hand_enter_it_no_second_time(
    services: Services, clock: VirtualClock
) -> None:
    services.save_customer("C-1", {"consent_marketing": True, "tier": "potential"})
    assert run(services, clock) == {"tier_potential": 1, "welcome_potential": 1}
    buy(services, "C-1", clock)  # the rules compute potential too: a second `tier` event
    assert run(services, clock) == {}
    assert sent(services) == [("welcome_potential", "C-1")]


def test_a_tier_set_through_the_api_sends_its_welcome_once(
    tmp_path: Path, after_sales: PackSource
) -> None:
    app = make_app(tmp_path, after_sales, WTF_CSRF_ENABLED=False)
    service = app_services(app)
    clock = service.clock = VirtualClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    client, headers = app.test_client(), bearer(app)
    body = {"tier": "high_value"}
    assert client.put("/api/v1/customers/C-9", json=body, headers=headers).status_code == 201
    assert run(service, clock) == {"welcome_high_value": 1}
    assert client.put("/api/v1/customers/C-9", json=body, headers=headers).status_code == 200
    assert run(service, clock) == {}
    assert sent(service) == [("welcome_high_value", "C-9")]


def test_a_tier_set_by_a_csv_import_is_entered_once_and_wins_over_the_computed_one(
    services: Services, clock: VirtualClock
) -> None:
    text = "number,tier,consent_marketing\nC-1,high_value,是\nC-2,high_value,是\nC-3,potential,是\n"
    checked = imports.check(text, IMPORT_ZONE, clock.now())
    services.queue_import(checked, filename="c.csv", data=text.encode(), good_rows=False, by="t")
    assert services.run_import_job("w1") is not None  # a long file's path: a background job
    buy(services, "C-1", clock)  # computed: potential, but imported as high_value
    buy(services, "C-3", clock)  # computed: potential, as imported: entered no second time
    assert run(services, clock) == {
        "welcome_high_value": 2,
        "tier_potential": 1,
        "welcome_potential": 1,
    }
    with services.uow() as uow:  # the same file again, written at once as the admin's page does
        imports.apply(uow.session, services.latest_specs(uow.session), checked, clock.now())
        uow.commit()
    assert run(services, clock) == {}
    assert sorted(sent(services)) == [
        ("welcome_high_value", "C-1"),
        ("welcome_high_value", "C-2"),
        ("welcome_potential", "C-3"),
    ]
    with services.session_factory() as session:
        tasks = session.scalars(select(Record).where(Record.record_type == "care_task")).all()
        hand = session.scalars(
            select(CustomerEvent.new_value).where(CustomerEvent.rule == "set by hand")
        ).all()
    assert [t.fields["customer_no"] for t in tasks] == ["C-3"]
    assert sorted(map(str, hand)) == ["high_value", "high_value", "potential"]
