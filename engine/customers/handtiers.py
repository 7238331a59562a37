"""A tier set by hand, entered as a computed tier is (R-5.2): from the desk, the API or an import.

The campaigns read a `tier` event as the entry into a tier, so a tier set by hand writes one,
ruled `BY_HAND`, in each pack that declares the tier: its entry task and welcome then go out
once, and `candidates._tier_entries` lets the rules reaching the same tier later enter it no
second time. One call serves a customer saved at the desk and a chunk of 1,000 imported ones
alike, in two statements whatever the count: one SELECT of the computed tiers the change
starts from, one INSERT of every event (an import may bring 100,000 customers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from engine.customers.tiers import BY_HAND
from engine.specs.pack import PackSpec
from engine.store.models import CustomerEvent, CustomerTier

Change = tuple[str | None, str | None]  # the tier set by hand before, and after


def enter(
    session: Session, packs: Sequence[PackSpec], changes: Mapping[int, Change], now: datetime
) -> int:
    """Tier changes by hand (customer id → (old, new)) entered like computed ones; events written.

    From the tier the customer was in there: the old hand tier, else the computed one. Nothing
    when the customer was in that tier already (a file imported again), and nothing for a tier
    cleared: the computed tier underneath was entered when it was computed.
    """
    entering = {
        customer_id: (old, new)
        for customer_id, (old, new) in changes.items()
        if new is not None and new != old
    }
    declaring = [p for p in packs if any(new in p.tiers for _, new in entering.values())]
    if not declaring:
        return 0
    computed = _computed(session, [p.name for p in declaring], entering)
    rows = [
        {
            "customer_id": customer_id,
            "at": now,
            "kind": "tier",
            "pack": pack.name,
            "old_value": before,
            "new_value": new,
            "rule": BY_HAND,
        }
        for customer_id, (old, new) in entering.items()
        for pack in declaring
        if new in pack.tiers and (before := old or computed.get((customer_id, pack.name))) != new
    ]
    if rows:
        events: Table = CustomerEvent.__table__  # type: ignore[assignment]
        session.execute(insert(events), rows)
    return len(rows)


def _computed(
    session: Session, packs: list[str], entering: Mapping[int, Change]
) -> dict[tuple[int, str], str | None]:
    """(customer id, pack) → computed tier, for the customers who had no tier set by hand."""
    unset = [customer_id for customer_id, (old, _) in entering.items() if old is None]
    if not unset:
        return {}
    return {
        (customer_id, pack): tier
        for customer_id, pack, tier in session.execute(
            select(CustomerTier.customer_id, CustomerTier.pack, CustomerTier.tier).where(
                CustomerTier.customer_id.in_(unset), CustomerTier.pack.in_(packs)
            )
        )
    }
