"""Records and what hangs off each: history, SLA clocks, timers, notifications (the hot tables)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from engine.store.models.base import Model
from engine.store.types import EncryptedJSON

if TYPE_CHECKING:
    from engine.store.models.customers import Customer
    from engine.store.models.packs import PackVersion


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
        # The queue by nearest deadline, none last (`finder.sort_keys`, issue #21): the CAST is
        # the finder's own expression, so both databases read the index instead of sorting.
        Index(
            "ix_records_deadline",
            "is_open",
            text("CAST(next_deadline IS NULL AS INTEGER)"),
            "next_deadline",
            "id",
        ),
        # The queue filtered by one priority, in the queue's order (issue #21): on the queue
        # index a P2 filter first skipped every open P0 and P1 record.
        Index(
            "ix_records_priority_queue",
            "is_open",
            "priority",
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
    # The fields that are not personal: plain JSON the queue, monitors and KPIs query in SQL.
    fields: Mapped[dict[str, Any]]
    # The fields the record type marks personal (`mask`, type `contact`), encrypted together
    # (R-8.3, issue #22 item 4). `engine.records.personal` splits and merges the two halves.
    private_fields: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())
    # The keyed hash of its contact: the desk finds a record by phone or address, exactly.
    contact_hash: Mapped[str | None] = mapped_column(String(64), index=True)
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
    # The SLA term that set its budget; None for clocks started before terms had names.
    term: Mapped[str | None] = mapped_column(String(64))
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
        Index("ix_notifications_user", "user_id", "id"),  # a follower's notices and unread count
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
    # A follower's own notice (audience `follower`, issue #21): shown on their notices page,
    # `delivered_at` set once they have seen it.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
