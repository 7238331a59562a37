"""Outgoing webhooks: record events that integrations subscribed to, queued in the outbox.

Each history event of a subscribed type becomes one outbox row per
subscription, in the same transaction as the event (so none is lost and none
is queued twice). The payload names the record but carries no personal data.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.delivery.outbound import OutboundPolicy
from engine.errors import InvalidInput, NotFound
from engine.records.rows import RecordView
from engine.store.models import OutboxMessage, Record, RecordEvent, WebhookSubscription
from engine.store.rowcache import RowCache
from engine.time.clock import iso

EVENT_TYPES = (
    "record.created",
    "record.transitioned",
    "sla.warning",
    "sla.breached",
    "followup.due",
)
STRICT = OutboundPolicy()


@dataclass(frozen=True, slots=True)
class Subscriber:
    """What intake and the sweep need of an active subscription: whom to queue, for what."""

    id: int
    events: frozenset[str]


# Active subscriptions per database, read at most every few seconds instead of once a
# request (issue #24): a subscription made or ended in another process is honoured within
# this many seconds, one made here at once.
SUBSCRIBERS_TTL = 5.0
_subscribers: RowCache[str, tuple[Subscriber, ...]] = RowCache(
    WebhookSubscription.__tablename__, SUBSCRIBERS_TTL
)


def event_type(event: RecordEvent) -> str | None:
    """The public type of a history event, or None for those integrations are not told of."""
    return public_type(event.kind, event.from_stage)


def public_type(kind: str, from_stage: str | None) -> str | None:
    """`event_type` from an event's kind and former stage, before the event is a row."""
    if kind.startswith("stage."):
        return "record.created" if from_stage is None else "record.transitioned"
    if kind.startswith("sla.") and kind.endswith(".warning"):
        return "sla.warning"
    if kind.startswith("sla.") and kind.endswith(".breached"):
        return "sla.breached"
    if kind.startswith("followup."):
        return "followup.due"
    return None


@dataclass(frozen=True)
class Hooks:
    """An event's outbox rows for its subscribers, built when it happened, waiting for its id."""

    subscriptions: tuple[int, ...]
    public: str
    record_id: int
    at: datetime
    body: dict[str, Any]  # the payload but its "id"

    def rows(self, event_id: int) -> list[dict[str, Any]]:
        payload = {"id": f"evt_{event_id}", **self.body}
        return [
            {
                "event_id": event_id,
                "record_id": self.record_id,
                "channel": "hook",
                "recipient": str(subscription),
                "subject": self.public,
                "body": "",
                "payload": payload,
                "created_at": self.at,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": self.at,
            }
            for subscription in self.subscriptions
        ]


def hooks_for(
    session: Session,
    record: RecordView,
    kind: str,
    at: datetime,
    *,
    transition: str | None = None,
    from_stage: str | None = None,
    to_stage: str | None = None,
) -> Hooks | None:
    """What subscribers are owed for an event of `kind` on `record` (whose id must be known)."""
    public = public_type(kind, from_stage)
    if public is None:
        return None
    subscribers = tuple(s.id for s in _subscriptions(session) if public in s.events)
    if not subscribers:
        return None
    body = {
        "type": public,
        "occurred_at": iso(at),
        "record": {
            "id": record.id,
            "pack": record.pack,
            "record_type": record.record_type,
            "stage": record.stage,
            "priority": record.priority,
            "channel": record.channel,
            "category": record.category,
            "department": record.department,
            "assignee": record.assignee,
            "external_id": record.external_id,
        },
        "data": {
            "kind": kind,
            "transition": transition,
            "from_stage": from_stage,
            "to_stage": to_stage,
        },
    }
    return Hooks(subscribers, public, record.id, at, body)


def enqueue(session: Session, record: Record, event: RecordEvent) -> None:
    """Queue the event for every active subscription to its type."""
    public = event_type(event)
    if public is None or not any(public in s.events for s in _subscriptions(session)):
        return
    session.flush()  # the record's id and the event's
    hooks = hooks_for(
        session,
        record,
        event.kind,
        event.at,
        transition=event.transition,
        from_stage=event.from_stage,
        to_stage=event.to_stage,
    )
    if hooks is not None:
        session.add_all(OutboxMessage(**row) for row in hooks.rows(event.id))


def _subscriptions(session: Session) -> tuple[Subscriber, ...]:
    """Active subscriptions, from the process's cache of this database's."""

    def load() -> tuple[Subscriber, ...]:
        rows = session.execute(
            select(WebhookSubscription.id, WebhookSubscription.events).where(
                WebhookSubscription.active.is_(True)
            )
        )
        return tuple(Subscriber(id, frozenset(events)) for id, events in rows)

    return _subscribers.get(str(session.get_bind().engine.url), load)


def subscribe(
    session: Session,
    token_id: int,
    url: str,
    events: Iterable[str],
    now: datetime,
    *,
    policy: OutboundPolicy = STRICT,
) -> WebhookSubscription:
    """A new subscription with a fresh signing secret (returned once, to the caller); a URL
    that points inside (loopback, private, metadata) is refused unless `policy` allows it."""
    events = sorted(set(events))
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown or not events:
        raise InvalidInput(
            f"events must be some of {', '.join(EVENT_TYPES)}",
            fields={"events": ", ".join(unknown) or "empty"},
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url must be an http(s) URL", fields={"url": url})
    policy.check_saved(url)
    subscription = WebhookSubscription(
        token_id=token_id,
        url=url,
        secret=secrets.token_hex(32),
        events=events,
        active=True,
        created_at=now,
    )
    session.add(subscription)
    session.flush()
    return subscription


def unsubscribe(session: Session, token_id: int, subscription_id: int) -> None:
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None or subscription.token_id != token_id or not subscription.active:
        raise NotFound(f"no subscription {subscription_id} of this token")
    subscription.active = False


def subscriptions_of(session: Session, token_id: int) -> list[WebhookSubscription]:
    return list(
        session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.token_id == token_id, WebhookSubscription.active.is_(True))
            .order_by(WebhookSubscription.id)
        )
    )


def target(session: Session, subscription_id: int) -> tuple[str, str] | None:
    """URL and secret for delivery, or None when the subscription was removed."""
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None or not subscription.active:
        return None
    return subscription.url, subscription.secret
