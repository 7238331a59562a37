"""What a campaign's occasions lead to: a row each, then a message or a task (R-5.3).

Quiet hours and the frequency cap are applied to each candidate, and the occasions are
inserted in batches under a unique key (pack, campaign, customer, occasion) with ON CONFLICT
DO NOTHING. Only the rows this run inserted get their outbox message or task, in the same
transaction, so two scheduler processes never send twice and a rerun sends nothing. An
occasion found too late is recorded as `missed`, not sent.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.conversation.addressing import EMAIL
from engine.customers import loyalty
from engine.customers.campaigns.candidates import AnyRow, Candidate
from engine.records.intake import NewRecord, create_records
from engine.specs.care import CampaignSpec, TaskSpec
from engine.specs.pack import PackSpec
from engine.store.dialect import insert
from engine.store.models import CampaignOccasion, Customer, OutboxMessage, PackVersion

DONE = ("queued", "task")  # what counts towards the frequency cap


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


def record_occasions(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    campaign: CampaignSpec,
    batch: Sequence[Candidate],
    now: datetime,
    too_late: datetime | None,
) -> tuple[int, Counter[str]]:
    """Record a batch's occasions and act on those this run inserted.

    Returns how many candidates the audience rule kept, and the statuses of the new rows.
    """
    if campaign.when is not None:
        points = _points(session, pack, batch, now)
        batch = [c for c in batch if campaign.when.holds({"customer": view(pack, c, points)})]
    if not batch:
        return 0, Counter()
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
    inserted = session.execute(statement, _rows(session, pack, campaign, batch, now, too_late))
    by_key = {(c.customer_id, c.occasion): c for c in batch}
    fresh = [(row, by_key[(row.customer_id, row.occasion)]) for row in inserted.all()]
    todo = [(row, c) for row, c in fresh if row.status in DONE]
    if campaign.message:
        _queue_messages(session, pack, campaign, todo, now)
    elif campaign.task:
        _create_tasks(session, pack, version, campaign.task, todo, now)
    return len(batch), Counter(row.status for row, _ in fresh)


def _rows(
    session: Session,
    pack: PackSpec,
    campaign: CampaignSpec,
    batch: Sequence[Candidate],
    now: datetime,
    too_late: datetime | None,
) -> list[dict[str, Any]]:
    """One occasion row per candidate; each one sent counts towards the cap of the next."""
    recent = _recent(session, pack, campaign, batch)
    rows = []
    for c in batch:
        status = _status(campaign, c, recent[c.customer_id], too_late)
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
    return rows


def _status(
    campaign: CampaignSpec, c: Candidate, recent: list[datetime], too_late: datetime | None
) -> str:
    """`missed` when found too late, `capped` past the frequency cap, else what it leads to."""
    if too_late is not None and c.due_at < too_late:
        return "missed"
    if _capped(campaign, recent, c.due_at):
        return "capped"
    return "queued" if campaign.message else "task"


def _recent(
    session: Session, pack: PackSpec, campaign: CampaignSpec, batch: Sequence[Candidate]
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


def view(pack: PackSpec, c: Candidate, points: Mapping[int, int] | None = None) -> dict[str, Any]:
    """What audience expressions and templates see of the customer: with `points`, their
    loyalty balance and level too (R-5.4: `customer.loyalty_level == 'gold'`)."""
    tier = pack.tiers.get(c.tier or "")
    seen: dict[str, Any] = {
        "number": c.number,
        "name": c.name or "",
        "tier": c.tier,
        "tier_title": tier.title if tier else (c.tier or ""),
    }
    if points is not None:
        balance = points.get(c.customer_id, 0)
        seen["loyalty_points"] = balance
        seen["loyalty_level"] = loyalty.level_for(pack.insight.loyalty, balance)
    return seen


def _points(
    session: Session, pack: PackSpec, batch: Sequence[Candidate], now: datetime
) -> dict[int, int]:
    """The batch's loyalty balances in one statement; none without a programme."""
    if pack.insight.loyalty is None:
        return {}
    return loyalty.points_of(session, pack.name, [c.customer_id for c in batch], now)


def _queue_messages(
    session: Session,
    pack: PackSpec,
    campaign: CampaignSpec,
    todo: Sequence[tuple[AnyRow, Candidate]],
    now: datetime,
) -> None:
    """One outbox row per occasion, in one statement: by email to a customer whose contact is
    an address, else to the messaging integration (webhook), which knows their phone or
    WeChat account (issue #20)."""
    if not todo:
        return
    template = pack.template(campaign.message or "")
    addresses = _email_addresses(session, [c.customer_id for _, c in todo])
    rows = []
    for occasion, c in todo:
        context = {
            "customer": view(pack, c),
            "campaign": {"id": campaign.id, "title": campaign.title},
            "occasion": {
                "key": c.occasion,
                "date": c.local_date.isoformat(),
                "due_at": c.due_at.astimezone(c.zone).strftime("%Y-%m-%d %H:%M"),
            },
        }
        address = addresses.get(c.customer_id)
        subject, body_template = template.texts("email" if address else "webhook")
        title = subject.render(context).strip()[:300]
        body = body_template.render(context)
        rows.append(
            {
                "occasion_id": occasion.id,
                "channel": "email" if address else "webhook",
                "recipient": (address or f"customer:{c.number}")[:320],
                "subject": title,
                "body": body,
                "payload": {
                    "type": "campaign.message",
                    "pack": pack.name,
                    "campaign": campaign.id,
                    "purpose": campaign.purpose,
                    "customer": c.number,
                    "occasion": c.occasion,
                    "title": title,
                    "text": body,
                },
                "created_at": now,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": occasion.send_at,
            }
        )
    session.execute(OutboxMessage.__table__.insert(), rows)  # type: ignore[attr-defined]


def _email_addresses(session: Session, customer_ids: list[int]) -> dict[int, str]:
    """The email addresses among these customers' contacts (decrypted for these only)."""
    rows = session.execute(
        select(Customer.id, Customer.contact).where(Customer.id.in_(sorted(set(customer_ids))))
    )
    return {
        customer_id: contact.strip()
        for customer_id, contact in rows
        if contact and EMAIL.match(contact.strip())
    }


def _create_tasks(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    task: TaskSpec,
    todo: Sequence[tuple[AnyRow, Candidate]],
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
