"""Followers of records (issue #21, item 2): staff told when a record they follow moves.

A follower is told of a stage change, a new owner or team, a new priority, a new customer
message and a missed deadline (a breach, an escalation), by the people and processes that make
them (not of their own doing). The telling is a `Notification` of audience `follower` for that
user, written by `journal.add_event` in the same transaction as the history line, as webhooks
are, or for a sweep's batch by `notice_rows` (one query, one insert); the notices page reads
them.
A notice names the event, never the record's field values or a message's text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from engine.store import dialect
from engine.store.models import Notification, Record, RecordEvent, RecordFollower, User

FOLLOWER = "follower"
# What followers are told of, besides stage changes after intake; the changes of these kinds
# name people, priorities and teams only, so the notice may carry them.
TOLD = ("assigned", "team.assigned", "priority.changed", "message.in")
SAFE_CHANGES = ("assigned", "team.assigned", "priority.changed")


def followers_of(session: Session, record_id: int) -> list[User]:
    """The record's followers, by name."""
    return list(
        session.scalars(
            select(User)
            .join(RecordFollower, RecordFollower.user_id == User.id)
            .where(RecordFollower.record_id == record_id)
            .order_by(User.display_name, User.username)
        )
    )


def usernames_of(session: Session, record_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each record's followers' usernames, for a whole page in one statement."""
    wanted = list(set(record_ids))
    found: dict[int, list[str]] = {i: [] for i in wanted}
    if wanted:
        rows = session.execute(
            select(RecordFollower.record_id, User.username)
            .join(User, User.id == RecordFollower.user_id)
            .where(RecordFollower.record_id.in_(wanted))
            .order_by(RecordFollower.record_id, User.username)
        )
        for record_id, username in rows:
            found[record_id].append(username)
    return found


def change(
    session: Session,
    record: Record,
    *,
    add: Iterable[User] = (),
    remove: Iterable[User] = (),
    now: datetime,
) -> tuple[list[str], list[str]]:
    """Add and remove followers; returns the usernames really added and removed.

    The caller has checked that each one added may see the record (`queue.may_see`).
    """
    current = {u.id for u in followers_of(session, record.id)}
    adding = {u.id: u for u in add}
    added = [u for uid, u in adding.items() if uid not in current]
    removed = [u for u in {u.id: u for u in remove}.values() if u.id in current]
    if added:  # following twice at once: the second insert does nothing
        rows = [{"record_id": record.id, "user_id": u.id, "created_at": now} for u in added]
        session.execute(
            dialect.insert(session, RecordFollower).values(rows).on_conflict_do_nothing()
        )
    if removed:
        session.execute(
            delete(RecordFollower).where(
                RecordFollower.record_id == record.id,
                RecordFollower.user_id.in_([u.id for u in removed]),
            )
        )
    return [u.username for u in added], [u.username for u in removed]


def told_of(kind: str, from_stage: str | None) -> bool:
    """Stage changes, owner, team and priority, customer messages, and the SLA going wrong
    (a breach, an escalation), which no person did and which a follower most wants to know."""
    if kind.startswith("sla."):
        return kind.endswith((".breached", ".escalated"))
    return kind in TOLD or (kind.startswith("stage.") and from_stage is not None)


def tell(session: Session, record: Record, event: RecordEvent) -> None:
    """A notice for each active follower of the record but the one who did it (one query, and
    only for the kinds followers are told of on a record that already has an id). Whether
    they may still see the record is asked when the notices are shown."""
    if record.id is None or not told_of(event.kind, event.from_stage):
        return
    said = {"kind": event.kind, "actor": event.actor, "changes": event.changes}
    for user in followers_of(session, record.id):
        notice = _notice(record.id, event.at, said, user.id, user.username)
        if user.active and notice is not None:
            session.add(Notification(**notice))


def notice_rows(session: Session, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The followers' notices of a batch's events (the scheduler's sweep), as rows to insert:
    one query for the followers of every record the batch told of, none when it told of none."""
    told = [e for e in events if told_of(e["kind"], e["from_stage"])]
    if not told:
        return []
    following = session.execute(
        select(RecordFollower.record_id, User.id, User.username)
        .join(User, User.id == RecordFollower.user_id)
        .where(RecordFollower.record_id.in_({e["record_id"] for e in told}), User.active)
    ).all()
    by_record: dict[int, list[tuple[int, str]]] = {}
    for record_id, user_id, username in following:
        by_record.setdefault(record_id, []).append((user_id, username))
    return [
        row
        for e in told
        for user_id, username in by_record.get(e["record_id"], [])
        if (row := _notice(e["record_id"], e["at"], e, user_id, username))
    ]


def _notice(
    record_id: int, at: datetime, event: dict[str, Any], user_id: int, username: str
) -> dict[str, Any] | None:
    """One follower's notice of one event, or None for the follower who did it."""
    if username == event["actor"]:
        return None
    detail: dict[str, Any] = {"kind": event["kind"], "actor": event["actor"]}
    if event["kind"] in SAFE_CHANGES:
        detail["changes"] = dict(event["changes"] or {})
    return {
        "record_id": record_id,
        "created_at": at,
        "audience": FOLLOWER,
        "subject": f"follow.{event['kind']}"[:96],
        "detail": detail,
        "user_id": user_id,
    }


def notices(
    session: Session, user: User, visible: Sequence[ColumnElement[bool]], *, limit: int = 50
) -> list[tuple[Notification, Record]]:
    """The user's newest notices on records they may still see (`visible`: the queue's rule)."""
    rows = session.execute(
        select(Notification, Record)
        .join(Record, Record.id == Notification.record_id)
        .where(Notification.user_id == user.id, *visible)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return [(notice, record) for notice, record in rows]


def unread(session: Session, user_id: int) -> int:
    """How many notices the user has not seen yet (the header's count)."""
    return int(
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user_id, Notification.delivered_at.is_(None)
            )
        )
        or 0
    )


def mark_seen(session: Session, user_id: int, now: datetime) -> None:
    """Every notice of the user is delivered: they have seen the page listing them."""
    session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.delivered_at.is_(None))
        .values(delivered_at=now)
    )
