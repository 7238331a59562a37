"""Customer tiers and care campaigns of a pack as frozen values (R-5.1–R-5.3).

Kept apart from `engine.spec` because they are about customers, not records:
a tier rule is a set of bounds on metrics the store computes in SQL, a
campaign an audience, a trigger and an action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any, Literal

from engine.specs.expressions import Expression
from engine.time.durations import Offset

RANGE_METRICS = (
    *("spend_percentile", "spend_12m", "orders_12m", "spend_growth", "renewal_rate"),
    "loyalty_points",
)
OFFSET_METRICS = ("tenure_at_least", "first_purchase_within", "inactive_for", "complained_within")
TRIGGERS = ("birthday", "holiday", "purchase", "shipment", "tier_entered")
Purpose = Literal["marketing", "service"]


@dataclass(frozen=True)
class Bounds:
    """min ≤ value < max; either may be open."""

    min: float | None = None
    max: float | None = None

    def text(self, metric: str) -> str:
        parts = []
        if self.min is not None:
            parts.append(f"{metric} ≥ {self.min:g}")
        if self.max is not None:
            parts.append(f"{metric} < {self.max:g}")
        return ", ".join(parts)


@dataclass(frozen=True)
class TierRule:
    """All of these hold: bounds on numeric metrics and offsets back from now."""

    ranges: dict[str, Bounds] = field(default_factory=dict)
    offsets: dict[str, Offset] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """How the rule reads in a customer's history: 'spend_percentile ≥ 0.9, …'."""
        parts = [b.text(m) for m, b in self.ranges.items()]
        parts += [f"{m} {o.text}" for m, o in self.offsets.items()]
        return ", ".join(parts)


@dataclass(frozen=True)
class TaskSpec:
    """A record for an agent about the customer: a proactive call, onboarding, a survey."""

    record_type: str
    values: dict[str, Any] = field(default_factory=dict)
    priority: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class TierSpec:
    id: str
    title: str
    rules: tuple[TierRule, ...] = ()  # none: the tier is only set by hand
    serve_first: bool = False
    department: str | None = None
    on_enter: TaskSpec | None = None
    # A message to the customer on entering the tier (perks, onboarding, an offer), and the
    # consent it needs.
    welcome: str | None = None
    welcome_purpose: Purpose = "marketing"


@dataclass(frozen=True)
class TriggerSpec:
    on: str
    at: time | None = None
    calendar: str | None = None
    after: Offset | None = None
    tier: str | None = None


@dataclass(frozen=True)
class CampaignSpec:
    id: str
    title: str
    trigger: TriggerSpec
    purpose: Purpose
    tiers: frozenset[str] = frozenset()
    when: Expression | None = None
    message: str | None = None
    task: TaskSpec | None = None
    quiet_hours: tuple[time, time] | None = None
    cap: tuple[int, Offset] | None = None
    send_late_within: Offset | None = None
