"""Events of stages, people and the thread (records/, conversation/)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine.events.base import Event


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
