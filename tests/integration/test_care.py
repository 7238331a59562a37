"""Customer tiers and care campaigns of the default pack (R-5.1–R-5.3, R-8.3).

Every test runs on SQLite and PostgreSQL, on a virtual clock: "at 09:00 on the
birthday, once" is checked by stepping the clock around 09:00 and running the
campaigns again and again.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.models import (
    CampaignOccasion,
    Customer,
    CustomerEvent,
    CustomerTier,
    OutboxMessage,
    Record,
)
from engine.time.clock import VirtualClock
from tests.conftest import SHANGHAI

BERLIN = ZoneInfo("Europe/Berlin")


def at(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    *,
    tz: ZoneInfo = SHANGHAI,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=tz)


def run_at(
    services: Services, clock: VirtualClock, moment: datetime, *, tier_tasks: bool = False
) -> dict[str, int]:
    """Move the clock and run every campaign; how many messages or tasks each produced.

    The tiers' own on-entry tasks and welcome messages (a first purchase makes a customer
    `potential`: a survey and an offer, R-5.2) are left out unless asked for, so each
    campaign's test shows that campaign alone.
    """
    clock.set(moment)
    return {
        r.campaign: r.statuses["queued"] + r.statuses["task"]
        for r in services.run_campaigns()
        if r.statuses["queued"] + r.statuses["task"]
        and (tier_tasks or not r.campaign.startswith(("tier_", "welcome_")))
    }


def messages(services: Services, campaign: str | None = None) -> list[OutboxMessage]:
    with services.session_factory() as session:
        query = select(OutboxMessage).where(OutboxMessage.occasion_id.is_not(None))
        if campaign is not None:
            query = query.where(OutboxMessage.payload["campaign"].as_string() == campaign)
        return list(session.scalars(query.order_by(OutboxMessage.id)))


def occasions(services: Services, campaign: str) -> list[CampaignOccasion]:
    with services.session_factory() as session:
        return list(
            session.scalars(
                select(CampaignOccasion)
                .where(CampaignOccasion.campaign == campaign)
                .order_by(CampaignOccasion.id)
            )
        )


def tier_of(services: Services, number: str) -> str | None:
    with services.session_factory() as session:
        return session.scalar(
            select(CustomerTier.tier)
            .join(Customer, Customer.id == CustomerTier.customer_id)
            .where(Customer.number == number, CustomerTier.pack == "after_sales")
        )


def order(services: Services, number: str, oid: str, amount: float, when: datetime) -> None:
    services.record_order(number, {"external_id": oid, "amount": amount, "ordered_at": when})


# -- birthdays --------------------------------------------------------------------------


def test_a_birthday_greeting_goes_out_at_nine_local_time_once(
    services: Services, clock: VirtualClock
) -> None:
    services.save_customer(
        "C-1", {"name": "王芳", "birthday": date(1990, 11, 24), "consent_marketing": True}
    )
    assert run_at(services, clock, at(2026, 11, 24, 8, 59)) == {}
    assert run_at(services, clock, at(2026, 11, 24, 9, 0)) == {"birthday_greeting": 1}
    for minutes in (1, 30, 600):  # a scheduler keeps running: nothing more that day
        assert run_at(services, clock, at(2026, 11, 24, 9, 0) + timedelta(minutes=minutes)) == {}
    (sent,) = messages(services, "birthday_greeting")
    assert sent.subject == "生日快乐，王芳！"
    assert sent.channel == "webhook" and sent.recipient == "customer:C-1"
    assert sent.payload["occasion"] == "2026" and sent.record_id is None
    assert sent.next_attempt_at == at(2026, 11, 24, 9, 0)
    # next year: once again
    assert run_at(services, clock, at(2027, 11, 24, 9, 5)) == {"birthday_greeting": 1}


def test_a_customer_with_an_email_address_gets_the_greeting_by_email(
    services: Services, clock: VirtualClock
) -> None:
    """Issue #20: a campaign reaches the customer on their own channel; the messaging
    integration (webhook) is for those Careloop knows only by phone or account."""
    services.save_customer(
        "C-1",
        {
            "name": "王芳",
            "contact": "wangfang@example.com",
            "birthday": date(1990, 11, 24),
            "consent_marketing": True,
        },
    )
    assert run_at(services, clock, at(2026, 11, 24, 9, 0)) == {"birthday_greeting": 1}
    (sent,) = messages(services, "birthday_greeting")
    assert (sent.channel, sent.recipient) == ("email", "wangfang@example.com")
    assert sent.subject == "生日快乐，王芳！" and "生日专属优惠" in sent.body


def test_no_marketing_message_without_marketing_consent(
    services: Services, clock: VirtualClock
) -> None:
    """R-8.3: consent per purpose; marketing is off until the customer opts in."""
    services.save_customer("C-1", {"birthday": date(1990, 11, 24)})
    assert run_at(services, clock, at(2026, 11, 24, 9, 30)) == {}
    assert messages(services) == []
    services.save_customer("C-1", {"consent_marketing": True, "consent_source": "app"})
    assert run_at(services, clock, at(2026, 11, 24, 9, 31)) == {"birthday_greeting": 1}
    with services.session_factory() as session:
        (event,) = session.scalars(select(CustomerEvent).where(CustomerEvent.kind == "consent"))
        assert (event.old_value, event.new_value, event.rule) == (
            "marketing",
            "granted",
            "source: app",
        )


def test_feb_29_birthdays_are_greeted_on_feb_28_in_other_years(
    services: Services, clock: VirtualClock
) -> None:
    services.save_customer("C-1", {"birthday": date(2000, 2, 29), "consent_marketing": True})
    clock.set(at(2027, 2, 27, 12, 0))
    assert run_at(services, clock, at(2027, 2, 28, 9, 0)) == {"birthday_greeting": 1}
    assert run_at(services, clock, at(2027, 3, 1, 9, 0)) == {}
    assert run_at(services, clock, at(2028, 2, 28, 9, 0)) == {}  # a leap year: the 29th
    assert run_at(services, clock, at(2028, 2, 29, 9, 0)) == {"birthday_greeting": 1}


def test_each_customer_is_greeted_at_nine_in_their_own_time_zone(
    services: Services, clock: VirtualClock
) -> None:
    services.save_customer(
        "C-BER",
        {"birthday": date(1985, 11, 24), "timezone": "Europe/Berlin", "consent_marketing": True},
    )
    # 09:00 Shanghai is 02:00 in Berlin: not yet
    assert run_at(services, clock, at(2026, 11, 24, 9, 0)) == {}
    assert run_at(services, clock, at(2026, 11, 24, 8, 59, tz=BERLIN)) == {}
    assert run_at(services, clock, at(2026, 11, 24, 9, 0, tz=BERLIN)) == {"birthday_greeting": 1}


def test_an_unknown_time_zone_is_refused_with_the_field_named(services: Services) -> None:
    from engine.errors import InvalidInput

    try:
        services.save_customer("C-1", {"timezone": "Mars/Olympus"})
    except InvalidInput as exc:
        assert exc.fields == {"timezone": "an IANA name, e.g. Asia/Shanghai"}
    else:
        raise AssertionError("an unknown zone was accepted")


# -- holidays, purchases, shipments -----------------------------------------------------


def test_the_holiday_greeting_comes_on_the_first_day_of_national_day_only(
    services: Services, clock: VirtualClock
) -> None:
    services.save_customer("C-1", {"consent_marketing": True})
    clock.set(at(2027, 9, 30, 9, 0))
    services.run_campaigns()
    assert run_at(services, clock, at(2027, 10, 1, 9, 59)) == {}
    assert run_at(services, clock, at(2027, 10, 1, 10, 0)) == {"holiday_greeting": 1}
    assert run_at(services, clock, at(2027, 10, 2, 10, 0)) == {}
    assert run_at(services, clock, at(2027, 10, 3, 12, 0)) == {}
    assert [m.payload["occasion"] for m in messages(services)] == ["2027-10-01"]


def test_a_maintenance_reminder_three_months_after_each_purchase_at_ten(
    services: Services, clock: VirtualClock
) -> None:
    services.save_customer("C-1", {"consent_marketing": True})
    order(services, "C-1", "O-1", 2999.0, at(2026, 11, 23, 8, 30))
    order(services, "C-1", "O-2", 199.0, at(2026, 11, 23, 8, 45))
    assert run_at(services, clock, at(2027, 2, 23, 9, 59)) == {}
    assert run_at(services, clock, at(2027, 2, 23, 10, 0)) == {"maintenance_reminder": 2}
    assert run_at(services, clock, at(2027, 2, 23, 10, 1)) == {}
    assert {m.payload["occasion"] for m in messages(services, "maintenance_reminder")} == {
        "order:1",
        "order:2",
    }


def test_a_shipping_notice_due_in_quiet_hours_waits_until_morning(
    services: Services, clock: VirtualClock
) -> None:
    """Service messages need service consent only, and respect quiet hours (22:00-08:00)."""
    services.save_customer("C-1", {})
    order(services, "C-1", "O-1", 99.0, at(2026, 11, 23, 8, 0))
    clock.set(at(2026, 11, 23, 21, 40))
    services.record_order(
        "C-1",
        {
            "external_id": "O-1",
            "amount": 99.0,
            "ordered_at": at(2026, 11, 23, 8, 0),
            "shipped_at": at(2026, 11, 23, 21, 30),
        },
    )
    assert run_at(services, clock, at(2026, 11, 23, 22, 29)) == {}
    assert run_at(services, clock, at(2026, 11, 23, 22, 30)) == {"shipping_notice": 1}
    (sent,) = messages(services, "shipping_notice")
    assert sent.next_attempt_at == at(2026, 11, 24, 8, 0)


def test_a_shipping_time_pushed_late_still_brings_its_notice(
    services: Services, clock: VirtualClock
) -> None:
    """The integration tells us of the shipment three hours after it: the notice still goes."""
    services.save_customer("C-1", {})
    order(services, "C-1", "O-1", 99.0, at(2026, 11, 23, 8, 0))
    assert run_at(services, clock, at(2026, 11, 23, 14, 0)) == {}
    services.record_order(
        "C-1",
        {
            "external_id": "O-1",
            "amount": 99.0,
            "ordered_at": at(2026, 11, 23, 8, 0),
            "shipped_at": at(2026, 11, 23, 10, 0),
        },
    )
    assert run_at(services, clock, at(2026, 11, 23, 14, 1)) == {"shipping_notice": 1}


def test_the_frequency_cap_holds_back_a_fourth_marketing_message_in_a_week(
    services: Services, clock: VirtualClock
) -> None:
    services.save_customer(
        "C-1", {"birthday": date(1990, 11, 25), "consent_marketing": True, "name": "王芳"}
    )
    for i in range(3):
        order(services, "C-1", f"O-{i}", 100.0, at(2026, 8, 24, 9, i))
    clock.set(at(2026, 11, 24, 9, 0))
    assert run_at(services, clock, at(2026, 11, 24, 10, 5)) == {"maintenance_reminder": 3}
    assert run_at(services, clock, at(2026, 11, 25, 9, 5)) == {}
    assert [o.status for o in occasions(services, "birthday_greeting")] == ["capped"]


def test_after_downtime_recent_occasions_are_sent_late_and_older_ones_recorded_missed(
    services: Services, clock: VirtualClock
) -> None:
    services.save_customer("C-OLD", {"birthday": date(1990, 11, 24), "consent_marketing": True})
    services.save_customer("C-NEW", {"birthday": date(1990, 11, 26), "consent_marketing": True})
    assert run_at(services, clock, at(2026, 11, 23, 12, 0)) == {}
    # the scheduler is down from the 23rd noon to the 26th 20:00
    assert run_at(services, clock, at(2026, 11, 26, 20, 0)) == {"birthday_greeting": 1}
    statuses = {
        (o.customer_id, o.occasion, o.status) for o in occasions(services, "birthday_greeting")
    }
    assert statuses == {(1, "2026", "missed"), (2, "2026", "queued")}


def test_a_customer_turning_silent_is_invited_back_the_next_day_at_ten(
    services: Services, clock: VirtualClock
) -> None:
    """R-5.3: win back silent customers, once per time they turn silent."""
    services.save_customer("C-1", {"since": date(2020, 1, 1), "consent_marketing": True})
    order(services, "C-1", "O-1", 300.0, clock.now() - timedelta(days=200))
    assert tier_of(services, "C-1") == "silent"  # nothing for over 6 months
    assert run_at(services, clock, at(2026, 11, 24, 9, 59)) == {}
    assert run_at(services, clock, at(2026, 11, 24, 10, 0)) == {"win_back": 1}
    assert run_at(services, clock, at(2026, 11, 25, 10, 0)) == {}
    (sent,) = messages(services, "win_back")
    assert sent.subject == "好久不见" and sent.payload["purpose"] == "marketing"


# -- tiers and per-tier service ---------------------------------------------------


def test_each_default_tier_is_computed_in_sql_with_the_rule_that_matched(
    services: Services, clock: VirtualClock
) -> None:
    now = clock.now()
    # high value: top spender, a customer for 3 years, bought in each of them
    services.save_customer("C-VIP", {"since": date(2023, 6, 1)})
    for years in (2, 1, 0):
        order(services, "C-VIP", f"V-{years}", 50_000.0, now - timedelta(days=30 + 365 * years))
    # nine ordinary customers with older, smaller purchases
    for i in range(9):
        services.save_customer(f"C-{i}", {"since": date(2020, 1, 1)})
        order(services, f"C-{i}", f"O-{i}", 100.0 + i, now - timedelta(days=100))
    # potential: first purchase a month ago
    services.save_customer("C-NEW", {})
    order(services, "C-NEW", "N-1", 500.0, now - timedelta(days=30))
    # silent: nothing for a year
    services.save_customer("C-QUIET", {"since": date(2020, 1, 1)})
    # complainer: a quality complaint last week
    services.save_customer("C-ANGRY", {"since": date(2020, 1, 1)})
    clock.set(now)
    services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            fields={"customer_no": "C-ANGRY", "contact": "13800000000", "description": "又坏了"},
            channel="phone",
            category="quality",
            received_at=now - timedelta(days=7),
        ),
        actor="agent",
    )
    run = services.recompute_tiers()["after_sales"]
    assert run.customers == 13
    assert tier_of(services, "C-VIP") == "high_value"
    assert tier_of(services, "C-NEW") == "potential"
    assert tier_of(services, "C-QUIET") == "silent"
    assert tier_of(services, "C-ANGRY") == "complainer"
    assert tier_of(services, "C-0") is None
    with services.session_factory() as session:
        history = list(
            session.scalars(
                select(CustomerEvent)
                .join(Customer, Customer.id == CustomerEvent.customer_id)
                .where(Customer.number == "C-VIP", CustomerEvent.kind == "tier")
                .order_by(CustomerEvent.id)
            )
        )
    # the first old order alone made them silent; the full run, with all three, high value
    assert [(e.old_value, e.new_value) for e in history] == [
        (None, "silent"),
        ("silent", None),
        (None, "high_value"),
    ]
    assert history[-1].rule == (
        "high_value: spend_percentile ≥ 0.9, renewal_rate ≥ 0.9, tenure_at_least 2 years"
    )
    # a rerun changes nothing and writes no history
    assert services.recompute_tiers()["after_sales"].changed == 0


def test_an_order_moves_the_customer_into_their_tier_at_once(
    services: Services, clock: VirtualClock
) -> None:
    services.save_customer("C-1", {})
    assert tier_of(services, "C-1") is None
    order(services, "C-1", "O-1", 10.0, clock.now() - timedelta(days=1))
    assert tier_of(services, "C-1") == "potential"


def test_a_complaint_makes_the_customer_a_complainer_at_once(
    services: Services, clock: VirtualClock
) -> None:
    """R-5.1: filed as a quality complaint at triage, the customer's tier follows."""
    record = services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            fields={"customer_no": "C-1", "contact": "13800000000", "description": "又漏水"},
            channel="phone",
        ),
        actor="agent",
    )
    assert tier_of(services, "C-1") is None
    services.transition(
        record.id, "accept", {"category": "quality", "priority": "P1"}, actor="agent"
    )
    assert tier_of(services, "C-1") == "complainer"


def test_entering_the_potential_tier_creates_one_needs_survey_task(
    services: Services, clock: VirtualClock
) -> None:
    """R-5.2: potential customers get a needs survey, once per entry into the tier."""
    services.save_customer("C-1", {})
    order(services, "C-1", "O-1", 10.0, clock.now() - timedelta(days=1))
    clock.advance(timedelta(minutes=1))
    assert run_at(services, clock, clock.now(), tier_tasks=True) == {"tier_potential": 1}
    assert run_at(services, clock, clock.now() + timedelta(minutes=1), tier_tasks=True) == {}
    with services.session_factory() as session:
        (task,) = session.scalars(select(Record).where(Record.record_type == "care_task"))
        assert task.fields == {"task": "需求调研：了解客户的使用场景与需求", "customer_no": "C-1"}
        assert task.channel == "phone"


def test_high_value_customers_are_served_first_and_routed_to_the_vip_desk(
    services: Services, clock: VirtualClock
) -> None:
    """R-5.2: the tier sets the queue place and the department."""
    now = clock.now()
    services.save_customer("C-VIP", {"since": date(2022, 1, 1)})
    for years in (0, 1, 2):
        order(services, "C-VIP", f"V-{years}", 9_000.0, now - timedelta(days=10 + 365 * years))
    for i in range(10):
        services.save_customer(f"C-{i}", {})
    record = services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            fields={"customer_no": "C-VIP", "contact": "13800000000", "description": "漏水"},
            channel="phone",
        ),
        actor="agent",
    )
    assert record.tier_rank == 1  # not yet computed: percentiles need the full run
    services.recompute_tiers()
    with services.session_factory() as session:
        assert session.get_one(Record, record.id).tier_rank == 0  # re-ranked in the queue
    services.transition(
        record.id, "accept", {"category": "quality", "priority": "P1"}, actor="agent"
    )
    with services.session_factory() as session:
        assert session.get_one(Record, record.id).department == "vip_service"


def test_a_high_value_customers_dedicated_agent_gets_the_proactive_call(
    services: Services, clock: VirtualClock
) -> None:
    """R-5.3: a month after each purchase, their own agent calls a high-value customer."""
    now = clock.now()
    services.save_customer("C-VIP", {"since": date(2022, 1, 1), "dedicated_agent": "li.lei"})
    for years in (0, 1, 2):
        order(services, "C-VIP", f"V-{years}", 9_000.0, now - timedelta(days=1 + 365 * years))
    for i in range(10):
        services.save_customer(f"C-{i}", {})
    services.recompute_tiers()
    assert tier_of(services, "C-VIP") == "high_value"
    due = (now - timedelta(days=1)).replace(month=12, hour=10, minute=0)
    clock.set(due - timedelta(days=1))
    services.run_campaigns()
    assert run_at(services, clock, due) == {"vip_proactive_call": 1}
    with services.session_factory() as session:
        (call,) = session.scalars(select(Record).where(Record.record_type == "care_task"))
        assert call.assignee == "li.lei"
        assert call.fields["task"].startswith("主动回访")
