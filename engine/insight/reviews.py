"""When a review is due and how it goes out (R-4.2): once per pack, kind and period.

`latest_due` is pure: the last scheduled moment at or before `now` in the pack's zone, and
the period it reviews (the last full week or month before that day, as the dashboard's `week`
and `month` read). Missed moments coalesce into the latest, as the scheduler's jobs do; a
moment before the pack was first published is never due, so a new pack mails no old review.
`queue` writes the `ReviewRun` row and one outbox email per recipient in the caller's
transaction: the row's unique key makes a second scheduler's commit fail, with its mail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.insight import reviewdoc
from engine.specs.pack import PackSpec
from engine.specs.reviews import ReviewSchedule
from engine.store.models import OutboxMessage, ReviewRun


@dataclass(frozen=True)
class Due:
    """A review due: its kind, the first and last day it covers, and when it was due."""

    kind: str
    first: date
    last: date
    due_at: datetime


def latest_due(schedule: ReviewSchedule, tz: ZoneInfo, now: datetime) -> Due:
    today = now.astimezone(tz).date()
    if schedule.kind == "weekly":
        day = today - timedelta(days=(today.weekday() - schedule.weekday) % 7)
        if datetime.combine(day, schedule.at, tz) > now:
            day -= timedelta(days=7)
        monday = day - timedelta(days=day.weekday() + 7)
        return Due(
            "weekly", monday, monday + timedelta(days=6), datetime.combine(day, schedule.at, tz)
        )
    day = today.replace(day=schedule.day)
    if datetime.combine(day, schedule.at, tz) > now:
        day = (day.replace(day=1) - timedelta(days=1)).replace(day=schedule.day)
    last = day.replace(day=1) - timedelta(days=1)
    return Due("monthly", last.replace(day=1), last, datetime.combine(day, schedule.at, tz))


def due_reviews(session: Session, pack: PackSpec, now: datetime, since: datetime) -> list[Due]:
    """The reviews of the pack due at `now` and not built yet (at most one per kind)."""
    found = []
    for schedule in pack.insight.reviews.schedules:
        due = latest_due(schedule, pack.timezone, now)
        if due.due_at < since:
            continue
        built = session.scalar(
            select(ReviewRun.id).where(
                ReviewRun.pack == pack.name,
                ReviewRun.kind == due.kind,
                ReviewRun.period_start == due.first,
            )
        )
        if built is None:
            found.append(due)
    return found


def addresses(pack: PackSpec) -> list[str]:
    """The recipients' email addresses: an audience stands for its `messages.recipients`."""
    found: list[str] = []
    for name in pack.insight.reviews.recipients:
        audience = pack.recipients.get(name)
        for address in audience.emails if audience is not None else (name,):
            if address not in found:
                found.append(address)
    return found


def queue(session: Session, pack: PackSpec, due: Due, now: datetime) -> ReviewRun:
    """Build the review and queue it to every recipient; the caller commits (or loses a race)."""
    tz = pack.timezone
    start = datetime.combine(due.first, datetime.min.time(), tz)
    end = datetime.combine(due.last + timedelta(days=1), datetime.min.time(), tz)
    label = f"{due.first.isoformat()} – {due.last.isoformat()}"
    document = reviewdoc.build(session, pack, start, end, now, label)
    kind = "周报" if due.kind == "weekly" else "月报"
    recipients = addresses(pack)
    run = ReviewRun(
        pack=pack.name,
        kind=due.kind,
        period_start=due.first,
        period_end=due.last,
        built_at=now,
        recipients=recipients,
        subject=f"{document.title} · {kind} · {label}",
        text_body=document.text(),
        html_body=document.html(),
    )
    session.add(run)
    session.flush()
    session.add_all(
        OutboxMessage(
            channel="email",
            recipient=address,
            subject=run.subject,
            body=run.text_body,
            payload={"pack": pack.name, "review": run.id, "html": run.html_body},
            created_at=now,
            next_attempt_at=now,
        )
        for address in recipients
    )
    return run
