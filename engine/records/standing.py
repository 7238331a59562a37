"""A customer's tier in a pack, the one rule both intake and transitions apply (R-5.2).

The tier someone set by hand wins; else the tier the pack's rules computed
(`customers.tiers.recompute`). Where the computed tier comes from is the caller's: one
query for a single record, or a batch's dictionary read with one query for all.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.specs.pack import PackSpec
from engine.store.models import Customer


def tier_of(
    pack: PackSpec, customer: Customer | None, computed: Callable[[int], str | None]
) -> str | None:
    """The customer's tier in this pack: set by hand, else `computed(customer.id)`.

    A customer not yet written (no id) or a pack without tiers has only the hand-set one.
    """
    if customer is None:
        return None
    if customer.tier or customer.id is None or not pack.tiers:
        return customer.tier
    return computed(customer.id)
