"""The loyalty programme's ledger and who referred whom (R-5.4)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Model


class LoyaltyEntry(Model):
    """Points earned or spent by a customer in one pack: appended, never changed.

    The balance is the sum of unexpired entries, so expiry needs no job that rewrites rows,
    and the unique source makes awarding idempotent: a rerun of the award inserts nothing.
    """

    __tablename__ = "loyalty_ledger"
    __table_args__ = (
        UniqueConstraint("pack", "source_ref", name="uq_loyalty_ledger_source"),
        Index("ix_loyalty_ledger_balance", "pack", "customer_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    points: Mapped[int]
    reason: Mapped[str] = mapped_column(String(16))  # order | answer | referral
    # What earned them, once per pack: order:<id>, answer:<id>, referral:<referred customer id>.
    source_ref: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    expires_at: Mapped[datetime | None]


class CustomerReferral(Model):
    """A customer and who referred them, given once (R-4.4's referral rate, R-5.4's points)."""

    __tablename__ = "customer_referrals"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime]
