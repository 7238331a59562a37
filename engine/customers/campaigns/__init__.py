"""Care campaigns: each occasion of each customer happens once, at their local time (R-5.3).

A run looks at the window since the campaign's last run (or, the first time
and after downtime, as far back as `send_late_within`), in batches:
`candidates` selects who is due when, in their own time zone, and `occasions`
records each occasion once (quiet hours, frequency cap, ON CONFLICT DO NOTHING)
and queues the message or creates the task of only the rows this run inserted,
so two scheduler processes never send twice and a rerun sends nothing. The run
row is locked with SKIP LOCKED, so one process runs a campaign at a time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.customers.campaigns.candidates import BATCH, Candidate, candidates
from engine.customers.campaigns.occasions import record_occasions
from engine.specs.care import CampaignSpec, TriggerSpec
from engine.specs.pack import PackSpec
from engine.store.dialect import insert
from engine.store.models import CampaignRun, PackVersion
from engine.time.clock import require_aware

DEFAULT_LATE = timedelta(days=1)
LOOKBACK = timedelta(days=90)  # how far back a run after long downtime still looks
NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # ran_until of a campaign that has not run yet


@dataclass
class CampaignResult:
    campaign: str
    considered: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    skipped_locked: bool = False


def all_campaigns(pack: PackSpec) -> dict[str, CampaignSpec]:
    """The pack's campaigns, plus one per tier with an on-entry task (a survey) and one per
    tier with a welcome message (perks, onboarding, an offer; R-5.2)."""
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
    welcomes = {  # what the tier gives, told to the customer on entering
        f"welcome_{tier.id}": CampaignSpec(
            id=f"welcome_{tier.id}",
            title=tier.title,
            trigger=TriggerSpec(on="tier_entered", tier=tier.id),
            purpose=tier.welcome_purpose,
            message=tier.welcome,
        )
        for tier in pack.tiers.values()
        if tier.welcome is not None
    }
    return {**implicit, **welcomes, **pack.campaigns}


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
    batch: list[Candidate] = []
    for candidate in candidates(session, pack, campaign, start, now):
        batch.append(candidate)
        if len(batch) >= BATCH:
            _record(session, pack, version, campaign, batch, now, too_late, result)
            batch = []
    if batch:
        _record(session, pack, version, campaign, batch, now, too_late, result)
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


def _record(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    campaign: CampaignSpec,
    batch: list[Candidate],
    now: datetime,
    too_late: datetime | None,
    result: CampaignResult,
) -> None:
    considered, statuses = record_occasions(session, pack, version, campaign, batch, now, too_late)
    result.considered += considered
    result.statuses.update(statuses)
