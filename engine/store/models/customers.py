"""Customers and what care keeps of them: orders, tiers, history, campaigns, satisfaction."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, validates

from engine.access.crypto import lookup_hash
from engine.store.models.base import Model
from engine.store.types import EncryptedText


class Customer(Model):
    """Who a record is about; one customer, one view (R-1.7), with what care needs (R-5, R-8.3)."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    # Encrypted at rest; the contact is found by its keyed hash, never by SQL equality.
    name: Mapped[str | None] = mapped_column(EncryptedText())
    contact: Mapped[str | None] = mapped_column(EncryptedText())
    contact_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # Since when mail to the contact bounces, and the server's words (addresses masked):
    # the desk warns before an email reply (R-3.2's contacts must reach the customer).
    contact_failing_at: Mapped[datetime | None]
    contact_failing_reason: Mapped[str | None] = mapped_column(String(200))
    # A tier set by hand (API, import, admin); it wins over the pack's computed tier.
    tier: Mapped[str | None] = mapped_column(String(32))
    # A VIP's own agent: their records go straight to them.
    dedicated_agent: Mapped[str | None] = mapped_column(String(128))
    birthday: Mapped[date | None]
    # month * 100 + day of the birthday: "born today" is an index lookup, not a scan.
    birth_md: Mapped[int | None] = mapped_column(Integer, index=True)
    # IANA zone the customer lives in; campaigns fire at their local time (None: the pack's).
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Customer since (tenure for the high-value tier, R-5.1); None: since the first order.
    since: Mapped[date | None]
    # Consent per purpose, with when and where it was given or withdrawn.
    consent_service: Mapped[bool] = mapped_column(Boolean, default=True)
    consent_marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[datetime | None]
    consent_source: Mapped[str | None] = mapped_column(String(64))
    # The channel they want answers on (sms, wechat, email…), over the pack's choice (issue #20).
    preferred_channel: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]

    @validates("contact")
    def _hash_contact(self, _key: str, value: str | None) -> str | None:
        """Keep the lookup hash in step with the contact, whoever sets it; another contact is
        no longer known to fail."""
        hashed = lookup_hash(value)
        if hashed != self.contact_hash:
            self.contact_failing_at = self.contact_failing_reason = None
        self.contact_hash = hashed
        return value


class Order(Model):
    """A purchase or order of a customer, pushed by an integration (campaigns use them, R-5.3)."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("customer_id", "external_id", name="uq_orders_external_id"),
        # Each customer's orders in time order: churn, repurchase (first and last order per
        # customer) and the tiers' metrics group by it without a sort (R-4.3, R-5.1).
        Index("ix_orders_customer_time", "customer_id", "ordered_at"),
        # Orders in time order with their amount: CLTV's window is counted and summed from the
        # index alone, and every search by time still has its index (issue #25).
        Index("ix_orders_time_amount", "ordered_at", "amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(128))
    amount: Mapped[float]
    currency: Mapped[str] = mapped_column(String(3))
    ordered_at: Mapped[datetime]
    shipped_at: Mapped[datetime | None] = mapped_column(index=True)
    items: Mapped[list[Any]]
    created_at: Mapped[datetime]


class CustomerOrderStats(Model):
    """Each customer's orders in one row: first and last order time, count and spend.

    Kept in step wherever orders are written (engine/customers/orderstats.py), so churn,
    repurchase and referral read one row per customer instead of grouping every order on each
    dashboard load (issue #25; docs/economics.md). A customer without orders has no row.
    """

    __tablename__ = "customer_order_stats"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    first_order_at: Mapped[datetime]
    # Indexed: a moment before someone's last order (a past period) reads their orders instead.
    last_order_at: Mapped[datetime] = mapped_column(index=True)
    order_count: Mapped[int]
    spend: Mapped[float]


class CustomerTier(Model):
    """A customer's tier in one pack as its rules computed it, and the rule that matched (R-5.1)."""

    __tablename__ = "customer_tiers"
    __table_args__ = (Index("ix_customer_tiers_pack_tier", "pack", "tier"),)

    pack: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    tier: Mapped[str | None] = mapped_column(String(32))
    rule: Mapped[str | None] = mapped_column(String(300))
    # Kept for recomputing one customer between full runs (the percentile needs everyone).
    spend_percentile: Mapped[float] = mapped_column(default=0.0)
    changed_at: Mapped[datetime]


class CustomerEvent(Model):
    """A customer's history: tier changes with the rule that matched, consent changes."""

    __tablename__ = "customer_events"
    __table_args__ = (Index("ix_customer_events_customer", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    pack: Mapped[str | None] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(String(64))
    new_value: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str | None] = mapped_column(String(300))


class CampaignOccasion(Model):
    """One campaign occasion of one customer: the unique key that makes it happen once (R-5.3)."""

    __tablename__ = "campaign_occasions"
    __table_args__ = (
        UniqueConstraint(
            "pack", "campaign", "customer_id", "occasion", name="uq_campaign_occasions_once"
        ),
        Index("ix_campaign_occasions_work", "pack", "campaign", "status", "id"),
        Index("ix_campaign_occasions_customer", "customer_id", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(String(64))
    campaign: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    # What makes it one occasion: the birthday's year, the holiday's date, the order's id.
    occasion: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    # Outside the customer's quiet hours; the message waits in the outbox until then.
    send_at: Mapped[datetime]
    # pending -> done; or no_consent, capped, missed: decided once, kept for the audit.
    status: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"))
    created_at: Mapped[datetime]


class CampaignRun(Model):
    """How far a campaign has looked: the next run starts its window here (catch-up, R-5.3)."""

    __tablename__ = "campaign_runs"

    pack: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign: Mapped[str] = mapped_column(String(64), primary_key=True)
    ran_until: Mapped[datetime]


class SatisfactionAnswer(Model):
    """A customer's answer to the satisfaction question of one record, given once (R-3.3, R-4.1)."""

    __tablename__ = "satisfaction_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: a second answer, by the link or by an agent, is refused, not stored.
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), unique=True)
    score: Mapped[int | None]
    nps: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    via: Mapped[str] = mapped_column(String(16))  # agent | link
    actor: Mapped[str] = mapped_column(String(128))
    answered_at: Mapped[datetime] = mapped_column(index=True)
