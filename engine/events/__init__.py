"""What happened to a record, as values: the outcomes the engine reports (cosmicpython events).

Each event names its history `kind` in one place, its `kind` property. Those strings are
stored data: the timeline, webhook subscriptions (`delivery.webhooks.public_type`) and
reports all read them, so an event's kind must never change once records carry it.
`records.journal` turns an event into its history row (`kind`, `changes` and, for a
stage, where from and by which transition); the code that decides builds the event.

The events live by area (`records`, `sla`, `contacts`, `areas`, `desk`); every caller imports them
from here.
"""

from __future__ import annotations

from engine.events.areas import (
    KnownProblemLinked,
    SatisfactionAnswered,
    WarningEscalated,
)
from engine.events.base import (
    Event,
)
from engine.events.contacts import (
    SKIP_REASONS,
    ContactSent,
    ContactSkipped,
    SolutionConfirmed,
)
from engine.events.desk import (
    FieldsEdited,
    FollowersChanged,
    TagsChanged,
    TeamAssigned,
)
from engine.events.merges import RecordsMerged
from engine.events.records import (
    NOTES,
    Assigned,
    MessageReceived,
    MessageSent,
    NoteAdded,
    PriorityChanged,
    ReplyDelivery,
    StageEntered,
    ThreadPosted,
)
from engine.events.sla import (
    DeadlineExtended,
    Escalated,
    FollowUpDue,
    Ladder,
    SlaBreached,
    SlaMet,
    SlaPaused,
    SlaReplanned,
    SlaResumed,
    SlaStopped,
    SlaWarned,
)

__all__ = [
    "Assigned",
    "ContactSent",
    "ContactSkipped",
    "SolutionConfirmed",
    "DeadlineExtended",
    "Escalated",
    "Event",
    "FieldsEdited",
    "FollowersChanged",
    "FollowUpDue",
    "KnownProblemLinked",
    "Ladder",
    "MessageReceived",
    "MessageSent",
    "NOTES",
    "NoteAdded",
    "PriorityChanged",
    "RecordsMerged",
    "ReplyDelivery",
    "SKIP_REASONS",
    "SatisfactionAnswered",
    "SlaBreached",
    "SlaMet",
    "SlaPaused",
    "SlaReplanned",
    "SlaResumed",
    "SlaStopped",
    "SlaWarned",
    "StageEntered",
    "TagsChanged",
    "TeamAssigned",
    "ThreadPosted",
    "WarningEscalated",
]
