"""Care campaigns: each occasion of each customer happens once, at their local time (R-5.3).

A run looks at the window since the campaign's last run (or, the first time
and after downtime, as far back as `send_late_within`). SQL narrows the
audience through indexes (born on these days, ordered in this span, in
these tiers, with the consent the purpose needs, R-8.3); each candidate's
due time is worked out in its own time zone, quiet hours and the frequency
cap are applied, and the occasions are inserted in batches under a unique
key (pack, campaign, customer, occasion) with ON CONFLICT DO NOTHING.
Only the rows this run inserted get their outbox message or task, in the same
transaction, so two scheduler processes never send twice and a rerun sends
nothing. An occasion found too late is recorded as `missed`, not sent.
"""

from __future__ import annotations

import calendar as monthdays
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Select, Text, and_, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from engine.access import crypto
from engine.records.intake import NewRecord, create_records
from engine.specs.care import CampaignSpec, TaskSpec, TriggerSpec
from engine.specs.pack import PackSpec
from engine.store.dialect import insert
from engine.store.models import (
    CampaignOccasion,
    CampaignRun,
    Customer,
    CustomerEvent,
    CustomerTier,
    Order,
    OutboxMessage,
    PackVersion,
)
from engine.time.clock import require_aware

BATCH = 1000
DEFAULT_LATE = timedelta(days=1)
FEB_29 = 229
DONE = ("queued", "task")  # what counts towards the frequency cap
SLACK = timedelta(days=1)  # covers every time zone's offset and month-end clamping
Query = Select[*tuple[Any, ...]]
AnyRow = Row[*tuple[Any, ...]]
LOOKBACK = timedelta(days=90)  # how far back a run after long downtime still looks
NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # ran_until of a campaign that has not run yet


@dataclass
class CampaignResult:
    campaign: str
    considered: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    skipped_locked: bool = False


@dataclass(frozen=True)
class _Candidate:
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


def all_campaigns(pack: PackSpec) -> dict[str, CampaignSpec]:
    """The pack's campaigns, plus one per tier with an on-entry task (onboarding, R-5.2)."""
    implicit = {
        f"tier_{tier.id}": CampaignSpec(
            id=f"tier_{tier.id}",
            title=tier.title,
            trigger=TriggerSpec(on="tier_entered", tier=tier.id),
            purpose="service",
            task=tier.on_enter,
        )
        for tier in pack.tiers.values()
        if tier.on_enter is not None
    }
    return {**implicit, **pack.campaigns}


def run_campaign(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    campaign: CampaignSpec,
    now: datetime,
    *,
    replay_from: datetime | None = None,
) -> CampaignResult:
    """One campaign up to now, in the caller's transaction; a rerun changes nothing.

    `replay_from` (the simulator's) looks at everything since then and counts nothing as
    missed: each occasion is recorded at its own due time, as a running scheduler would.
    """
    now = require_aware(now)
    result = CampaignResult(campaign.id)
    claimed, ran_until = _claim(session, pack.name, campaign.id)
    if not claimed:
        result.skipped_locked = True
        return result
    # Every run looks back as far as an occasion may still happen late, so data that arrives
    # late (an order's shipping time pushed an hour after the fact) is not skipped; after
    # downtime it goes back to the last run, and what is older than that is recorded missed.
    start = now - _late(campaign)
    too_late: datetime | None = start
    if replay_from is not None:
        start, too_late = replay_from - timedelta(microseconds=1), None
    elif ran_until is not None and ran_until < start:
        start = max(ran_until, now - LOOKBACK)
    if start >= now:
        return result
    batch: list[_Candidate] = []
    for candidate in _candidates(session, pack, campaign, start, now):
        batch.append(candidate)
        if len(batch) >= BATCH:
            _process(session, pack, version, campaign, batch, now, too_late, result)
            batch = []
    if batch:
        _process(session, pack, version, campaign, batch, now, too_late, result)
    session.execute(
        CampaignRun.__table__.update()  # type: ignore[attr-defined]
        .where(CampaignRun.pack == pack.name, CampaignRun.campaign == campaign.id)
        .values(ran_until=now)
    )
    return result


def _late(campaign: CampaignSpec) -> timedelta:
    late = campaign.send_late_within
    if late is None:
        return DEFAULT_LATE
    moment = datetime(2000, 1, 1)
    return late.after(moment) - moment


def _claim(session: Session, pack: str, campaign: str) -> tuple[bool, datetime | None]:
    """Lock the campaign's run row: (False, None) when another process holds it (it does the
    work), else (True, when the last run ended, or None for a campaign's first run)."""
    session.execute(
        insert(session, CampaignRun.__table__)
        .values(pack=pack, campaign=campaign, ran_until=NEVER)
        .on_conflict_do_nothing()
    )
    row = session.execute(
        select(CampaignRun.ran_until)
        .where(CampaignRun.pack == pack, CampaignRun.campaign == campaign)
        .with_for_update(skip_locked=True)
    ).first()
    if row is None:
        return False, None
    ran_until: datetime = row[0]
    return True, (None if ran_until <= NEVER else ran_until)


# -- who and when ---------------------------------------------------------------------------


def _customers(pack: PackSpec, campaign: CampaignSpec) -> Query:
    """Customer columns, their tier in this pack, and the consent the purpose needs (R-8.3)."""
    tier = func.coalesce(Customer.tier, CustomerTier.tier)
    sealed_name = type_coerce(Customer.name, Text()).label("sealed_name")  # see _Candidate.name
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


def _candidates(
    session: Session, pack: PackSpec, campaign: CampaignSpec, start: datetime, end: datetime
) -> Iterator[_Candidate]:
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
) -> Iterator[_Candidate]:
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
                yield _Candidate(customer_id, number, name, tier, zone, str(day.year), due, day)


def _holidays(
    session: Session, pack: PackSpec, campaign: CampaignSpec, start: datetime, end: datetime
) -> Iterator[_Candidate]:
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
) -> Iterator[_Candidate]:
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
) -> Iterator[_Candidate]:
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


def _stream(session: Session, query: Query) -> Iterator[AnyRow]:
    yield from session.execute(query.execution_options(yield_per=BATCH))


def _zone(pack: PackSpec, name: str | None) -> ZoneInfo:
    return ZoneInfo(name) if name else pack.timezone


def _at(moment: datetime, at: time | None) -> datetime:
    return moment if at is None else datetime.combine(moment.date(), at, moment.tzinfo)


def _candidate(row: AnyRow, zone: ZoneInfo, occasion: str, due: datetime, day: date) -> _Candidate:
    """From a row of `_customers` (id, number, name, tier first): by position, which is quick."""
    return _Candidate(row[0], row[1], row[2], row[3], zone, occasion, due, day)


# -- what happens ---------------------------------------------------------------------------


def send_time(due: datetime, quiet: tuple[time, time] | None) -> datetime:
    """`due`, or the end of the quiet hours it falls in (customer's local time)."""
    if quiet is None:
        return due
    begin, finish = quiet
    clock = due.timetz().replace(tzinfo=None)
    overnight = begin > finish
    inside = (clock >= begin or clock < finish) if overnight else begin <= clock < finish
    if not inside:
        return due
    day = due.date() + timedelta(days=1) if overnight and clock >= begin else due.date()
    return datetime.combine(day, finish, due.tzinfo)


def _process(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    campaign: CampaignSpec,
    batch: Sequence[_Candidate],
    now: datetime,
    too_late: datetime | None,
    result: CampaignResult,
) -> None:
    if campaign.when is not None:
        batch = [c for c in batch if campaign.when.holds({"customer": _view(pack, c)})]
    result.considered += len(batch)
    if not batch:
        return
    recent = _recent(session, pack, campaign, batch)
    rows = []
    for c in batch:
        status = "queued" if campaign.message else "task"
        if too_late is not None and c.due_at < too_late:
            status = "missed"
        elif _capped(campaign, recent[c.customer_id], c.due_at):
            status = "capped"
        if status in DONE:
            recent[c.customer_id].append(c.due_at)
        rows.append(
            {
                "pack": pack.name,
                "campaign": campaign.id,
                "customer_id": c.customer_id,
                "occasion": c.occasion,
                "purpose": campaign.purpose,
                "due_at": c.due_at,
                "send_at": send_time(c.due_at, campaign.quiet_hours) if campaign.message else now,
                "status": status,
                "created_at": now,
            }
        )
    statement = (
        insert(session, CampaignOccasion.__table__)
        .on_conflict_do_nothing()
        .returning(
            CampaignOccasion.id,
            CampaignOccasion.customer_id,
            CampaignOccasion.occasion,
            CampaignOccasion.status,
            CampaignOccasion.send_at,
        )
    )
    inserted = session.execute(statement, rows).all()
    by_key = {(c.customer_id, c.occasion): c for c in batch}
    fresh = [(row, by_key[(row.customer_id, row.occasion)]) for row in inserted]
    result.statuses.update(row.status for row, _ in fresh)
    todo = [(row, c) for row, c in fresh if row.status in DONE]
    if campaign.message:
        _queue_messages(session, pack, campaign, todo, now)
    elif campaign.task:
        _create_tasks(session, pack, version, campaign.task, todo, now)


def _recent(
    session: Session, pack: PackSpec, campaign: CampaignSpec, batch: Sequence[_Candidate]
) -> defaultdict[int, list[datetime]]:
    """Due times of what each customer of the batch already got for this purpose, for the cap."""
    recent: defaultdict[int, list[datetime]] = defaultdict(list)
    if campaign.cap is None:
        return recent
    earliest = campaign.cap[1].before(min(c.due_at for c in batch))
    rows = session.execute(
        select(CampaignOccasion.customer_id, CampaignOccasion.due_at).where(
            CampaignOccasion.customer_id.in_(sorted({c.customer_id for c in batch})),
            CampaignOccasion.pack == pack.name,
            CampaignOccasion.purpose == campaign.purpose,
            CampaignOccasion.status.in_(DONE),
            CampaignOccasion.due_at > earliest,
        )
    )
    for customer_id, due_at in rows:
        recent[customer_id].append(due_at)
    return recent


def _capped(campaign: CampaignSpec, recent: list[datetime], due: datetime) -> bool:
    if campaign.cap is None:
        return False
    most, per = campaign.cap
    since = per.before(due)
    return sum(1 for at in recent if since < at <= due) >= most


def _view(pack: PackSpec, c: _Candidate) -> dict[str, Any]:
    """What audience expressions and templates see of the customer."""
    tier = pack.tiers.get(c.tier or "")
    return {
        "number": c.number,
        "name": c.name or "",
        "tier": c.tier,
        "tier_title": tier.title if tier else (c.tier or ""),
    }


def _queue_messages(
    session: Session,
    pack: PackSpec,
    campaign: CampaignSpec,
    todo: Sequence[tuple[AnyRow, _Candidate]],
    now: datetime,
) -> None:
    """One outbox row per occasion, for the messaging integration (webhook), in one statement."""
    if not todo:
        return
    template = pack.template(campaign.message or "")
    rows = []
    for occasion, c in todo:
        context = {
            "customer": _view(pack, c),
            "campaign": {"id": campaign.id, "title": campaign.title},
            "occasion": {
                "key": c.occasion,
                "date": c.local_date.isoformat(),
                "due_at": c.due_at.astimezone(c.zone).strftime("%Y-%m-%d %H:%M"),
            },
        }
        subject = template.subject.render(context).strip()[:300]
        body = template.body.render(context)
        rows.append(
            {
                "occasion_id": occasion.id,
                "channel": "webhook",
                "recipient": f"customer:{c.number}"[:320],
                "subject": subject,
                "body": body,
                "payload": {
                    "type": "campaign.message",
                    "pack": pack.name,
                    "campaign": campaign.id,
                    "purpose": campaign.purpose,
                    "customer": c.number,
                    "occasion": c.occasion,
                    "title": subject,
                    "text": body,
                },
                "created_at": now,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": occasion.send_at,
            }
        )
    session.execute(OutboxMessage.__table__.insert(), rows)  # type: ignore[attr-defined]


def _create_tasks(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    task: TaskSpec,
    todo: Sequence[tuple[AnyRow, _Candidate]],
    now: datetime,
) -> None:
    """A record for an agent per occasion (a VIP's proactive call), routed like any other."""
    rtype = pack.record_type(task.record_type)
    customer_field = next(f.id for f in rtype.fields.values() if f.type == "customer")
    made = create_records(
        session,
        pack,
        version,
        [
            NewRecord(
                record_type=rtype.id,
                fields={**task.values, customer_field: c.number},
                channel=task.channel,
                priority=task.priority,
            )
            for _, c in todo
        ],
        actor="campaign",
        now=now,
    )
    for (occasion, _), record in zip(todo, made, strict=True):
        session.execute(
            CampaignOccasion.__table__.update()  # type: ignore[attr-defined]
            .where(CampaignOccasion.id == occasion.id)
            .values(record_id=record.id)
        )
