"""The scheduled reviews in a rehearsal (issue #25 item 4, R-4.2): built at their moments in
virtual time, as the scheduler's reviews job would, and read back as the mail that went out;
with the improvement actions frequent problems raised for their departments (R-7.2).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from engine.services import Services
from engine.specs.pack import PackSpec
from engine.store.models import ImprovementAction, OutboxMessage
from engine.time.clock import VirtualClock

MAX_DAYS = 400  # a rehearsal longer than this builds no later review


def moments(spec: PackSpec, after: datetime, until: datetime) -> list[datetime]:
    """Every review moment of the pack in (after, until], in order."""
    tz = spec.timezone
    first = after.astimezone(tz).date()
    days = min((until.astimezone(tz).date() - first).days, MAX_DAYS)
    found = set()
    for offset in range(days + 1):
        day = first + timedelta(days=offset)
        for schedule in spec.insight.reviews.schedules:
            on = (
                day.weekday() == schedule.weekday
                if schedule.kind == "weekly"
                else day.day == schedule.day
            )
            moment = datetime.combine(day, schedule.at, tz)
            if on and after < moment <= until:
                found.add(moment)
    return sorted(found)


def review_until(
    services: Services,
    clock: VirtualClock,
    spec: PackSpec,
    until: datetime,
    fire_until: Callable[[Services, VirtualClock, datetime], None],
) -> None:
    """Build the reviews due by `until`, each at its own moment, timers fired up to it first."""
    for moment in moments(spec, clock.now(), until):
        fire_until(services, clock, moment)
        clock.set(moment)
        services.send_reviews()


def mailed(services: Services) -> list[dict[str, Any]]:
    """The reviews' and the departments' mail (R-7.2) as queued: to, subject, the text part,
    in the order it was queued."""
    with services.session_factory() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "email").order_by(OutboxMessage.id)
        )
        return [
            {"to": m.recipient, "subject": m.subject, "body": m.body}
            for m in rows
            if m.payload.get("review") or m.payload.get("action")
        ]


def actions(services: Services, spec: PackSpec) -> list[dict[str, Any]]:
    """The improvement actions frequent problems raised: department, category, title, when."""
    with services.session_factory() as session:
        rows = session.scalars(select(ImprovementAction).order_by(ImprovementAction.id))
        return [
            {
                "department": a.department,
                "category": a.category,
                "title": a.title,
                "owner": a.owner,
                "at": a.created_at.astimezone(spec.timezone).isoformat(),
            }
            for a in rows
            if a.department is not None
        ]
