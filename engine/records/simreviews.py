"""The scheduled reviews in a rehearsal (issue #25 item 4, R-4.2): built at their moments in
virtual time, as the scheduler's reviews job would, and read back as the mail that went out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from engine.services import Services
from engine.specs.pack import PackSpec
from engine.store.models import OutboxMessage
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
    """The reviews' mail as queued: to, subject, the text part, in the order it was queued."""
    with services.session_factory() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "email").order_by(OutboxMessage.id)
        )
        return [
            {"to": m.recipient, "subject": m.subject, "body": m.body}
            for m in rows
            if m.payload.get("review")
        ]
