"""Outgoing webhooks: record events that integrations subscribed to, queued in the outbox.

Each history event of a subscribed type becomes one outbox row per
subscription, in the same transaction as the event (so none is lost and none
is queued twice). The payload names the record but carries no personal data.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import iso
from engine.errors import InvalidInput, NotFound
from engine.store.models import OutboxMessage, Record, RecordEvent, WebhookSubscription

EVENT_TYPES = (
    "record.created",
    "record.transitioned",
    "sla.warning",
    "sla.breached",
    "followup.due",
)
_CACHE = "careloop.webhook_subscriptions"


def event_type(event: RecordEvent) -> str | None:
    """The public type of a history event, or None for those integrations are not told of."""
    kind = event.kind
    if kind.startswith("stage."):
        return "record.created" if event.from_stage is None else "record.transitioned"
    if kind.startswith("sla.") and kind.endswith(".warning"):
        return "sla.warning"
    if kind.startswith("sla.") and kind.endswith(".breached"):
        return "sla.breached"
    if kind.startswith("followup."):
        return "followup.due"
    return None


def enqueue(session: Session, record: Record, event: RecordEvent) -> None:
    """Queue the event for every active subscription to its type."""
    public = event_type(event)
    if public is None:
        return
    subscribers = [s for s in _subscriptions(session) if public in s.events]
    if not subscribers:
        return
    session.flush()
    payload = {
        "id": f"evt_{event.id}",
        "type": public,
        "occurred_at": iso(event.at),
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
            "kind": event.kind,
            "transition": event.transition,
            "from_stage": event.from_stage,
            "to_stage": event.to_stage,
        },
    }
    session.add_all(
        OutboxMessage(
            event_id=event.id,
            record_id=record.id,
            channel="hook",
            recipient=str(subscription.id),
            subject=public,
            body="",
            payload=payload,
            created_at=event.at,
            status="pending",
            attempts=0,
            next_attempt_at=event.at,
        )
        for subscription in subscribers
    )


def _subscriptions(session: Session) -> list[WebhookSubscription]:
    """Active subscriptions, read once per session: not once per event of a sweep."""
    cached: list[WebhookSubscription] | None = session.info.get(_CACHE)
    if cached is None:
        cached = list(
            session.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True)))
        )
        session.info[_CACHE] = cached
    return cached


def subscribe(
    session: Session, token_id: int, url: str, events: Iterable[str], now: datetime
) -> WebhookSubscription:
    """A new subscription with a fresh signing secret (returned once, to the caller)."""
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
