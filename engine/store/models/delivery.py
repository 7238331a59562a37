"""What goes out and comes back: the outbox, webhook subscriptions, idempotent POST answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Model


class OutboxMessage(Model):
    """A message to send (email, webhook): written with the change, sent later with retries."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
        UniqueConstraint("notification_id", "channel", "recipient", name="uq_outbox_messages_once"),
        UniqueConstraint("event_id", "channel", "recipient", name="uq_outbox_messages_event_once"),
        UniqueConstraint(
            "occasion_id", "channel", "recipient", name="uq_outbox_messages_occasion_once"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What caused it: a notification for people, or a history event for subscribed integrations.
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("record_events.id"))
    # ... or a campaign's occasion, which has a customer but no record.
    occasion_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_occasions.id"))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


class WebhookSubscription(Model):
    """An integration's subscription to record events, delivered through the outbox, signed."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(128))
    events: Mapped[list[Any]]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class IdempotencyKey(Model):
    """The first answer to a POST with an `Idempotency-Key`, replayed for the same body."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("token_id", "key", name="uq_idempotency_keys_token_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
