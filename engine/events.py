"""What happened to a record, as values: the outcomes the engine reports (cosmicpython events).

Each event names its history `kind` in one place, its `kind` property. Those strings are
stored data: the timeline, webhook subscriptions (`delivery.webhooks.public_type`) and
reports all read them, so an event's kind must never change once records carry it.
`records.journal` turns an event into its history row (`kind`, `changes` and, for a
stage, where from and by which transition); the code that decides builds the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from engine.time.clock import iso


class Event:
    """An outcome worth a line in a record's history."""

    @property
    def kind(self) -> str:
        raise NotImplementedError

    def changes(self) -> dict[str, Any]:
        """The history row's `changes`: what the timeline and webhooks show of the event."""
        return {}

    @property
    def transition(self) -> str | None:
        return None

    @property
    def from_stage(self) -> str | None:
        return None

    @property
    def to_stage(self) -> str | None:
        return None


# --- stages and people (records/) ---------------------------------------------------------


@dataclass(frozen=True)
class StageEntered(Event):
    """The record came into `stage`: created, moved by a transition, migrated or closed.

    `changes` are the field values it was created with, or {field: [old, new]} a
    transition wrote; `via` the transition (`duplicate` and `migrated` are the engine's own).
    """

    stage: str
    values: Mapping[str, Any] = field(default_factory=dict)
    left: str | None = None
    via: str | None = None

    @property
    def kind(self) -> str:
        return f"stage.{self.stage}"

    def changes(self) -> dict[str, Any]:
        return dict(self.values)

    @property
    def transition(self) -> str | None:
        return self.via

    @property
    def from_stage(self) -> str | None:
        return self.left

    @property
    def to_stage(self) -> str | None:
        return self.stage


@dataclass(frozen=True)
class PriorityChanged(Event):
    """A supervisor re-graded the record, saying why (R-2.4)."""

    old: str | None
    new: str
    reason: str

    @property
    def kind(self) -> str:
        return "priority.changed"

    def changes(self) -> dict[str, Any]:
        return {"priority": [self.old, self.new], "reason": self.reason}


@dataclass(frozen=True)
class Assigned(Event):
    """The record went to someone, or to nobody; `previous` had it before."""

    previous: str | None
    assignee: str | None

    @property
    def kind(self) -> str:
        return "assigned"

    def changes(self) -> dict[str, Any]:
        return {"assignee": [self.previous, self.assignee]}


@dataclass(frozen=True)
class NoteAdded(Event):
    """An internal note on the timeline."""

    text: str
    KIND: ClassVar[str] = "note"

    @property
    def kind(self) -> str:
        return self.KIND

    def changes(self) -> dict[str, Any]:
        return {"text": self.text}


@dataclass(frozen=True)
class MessageReceived(NoteAdded):
    """A message from the customer, kept on the timeline."""

    KIND: ClassVar[str] = "message.in"


@dataclass(frozen=True)
class MessageSent(NoteAdded):
    """A message to the customer, kept on the timeline."""

    KIND: ClassVar[str] = "message.out"


@dataclass(frozen=True)
class ThreadPosted(Event):
    """A message joined the record's thread: from the customer, to them, or a note.

    The history names the message, not its text: the thread keeps the text, encrypted.
    """

    direction: str  # in, out, note
    message: int
    channel: str | None
    KINDS: ClassVar[dict[str, str]] = {"in": "message.in", "out": "message.out", "note": "note"}

    @property
    def kind(self) -> str:
        return self.KINDS[self.direction]

    def changes(self) -> dict[str, Any]:
        return {"message": self.message, "channel": self.channel}


@dataclass(frozen=True)
class ReplyDelivery(Event):
    """Our reply did not reach the customer (`bounced`, with the server's words, addresses
    masked), or an agent sent it again (`resent`, as outbox row `outbox`)."""

    what: str  # bounced, resent
    message: int | None
    outbox: int
    reason: str = ""

    @property
    def kind(self) -> str:
        return f"message.{self.what}"

    def changes(self) -> dict[str, Any]:
        return {"message": self.message, "outbox": self.outbox, "reason": self.reason}


# What an agent may write on a timeline, by the kind the API names it with.
NOTES: dict[str, type[NoteAdded]] = {e.KIND: e for e in (NoteAdded, MessageReceived, MessageSent)}


# --- SLA clocks (time/sla.py, as a record moves) -------------------------------------------


@dataclass(frozen=True)
class SlaReplanned(Event):
    """Triage changed the priority: the clock took the new priority's terms (R-2.1)."""

    target: str
    old_priority: str | None
    new_priority: str
    deadline: datetime | None

    @property
    def kind(self) -> str:
        return f"sla.{self.target}.replanned"

    def changes(self) -> dict[str, Any]:
        return {"priority": [self.old_priority, self.new_priority], "deadline": iso(self.deadline)}


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


# --- reported by other areas (customers/, insight/, knowledge/) ----------------------------


@dataclass(frozen=True)
class SatisfactionAnswered(Event):
    """The customer answered the satisfaction survey (R-5)."""

    score: int
    via: str
    nps: int | None = None
    text: str | None = None

    @property
    def kind(self) -> str:
        return "satisfaction.answered"

    def changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {"score": self.score, "via": self.via}
        if self.nps is not None:
            changes["nps"] = self.nps
        if self.text:
            changes["text"] = self.text
        return changes


@dataclass(frozen=True)
class WarningEscalated(Event):
    """An early warning's level rose while its response record is open (R-6)."""

    old_level: str | None
    level: str
    text: str

    @property
    def kind(self) -> str:
        return "warning.escalated"

    def changes(self) -> dict[str, Any]:
        return {"level": [self.old_level, self.level], "text": self.text}


@dataclass(frozen=True)
class KnownProblemLinked(Event):
    """The record was said to be an instance of a known problem."""

    problem: int
    title: str

    @property
    def kind(self) -> str:
        return "known_problem.linked"

    def changes(self) -> dict[str, Any]:
        return {"known_problem": self.problem, "title": self.title}
