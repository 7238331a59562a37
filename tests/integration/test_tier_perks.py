"""What a tier gives on entering it, and a tier set by hand winning (R-5.2, R-8.3).

The default pack's `potential` tier creates a needs-survey task and sends an offer (marketing
consent); `high_value` tells the customer of their perks (service). A customer set to a tier by
hand is in that tier whatever the rules compute underneath: no potential-tier task or offer for
a customer set to high-value. Every test runs on SQLite and PostgreSQL, on a virtual clock.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.services import Services
from engine.store.models import OutboxMessage, Record
from engine.time.clock import VirtualClock


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
    assert run(services, clock) == {"tier_potential": 1, "welcome_potential": 1}
    with services.session_factory() as session:
        tasks = session.scalars(select(Record).where(Record.record_type == "care_task")).all()
        assert [t.fields["customer_no"] for t in tasks] == ["C-1"]
    assert sent(services) == [("welcome_potential", "C-1")]
