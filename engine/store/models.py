"""The store's tables as typed SQLAlchemy 2 models: packs, records, history, SLA clocks, timers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    WriteOnlyMapped,
    column_property,
    mapped_column,
    relationship,
    validates,
)

from engine.access.crypto import lookup_hash
from engine.store.types import EncryptedText, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Model(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class PackVersion(Model):
    """An immutable published version of a pack: its YAML files, their data and who published it."""

    __tablename__ = "pack_versions"
    __table_args__ = (UniqueConstraint("pack", "version", name="uq_pack_versions_pack_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int]
    files: Mapped[dict[str, Any]]
    data: Mapped[dict[str, Any]]
    source_hash: Mapped[str] = mapped_column(String(64))
    published_by: Mapped[str] = mapped_column(String(128))
    published_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(String(500))


class PackDraft(Model):
    """The next version of a pack as operations staff edit it, before it is published."""

    __tablename__ = "pack_drafts"

    pack: Mapped[str] = mapped_column(String(64), primary_key=True)
    files: Mapped[dict[str, Any]]
    base_version: Mapped[int | None]
    updated_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime]


class Customer(Model):
    """Who a record is about; one customer, one view (R-1.7), with what care needs (R-5, R-8.3)."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    # Encrypted at rest; the contact is found by its keyed hash, never by SQL equality.
    name: Mapped[str | None] = mapped_column(EncryptedText())
    contact: Mapped[str | None] = mapped_column(EncryptedText())
    contact_hash: Mapped[str | None] = mapped_column(String(64), index=True)
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
    created_at: Mapped[datetime]

    @validates("contact")
    def _hash_contact(self, _key: str, value: str | None) -> str | None:
        """Keep the lookup hash in step with the contact, whoever sets it."""
        self.contact_hash = lookup_hash(value)
        return value


class Order(Model):
    """A purchase or order of a customer, pushed by an integration (campaigns use them, R-5.3)."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("customer_id", "external_id", name="uq_orders_external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(128))
    amount: Mapped[float]
    currency: Mapped[str] = mapped_column(String(3))
    ordered_at: Mapped[datetime] = mapped_column(index=True)
    shipped_at: Mapped[datetime | None] = mapped_column(index=True)
    items: Mapped[list[Any]]
    created_at: Mapped[datetime]


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


class ApiToken(Model):
    """A per-integration API token: only its hash is stored; shown once, revocable, scoped."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


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


class Record(Model):
    """A running instance of a pack's record type, pinned to the version it started on."""

    __tablename__ = "records"
    __table_args__ = (
        # The work queue: open records by urgency, VIPs first, then the nearest deadline,
        # records without one last. `next_deadline IS NULL` is spelled out rather than left to
        # NULLS LAST, which SQLite's index order cannot give: it sorted a whole priority group.
        Index(
            "ix_records_queue",
            "is_open",
            "priority_rank",
            "tier_rank",
            text("(next_deadline IS NULL)"),
            "next_deadline",
            "id",
        ),
        Index("ix_records_pack_stage", "pack", "record_type", "stage", "is_open"),
        # Dashboards, reviews and monitors aggregate the records received in a period: the
        # columns they group and filter by ride along, so those statements read the index only.
        Index(
            "ix_records_received",
            "received_at",
            "pack",
            "record_type",
            "channel",
            "category",
            "department",
            "closed_at",
        ),
        # The daily rollup finds the days touched since it last ran: `updated_at` moves whenever
        # the record, its SLA clocks or its satisfaction answer change.
        Index("ix_records_updated", "updated_at", "pack", "received_at"),
        # A channel's own message id (a chat id, a call id) deduplicates pushed records.
        UniqueConstraint("pack", "channel", "external_id", name="uq_records_external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_version_id: Mapped[int] = mapped_column(ForeignKey("pack_versions.id"), index=True)
    pack: Mapped[str] = mapped_column(String(64))
    record_type: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(64))
    stage_kind: Mapped[str] = mapped_column(String(16))
    is_open: Mapped[bool] = mapped_column(default=True)
    priority: Mapped[str] = mapped_column(String(32))
    priority_rank: Mapped[int]
    # 0 for customers served first (VIP, high value: ), 1 for everyone else.
    tier_rank: Mapped[int] = mapped_column(default=1, server_default="1")
    channel: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(128), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    fields: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    next_deadline: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(String(128))
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": row_version}

    # Loaded on use (from the identity map after the first): joining its JSON files into every
    # record row halved the speed of a queue page.
    pack_version: Mapped[PackVersion] = relationship(lazy="select")
    customer: Mapped[Customer | None] = relationship()
    events: WriteOnlyMapped[RecordEvent] = relationship(
        back_populates="record", order_by="RecordEvent.id"
    )
    clocks: Mapped[list[SlaClock]] = relationship(
        back_populates="record", order_by="SlaClock.id", lazy="selectin"
    )


class RecordEvent(Model):
    """Append-only history: who did what to a record, when, from which stage to which."""

    __tablename__ = "record_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(96))
    transition: Mapped[str | None] = mapped_column(String(64))
    from_stage: Mapped[str | None] = mapped_column(String(64))
    to_stage: Mapped[str | None] = mapped_column(String(64))
    changes: Mapped[dict[str, Any]]
    # The timer whose firing this event is: unique, so no timer can take effect twice.
    timer_id: Mapped[int | None] = mapped_column(ForeignKey("timers.id"), unique=True)

    record: Mapped[Record] = relationship(back_populates="events")


class SlaClock(Model):
    """One SLA target of one record: budget, working time used, pauses, deadline and outcome."""

    __tablename__ = "sla_clocks"
    __table_args__ = (UniqueConstraint("record_id", "target", name="uq_sla_clocks_record_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    target: Mapped[str] = mapped_column(String(64))
    calendar: Mapped[str] = mapped_column(String(64))
    working: Mapped[bool]
    budget_seconds: Mapped[float]
    warning_fraction: Mapped[float]
    started_at: Mapped[datetime]
    running_since: Mapped[datetime | None]
    consumed_seconds: Mapped[float] = mapped_column(default=0.0)
    warning_at: Mapped[datetime | None]
    deadline: Mapped[datetime | None]
    warned_at: Mapped[datetime | None]
    met_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]

    record: Mapped[Record] = relationship(back_populates="clocks")


class Timer(Model):
    """Something due at a time (SLA warning, breach, escalation, follow-up), claimed by a sweep."""

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    clock_id: Mapped[int | None] = mapped_column(ForeignKey("sla_clocks.id"))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    step: Mapped[int | None]
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))

    # Set with the objects, so a new record, its clocks and timers insert in one flush.
    record: Mapped[Record] = relationship()
    clock: Mapped[SlaClock | None] = relationship()


class Notification(Model):
    """An outbox row: someone must be told something about a record (escalations, follow-ups)."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_pending", "delivered_at", "id"),
        UniqueConstraint("timer_id", "audience", name="uq_notifications_timer_audience"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    created_at: Mapped[datetime]
    audience: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(96))
    detail: Mapped[dict[str, Any]]
    delivered_at: Mapped[datetime | None]
    timer_id: Mapped[int | None] = mapped_column(ForeignKey("timers.id"))


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


class Team(Model):
    """A group of agents serving a department, with how records are handed out (R-2.2, R-2.3)."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    department: Mapped[str | None] = mapped_column(String(64), index=True)
    # pull: agents take next; round_robin; least_open: fewest open records, within capacity
    assign_method: Mapped[str] = mapped_column(String(16), default="pull")
    last_assigned: Mapped[str | None] = mapped_column(String(128))


class User(Model):
    """Someone who signs in: an agent, a supervisor or an operations person."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    capacity: Mapped[int] = mapped_column(default=20)
    categories: Mapped[list[Any]]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # Raised by "sign out everywhere": sessions signed in under an older generation are void.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    team: Mapped[Team | None] = relationship(lazy="joined")


class SignInFailure(Model):
    """A failed sign-in, kept in the database so throttling holds across processes (ASVS 6.3)."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_who", "username", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class AuditEntry(Model):
    """Who did something sensitive, when: revealing personal data, managing users (R-8.3)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]]


class SchedulerHeartbeat(Model):
    """One row per scheduler process: when it last swept and what it did, for `--status`."""

    __tablename__ = "scheduler_heartbeats"

    worker: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[datetime]
    last_sweep_at: Mapped[datetime | None]
    last_fired: Mapped[int] = mapped_column(default=0)
    last_failed: Mapped[int] = mapped_column(default=0)
    last_duration_ms: Mapped[float] = mapped_column(default=0.0)
    total_fired: Mapped[int] = mapped_column(default=0)


# --- Satisfaction, early warning and improvement (issue #8) ----------------------------------


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


class EarlyWarning(Model):
    """A warning a monitor or a member of staff raised (R-6.1, R-6.2), handled as a record (R-6.3).

    At most one open warning per pack, monitor and scope: a monitor that keeps firing raises
    the level of the open one instead of adding another.
    """

    __tablename__ = "early_warnings"
    __table_args__ = (
        Index(
            "uq_early_warnings_open",
            "pack",
            "monitor",
            "scope",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(String(64))
    monitor: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))  # monitor | staff
    level: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None]
    reference: Mapped[float | None]
    raised_by: Mapped[str] = mapped_column(String(128))
    opened_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    escalated_at: Mapped[datetime | None]
    notified_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"), index=True)

    record: Mapped[Record | None] = relationship()


class ImprovementAction(Model):
    """A change a department makes, the metric it should move, before and after (R-7)."""

    __tablename__ = "improvement_actions"
    __table_args__ = (Index("ix_improvement_actions_due", "measured_at", "deadline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(128))
    deadline: Mapped[datetime]
    metric: Mapped[str] = mapped_column(String(64))
    window_days: Mapped[int]
    value_before: Mapped[float | None]
    value_after: Mapped[float | None]
    measured_at: Mapped[datetime | None]
    warning_id: Mapped[int | None] = mapped_column(ForeignKey("early_warnings.id"), index=True)
    category: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class Article(Model):
    """A knowledge-base article as it reads now; each save also keeps an ArticleVersion."""

    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    # Markdown, rendered with raw HTML escaped wherever it is shown.
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(128))
    # Comma-separated, as operations staff type them.
    tags: Mapped[str | None] = mapped_column(String(500))
    # draft, published or retired: only published articles are searched and answered.
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    version: Mapped[int] = mapped_column(default=0)
    updated_by: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime]

    versions: Mapped[list[ArticleVersion]] = relationship(
        back_populates="article", order_by="ArticleVersion.version"
    )

    def __str__(self) -> str:
        return self.title


class ArticleVersion(Model):
    """An article as one save left it: never changed, so any earlier text can be read again."""

    __tablename__ = "kb_article_versions"
    __table_args__ = (
        UniqueConstraint("article_id", "version", name="uq_kb_article_versions_article_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(128))
    tags: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))
    saved_by: Mapped[str] = mapped_column(String(128))
    saved_at: Mapped[datetime]

    article: Mapped[Article] = relationship(back_populates="versions")


class KnownProblemLink(Model):
    """One record is an instance of one known problem: the record id is the key."""

    __tablename__ = "known_problem_links"

    # A link table, not a column on records: the hot records table stays as it is.
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("known_problems.id"), index=True)
    linked_by: Mapped[str] = mapped_column(String(128))
    linked_at: Mapped[datetime]


class KnownProblem(Model):
    """A problem seen before, with its solution; records are linked to it (R-2.1, R-4.2)."""

    __tablename__ = "known_problems"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    symptoms: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(128))
    # open while the cause is being fixed, fixed once it no longer recurs.
    status: Mapped[str] = mapped_column(String(16), default="open")
    updated_by: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime]
    # How many records are this problem: the review's frequent problems.
    record_count: Mapped[int] = column_property(
        select(func.count(KnownProblemLink.record_id))
        .where(KnownProblemLink.problem_id == id)
        .correlate_except(KnownProblemLink)
        .scalar_subquery()
    )

    def __str__(self) -> str:
        return self.title


class SynonymGroup(Model):
    """Words that mean the same to a customer (快递, 物流, 配送), kept by operations staff."""

    __tablename__ = "kb_synonyms"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Separated by commas or spaces; a query naming one of them also looks for the others.
    words: Mapped[str] = mapped_column(String(500))
    updated_by: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime]

    def __str__(self) -> str:
        return self.words


class SearchDoc(Model):
    """What search reads: an article, known problem or resolved case as segmented tokens.

    `title_tokens` and `body_tokens` hold jieba's words joined by spaces, so
    SQLite FTS5 (a table `search_fts_<kind>` per kind, kept in step by triggers)
    and PostgreSQL (a stored `search_vector` tsvector with a partial GIN index
    per kind) both split on spaces. Both live only in migration 0010: neither
    dialect can declare the other's.
    """

    __tablename__ = "search_docs"
    __table_args__ = (UniqueConstraint("kind", "ref_id", name="uq_search_docs_kind_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    solution: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(128))
    title_tokens: Mapped[str] = mapped_column(Text)
    body_tokens: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class DailyRollup(Model):
    """The additive parts of every dashboard figure for one pack, received day and group.

    Sums and counts, never averages, so any range of days and any grouping adds up to the
    figures `engine.kpis.report` computes from the records themselves. A row holds the record
    parts (volume, closings, FCR), the SLA clock parts (clock hours, SLA attainment), or, with
    an `answer_day`, the parts of the answers given that day (the CSAT per day is by the day
    of the answer); the other columns are 0, so every column sums over all rows.
    Written by `engine.rollup` for the days `RollupDay` lists; read together with them.
    """

    __tablename__ = "daily_rollup"
    __table_args__ = (Index("ix_daily_rollup_day", "pack", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(String(64))
    day: Mapped[date]  # the day the records were received, in the pack's reporting zone
    record_type: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(64))
    answer_day: Mapped[date | None]
    records: Mapped[int] = mapped_column(default=0)
    closed: Mapped[int] = mapped_column(default=0)
    resolution_seconds: Mapped[float] = mapped_column(default=0.0)
    solved: Mapped[int] = mapped_column(default=0)
    solved_first: Mapped[int] = mapped_column(default=0)
    response_met: Mapped[int] = mapped_column(default=0)
    response_seconds: Mapped[float] = mapped_column(default=0.0)
    handling_met: Mapped[int] = mapped_column(default=0)
    handling_seconds: Mapped[float] = mapped_column(default=0.0)
    sla_decided: Mapped[int] = mapped_column(default=0)
    sla_kept: Mapped[int] = mapped_column(default=0)
    answers: Mapped[int] = mapped_column(default=0)
    satisfied: Mapped[int] = mapped_column(default=0)
    scored: Mapped[int] = mapped_column(default=0)
    score_sum: Mapped[int] = mapped_column(default=0)
    nps_answers: Mapped[int] = mapped_column(default=0)
    promoters: Mapped[int] = mapped_column(default=0)
    detractors: Mapped[int] = mapped_column(default=0)


class RollupDay(Model):
    """One rolled-up day of a pack: when, and read how (zone, targets, first-contact transitions).

    A day with no records has a row here and none in `daily_rollup`; a day without a row here
    is read from the records. Locked while its rollup rows are replaced, so two schedulers
    rolling the same day take turns instead of writing it twice.
    """

    __tablename__ = "rollup_days"

    pack: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    response_target: Mapped[str | None] = mapped_column(String(64))
    handling_target: Mapped[str | None] = mapped_column(String(64))
    first_contact: Mapped[list[Any]]
    # The scheduler's time when it read the day: changes from then on make the day stale.
    rolled_at: Mapped[datetime]
