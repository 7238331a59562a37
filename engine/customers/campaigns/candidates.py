"""Who a campaign's occasions are for, and when each is due, in the customer's own zone (R-5.3).

SQL narrows the audience through indexes (born on these days, ordered in this span, in these
tiers, with the consent the purpose needs, R-8.3); each candidate's due time is then worked
out in their own time zone. One selection per trigger: birthday, holiday, purchase or
shipment, tier entered. Candidates are streamed, so a run over a large audience holds a
batch at a time.
"""

from __future__ import annotations

import calendar as monthdays
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, Select, Text, and_, func, or_, select, type_coerce
from sqlalchemy.orm import Session, aliased

from engine.access import crypto
from engine.customers.tiers import BY_HAND
from engine.specs.care import CampaignSpec
from engine.specs.pack import PackSpec
from engine.store.models import Customer, CustomerEvent, CustomerTier, Order

BATCH = 1000
FEB_29 = 229
SLACK = timedelta(days=1)  # covers every time zone's offset and month-end clamping
Query = Select[*tuple[Any, ...]]
AnyRow = Row[*tuple[Any, ...]]


@dataclass(frozen=True)
class Candidate:
    """One customer's occasion of a campaign, due at `due_at` (their `local_date`)."""

    customer_id: int
    number: str
    sealed_name: str | None
    tier: str | None
    zone: ZoneInfo
    occasion: str
    due_at: datetime
    local_date: date

    @cached_property
    def name(self) -> str | None:
        """Decrypted only for those a message or an audience rule is about (most candidates of a
        rerun are not): Fernet costs about 50 µs a name, half a birthday selection's time."""
        return None if self.sealed_name is None else crypto.decrypt(self.sealed_name)


def _customers(pack: PackSpec, campaign: CampaignSpec) -> Query:
    """Customer columns, their tier in this pack, and the consent the purpose needs (R-8.3)."""
    tier = func.coalesce(Customer.tier, CustomerTier.tier)
    sealed_name = type_coerce(Customer.name, Text()).label("sealed_name")  # see Candidate.name
    query = select(
        Customer.id, Customer.number, sealed_name, tier.label("tier"), Customer.timezone
    ).outerjoin(
        CustomerTier, and_(CustomerTier.customer_id == Customer.id, CustomerTier.pack == pack.name)
    )
    consent = (
        Customer.consent_marketing if campaign.purpose == "marketing" else Customer.consent_service
    )
    query = query.where(consent.is_(True))
    if campaign.tiers:
        query = query.where(tier.in_(sorted(campaign.tiers)))
    return query


def candidates(
    session: Session, pack: PackSpec, campaign: CampaignSpec, start: datetime, end: datetime
) -> Iterator[Candidate]:
    """Every occasion of the campaign due in (start, end], in the order its trigger reads them."""
    trigger = campaign.trigger
    if trigger.on == "birthday":
        yield from _birthdays(session, pack, campaign, start, end)
    elif trigger.on == "holiday":
        yield from _holidays(session, pack, campaign, start, end)
    elif trigger.on in ("purchase", "shipment"):
        yield from _orders(session, pack, campaign, start, end)
    else:
        yield from _tier_entries(session, pack, campaign, start, end)


def _days(start: datetime, end: datetime) -> list[date]:
    """Every calendar date some time zone is on between start and end."""
    first, last = (start - SLACK).date(), (end + SLACK).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _celebrated(day: date) -> list[int]:
    """Birthdays (month * 100 + day) celebrated on `day`: 29 Feb on 28 Feb in common years."""
    md = day.month * 100 + day.day
    return [md, FEB_29] if md == 228 and not monthdays.isleap(day.year) else [md]


def _birthdays(
    session: Session, pack: PackSpec, campaign: CampaignSpec, start: datetime, end: datetime
) -> Iterator[Candidate]:
    """Customers born on the days whose `at` falls in the window, in their own zone.

    Customers in the pack's zone (most) are looked up for the exact days only, the others
    for every day some zone is on; the due time of each (zone, day) is worked out once.
    """
    at = campaign.trigger.at or time(9)
    days = _days(start, end)
    home = [d for d in days if start < datetime.combine(d, at, pack.timezone) <= end]
    by_md: defaultdict[int, list[date]] = defaultdict(list)
    for day in days:
        for md in _celebrated(day):
            by_md[md].append(day)
    home_mds = sorted({md for day in home for md in _celebrated(day)})
    query = (
        _customers(pack, campaign)
        .add_columns(Customer.birth_md)
        .where(
            or_(
                and_(Customer.timezone.is_(None), Customer.birth_md.in_(home_mds)),
                and_(Customer.timezone.is_not(None), Customer.birth_md.in_(sorted(by_md))),
            )
        )
    )
    due_at: dict[tuple[str | None, date], datetime | None] = {}
    for row in _stream(session, query):
        customer_id, number, name, tier, zone_name, md = row
        zone = _zone(pack, zone_name)
        for day in by_md[md]:
            key = (zone_name, day)
            if key not in due_at:
                moment = datetime.combine(day, at, zone)
                due_at[key] = moment if start < moment <= end else None
            if (due := due_at[key]) is not None:
                yield Candidate(customer_id, number, name, tier, zone, str(day.year), due, day)


def _holidays(
    session: Session, pack: PackSpec, campaign: CampaignSpec, start: datetime, end: datetime
) -> Iterator[Candidate]:
    """The first day of each public holiday of the calendar, at `at` local time."""
    cal = pack.calendars[campaign.trigger.calendar or ""]
    firsts = [
        d
        for d in _days(start, end)
        if (name := cal.public_holiday(d)) and cal.public_holiday(d - timedelta(days=1)) != name
    ]
    if not firsts:
        return
    at = campaign.trigger.at or time(9)
    for row in _stream(session, _customers(pack, campaign).order_by(Customer.id)):
        zone = _zone(pack, row.timezone)
        for day in firsts:
            due = datetime.combine(day, at, zone)
            if start < due <= end:
                yield _candidate(row, zone, day.isoformat(), due, day)


def _orders(
    session: Session, pack: PackSpec, campaign: CampaignSpec, start: datetime, end: datetime
) -> Iterator[Candidate]:
    """`after` each purchase or shipment (optionally at a local time on that day)."""
    trigger = campaign.trigger
    assert trigger.after is not None  # the pack builder requires it
    moment = Order.ordered_at if trigger.on == "purchase" else Order.shipped_at
    query = (
        _customers(pack, campaign)
        .add_columns(Order.id.label("order_id"), moment.label("event_at"))
        .join(Order, Order.customer_id == Customer.id)
        .where(
            moment > trigger.after.before(start) - SLACK,
            moment <= trigger.after.before(end) + SLACK,
        )
        .order_by(moment, Order.id)
    )
    for row in _stream(session, query):
        zone = _zone(pack, row.timezone)
        due = _at(trigger.after.after(row.event_at).astimezone(zone), trigger.at)
        if start < due <= end:
            yield _candidate(row, zone, f"order:{row.order_id}", due, due.date())


def _tier_entries(
    session: Session, pack: PackSpec, campaign: CampaignSpec, start: datetime, end: datetime
) -> Iterator[Candidate]:
    trigger = campaign.trigger
    after = trigger.after
    earliest = after.before(start) if after else start
    latest = after.before(end) if after else end
    query = (
        _customers(pack, campaign)
        .add_columns(CustomerEvent.id.label("event_id"), CustomerEvent.at.label("event_at"))
        .join(CustomerEvent, CustomerEvent.customer_id == Customer.id)
        .where(
            CustomerEvent.kind == "tier",
            CustomerEvent.pack == pack.name,
            CustomerEvent.new_value == trigger.tier,
            # Still in the tier, a tier set by hand winning: a customer set to high-value by
            # hand gets no potential-tier task from the computed tier underneath.
            func.coalesce(Customer.tier, CustomerTier.tier) == trigger.tier,
            # Entered once: the rules reaching a tier already set by hand enter nothing.
            or_(CustomerEvent.rule == BY_HAND, ~_entered_by_hand(pack, trigger.tier)),
            CustomerEvent.at > earliest - SLACK,
            CustomerEvent.at <= latest + SLACK,
        )
        .order_by(CustomerEvent.id)
    )
    for row in _stream(session, query):
        zone = _zone(pack, row.timezone)
        raw = after.after(row.event_at) if after else row.event_at
        due = _at(raw.astimezone(zone), trigger.at)
        if start < due <= end:
            yield _candidate(row, zone, f"tier:{row.event_id}", due, due.date())


def _entered_by_hand(pack: PackSpec, tier: str | None) -> ColumnElement[bool]:
    """The customer of the row was set to `tier` by hand (`handtiers.enter`)."""
    hand = aliased(CustomerEvent)
    return (
        select(hand.id)
        .where(
            hand.customer_id == Customer.id,
            hand.kind == "tier",
            hand.pack == pack.name,
            hand.new_value == tier,
            hand.rule == BY_HAND,
        )
        .exists()
    )


def _stream(session: Session, query: Query) -> Iterator[AnyRow]:
    yield from session.execute(query.execution_options(yield_per=BATCH))


def _zone(pack: PackSpec, name: str | None) -> ZoneInfo:
    return ZoneInfo(name) if name else pack.timezone


def _at(moment: datetime, at: time | None) -> datetime:
    return moment if at is None else datetime.combine(moment.date(), at, moment.tzinfo)


def _candidate(row: AnyRow, zone: ZoneInfo, occasion: str, due: datetime, day: date) -> Candidate:
    """From a row of `_customers` (id, number, name, tier first): by position, which is quick."""
    return Candidate(row[0], row[1], row[2], row[3], zone, occasion, due, day)
