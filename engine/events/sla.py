"""Events of SLA clocks and follow-ups (time/), as a record moves and as timers fire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.events.base import Event
from engine.time.clock import iso


@dataclass(frozen=True)
class SlaReplanned(Event):
    """The record changed (triage set the priority, R-2.1; a corrected channel, R-2.5) and the
    clock took another SLA term, with the time already used carried over."""

    target: str
    old_priority: str | None
    new_priority: str
    deadline: datetime | None
    old_term: str | None = None
    new_term: str | None = None
    used_seconds: int | None = None

    @property
    def kind(self) -> str:
        return f"sla.{self.target}.replanned"

    def changes(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "priority": [self.old_priority, self.new_priority],
            "deadline": iso(self.deadline),
        }
        if self.new_term is not None:
            shown |= {"term": [self.old_term, self.new_term], "used_seconds": self.used_seconds}
        return shown


@dataclass(frozen=True)
class SlaMet(Event):
    """The clock's target was met, on time or not; `used_seconds` of its budget counted."""

    target: str
    deadline: datetime | None
    on_time: bool
    used_seconds: int

    @property
    def kind(self) -> str:
        return f"sla.{self.target}.met"

    def changes(self) -> dict[str, Any]:
        return {
            "deadline": iso(self.deadline),
            "on_time": self.on_time,
            "used_seconds": self.used_seconds,
        }


@dataclass(frozen=True)
class SlaPaused(Event):
    """The record waits (on the customer, say): the clock stops counting until it resumes."""

    target: str
    used_seconds: int

    @property
    def kind(self) -> str:
        return f"sla.{self.target}.paused"

    def changes(self) -> dict[str, Any]:
        return {"used_seconds": self.used_seconds}


@dataclass(frozen=True)
class SlaStopped(SlaPaused):
    """The record closed before the target was met: the clock stops for good."""

    @property
    def kind(self) -> str:
        return f"sla.{self.target}.stopped"


@dataclass(frozen=True)
class SlaResumed(Event):
    """The record no longer waits: the clock counts again towards a new deadline."""

    target: str
    deadline: datetime | None

    @property
    def kind(self) -> str:
        return f"sla.{self.target}.resumed"

    def changes(self) -> dict[str, Any]:
        return {"deadline": iso(self.deadline)}


# --- timers firing (time/timers*.py) -------------------------------------------------------


@dataclass(frozen=True)
class Ladder:
    """What escalation steps did when they ran: whom they told, and a raised priority."""

    notified: tuple[str, ...]
    priority: tuple[str, str] | None = None  # (old, new)

    def changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {"notified": list(self.notified)}
        if self.priority is not None:
            changes["priority"] = list(self.priority)
        return changes


@dataclass(frozen=True)
class SlaWarned(Event):
    """The warning share of the budget is used (R-2.4); `ladder` is what its steps did, if any."""

    target: str
    deadline: datetime | None
    late_seconds: int
    ladder: Ladder | None = None

    @property
    def kind(self) -> str:
        return f"sla.{self.target}.warning"

    def changes(self) -> dict[str, Any]:
        ladder = self.ladder.changes() if self.ladder is not None else {}
        return {"deadline": iso(self.deadline), "late_seconds": self.late_seconds, **ladder}


@dataclass(frozen=True)
class SlaBreached(SlaWarned):
    """The deadline came and the target is not met."""

    @property
    def kind(self) -> str:
        return f"sla.{self.target}.breached"


@dataclass(frozen=True)
class Escalated(Event):
    """A ladder step some time after the warning or the breach ran."""

    target: str
    step: int
    late_seconds: int
    ladder: Ladder

    @property
    def kind(self) -> str:
        return f"sla.{self.target}.escalated"

    def changes(self) -> dict[str, Any]:
        return {"step": self.step, "late_seconds": self.late_seconds, **self.ladder.changes()}


@dataclass(frozen=True)
class FollowUpDue(Event):
    """A follow-up came due (R-3.2, R-3.3); `missed_periods` coalesced into this one."""

    name: str
    due_at: datetime
    late_seconds: int
    missed_periods: int = 0

    @property
    def kind(self) -> str:
        return f"followup.{self.name}"

    def changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {
            "due_at": self.due_at.isoformat(),
            "late_seconds": self.late_seconds,
        }
        if self.missed_periods:
            changes["missed_periods"] = self.missed_periods
        return changes


@dataclass(frozen=True)
class DeadlineExtended(Event):
    """A deadline moved, with the reason the customer is told (R-3.2); `override` when a
    supervisor allowed it later than the notice the pack asks for."""

    target: str
    old_deadline: datetime
    new_deadline: datetime
    reason: str
    override: bool = False

    @property
    def kind(self) -> str:
        return f"sla.{self.target}.extended"

    def changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {
            "deadline": [iso(self.old_deadline), iso(self.new_deadline)],
            "reason": self.reason,
        }
        if self.override:
            changes["override"] = True
        return changes
