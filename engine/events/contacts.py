"""Events of the promised customer contacts (issue #20, R-3.2, R-3.3): each sent or skipped.

A skip says why in a word the timeline translates (`SKIP_REASONS`), with the detail the engine
had (which stage the record moved on to, what the channel refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.events.base import Event

SKIP_REASONS = ("no_customer", "no_consent", "replied", "moved_on", "unreachable")


@dataclass(frozen=True)
class ContactSent(Event):
    """A promised contact went to the customer as message `message` of the thread."""

    contact: str
    channel: str
    message: int

    @property
    def kind(self) -> str:
        return "contact.sent"

    def changes(self) -> dict[str, Any]:
        return {"contact": self.contact, "channel": self.channel, "message": self.message}


@dataclass(frozen=True)
class ContactSkipped(Event):
    """A promised contact was not sent, and why: one of `SKIP_REASONS`, with its detail."""

    contact: str
    reason: str
    detail: str = ""

    @property
    def kind(self) -> str:
        return "contact.skipped"

    def changes(self) -> dict[str, Any]:
        changes = {"contact": self.contact, "reason": self.reason}
        if self.detail:
            changes["detail"] = self.detail[:300]
        return changes


@dataclass(frozen=True)
class SolutionConfirmed(Event):
    """The customer said, on their tracking page, that the solution suits them (R-3.2)."""

    via: str = "portal"

    @property
    def kind(self) -> str:
        return "solution.confirmed"

    def changes(self) -> dict[str, Any]:
        return {"via": self.via}
