"""A loaded pack as frozen values (the spec), apart from the records that run on it (instances).

Built once per published version by `engine.packspec.build_pack_spec` and
cached: every record of that version shares it, and nothing mutates it.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from engine.errors import NotFound
from engine.specs.answering import AnsweringSpec
from engine.specs.canned import CannedResponseSpec
from engine.specs.care import CampaignSpec, TierSpec
from engine.specs.expressions import Expression, MessageTemplate
from engine.specs.insight import InsightSpec
from engine.specs.instant import InstantAnswersSpec
from engine.specs.portal import PortalSpec
from engine.specs.slaterms import Facts, TermRule, choose
from engine.specs.slaterms import SlaTerm as SlaTerm  # where callers have always found it
from engine.time.calendar import BusinessCalendar
from engine.time.durations import Duration

STAGE_KINDS = ("open", "active", "waiting", "resolved", "closed")
FIELD_TYPES = ("text", "number", "choice", "date", "datetime", "customer", "contact")
# Built-in record attributes a transition form may ask for besides the type's own fields.
CORE_FIELDS = ("priority", "category", "channel", "assignee", "department")
EXPRESSION_NAMES = ("record", "customer", "form")
# What a built transition form (a FlaskForm) uses for itself: its attributes, its instance's and
# the two fields forms/builder.py adds. A pack field of one of these names would shadow it.
# Written out here because the engine must not import WTForms; tests/unit/test_reserved_names.py
# checks it still covers every public attribute of FlaskForm, so the two cannot drift apart.
FORM_ATTRIBUTES = frozenset(
    {
        *("Meta", "meta", "data", "errors", "form_errors"),
        *("validate", "validate_on_submit", "is_submitted", "process", "post_process"),
        *("populate_obj", "hidden_tag"),
        *("csrf_token", "row_version"),
    }
)
# Names a pack field may not take: the form's own, and those a record already has for itself.
RESERVED_FIELDS = FORM_ATTRIBUTES | {"stage", "id", *CORE_FIELDS}
# What a message template may use: the record (personal fields masked) and the occasion.
TEMPLATE_NAMES = (
    *("record", "subject", "audience", "target", "deadline", "title", "due_at"),
    *("customer", "campaign", "occasion"),  # what a campaign's message to a customer may use
    # What a record's message to its customer may use besides (issue #20, R-3.2, R-3.3).
    *("reference", "promised", "deadlines", "survey_link", "extension", "channel"),
    "tracking_link",  # the customer's own page of the record in the portal (issue #23)
)
CONTACT_EVENTS = ("created", "extended")


@dataclass(frozen=True)
class Option:
    """One entry of a pack list (priority, channel, category, department)."""

    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True)
class StageSpec:
    id: str
    kind: str
    title: str

    @property
    def is_closed(self) -> bool:
        return self.kind == "closed"


@dataclass(frozen=True)
class StageSelector:
    """Stages named outright or by kind: `{stages: [pending]}`, `{kinds: [resolved]}`."""

    stages: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()

    def matches(self, stage: StageSpec) -> bool:
        return stage.id in self.stages or stage.kind in self.kinds


@dataclass(frozen=True)
class FieldSpec:
    id: str
    type: str
    label: str
    required: bool = False
    multiline: bool = False
    mask: str | None = None
    choices: dict[str, str] = field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    help: str | None = None

    @property
    def is_personal(self) -> bool:
        """Personal data: shown masked unless a role may see it (R-1.2, R-8.3)."""
        return self.type == "contact" or self.mask is not None


@dataclass(frozen=True)
class FormField:
    field: str
    required: bool = False
    label: str | None = None


@dataclass(frozen=True)
class Effect:
    """`assign: routing` sets the department by the routing rules; `set` writes literal values."""

    kind: Literal["assign", "set"]
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TransitionSpec:
    id: str
    title: str
    sources: tuple[str, ...]
    target: str
    form: tuple[FormField, ...] = ()
    guard: Expression | None = None
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True)
class SlaTargetSpec:
    """A named promise (`respond`, `resolve`) and the stage change that keeps it."""

    name: str
    title: str
    met_on: Literal["leaving", "entering"]
    met_by: StageSelector
    met_by_first_reply: bool = False  # the first reply to the customer meets it too


@dataclass(frozen=True)
class EscalationStep:
    index: int
    at: Literal["warning", "breach"]
    after: Duration | None = None
    notify: tuple[str, ...] = ()
    raise_priority: bool = False


@dataclass(frozen=True)
class SlaSpec:
    """Targets, and the ordered terms that set them by what a record is (`specs.slaterms`)."""

    targets: dict[str, SlaTargetSpec]
    rules: tuple[TermRule, ...]
    escalation: tuple[EscalationStep, ...] = ()
    pause_in: StageSelector | None = None

    def terms_of(self, facts: Facts) -> dict[str, SlaTerm]:
        """target → the term a record with these facts (channel, priority, …) gets."""
        return choose(self.rules, facts)

    def terms_for(self, priority: str) -> dict[str, SlaTerm]:
        """The terms of a record known only by its priority (the priority-only form)."""
        return choose(self.rules, {"priority": priority})

    @property
    def depends_on(self) -> frozenset[str]:
        """The record attributes and fields some term's condition names: a change of one of
        them may choose another term (R-2.5)."""
        return frozenset(key for rule in self.rules for key in rule.when.keys)


@dataclass(frozen=True)
class FollowUpSpec:
    """`every` D while in some stages (repeats); once `after` D on entering some stages or on
    an event of the record (`on_event`); or once `before` D of an SLA target's deadline (`of`),
    moving when that deadline moves (R-3.2). `when` must hold when it is armed and when due."""

    name: str
    title: str
    every: Duration | None = None
    while_in: StageSelector | None = None
    after: Duration | None = None
    on_entering: StageSelector | None = None
    calendar: str | None = None
    catch_up: Literal["coalesce", "all"] = "coalesce"
    on_event: str | None = None
    before: Duration | None = None
    of: str | None = None
    when: Expression | None = None


@dataclass(frozen=True)
class ContactSpec:
    """A contact the process promises the customer (R-3.2, R-3.3), sent as a message of theirs.

    It comes due on an event of the record (`created`, `extended`), on entering some stages,
    or each time a follow-up fires; `after` delays it. It is skipped, and the history says
    why, where an agent wrote to the customer within `unless_replied_within`.
    """

    name: str
    title: str
    message: str
    on_event: str | None = None
    on_entering: StageSelector | None = None
    on_followup: str | None = None
    after: Duration | None = None
    calendar: str | None = None
    unless_replied_within: Duration | None = None


@dataclass(frozen=True)
class ExtensionSpec:
    """How a deadline may move (R-3.2): the target it moves, and how long before its deadline
    the customer must be told at the latest (later only with a supervisor's override)."""

    target: str
    notice: Duration


@dataclass(frozen=True)
class RecordTypeSpec:
    id: str
    title: str
    fields: dict[str, FieldSpec]
    stages: dict[str, StageSpec]
    initial: str
    transitions: dict[str, TransitionSpec]
    sla: SlaSpec | None = None
    followups: dict[str, FollowUpSpec] = field(default_factory=dict)
    customer_reply: str | None = None  # the transition a customer's message takes
    contacts: dict[str, ContactSpec] = field(default_factory=dict)
    extension: ExtensionSpec | None = None

    def contacts_on(self, event: str) -> list[ContactSpec]:
        return [c for c in self.contacts.values() if c.on_event == event]

    def stage(self, stage_id: str) -> StageSpec:
        try:
            return self.stages[stage_id]
        except KeyError:
            raise NotFound(f"record type {self.id} has no stage '{stage_id}'") from None

    def transitions_from(self, stage_id: str) -> list[TransitionSpec]:
        return [t for t in self.transitions.values() if stage_id in t.sources]


@dataclass(frozen=True)
class RoutingRule:
    department: str
    when: Expression | None = None


@dataclass(frozen=True)
class Recipient:
    """How one audience (owner, supervisor, manager, department) is reached."""

    audience: str
    emails: tuple[str, ...] = ()
    webhook: bool = False


@dataclass(frozen=True)
class MessageSpec:
    """A message text and the notification subjects it serves (`sla.*.breach`)."""

    name: str
    on: tuple[str, ...]
    subject: MessageTemplate
    body: MessageTemplate
    # A channel's own wording (a short SMS), by channel; the default serves the others.
    by_channel: dict[str, tuple[MessageTemplate, MessageTemplate]] = field(default_factory=dict)

    def texts(self, channel: str | None) -> tuple[MessageTemplate, MessageTemplate]:
        """Subject and body for `channel`: its own wording where the pack gives one."""
        return self.by_channel.get(channel or "", (self.subject, self.body))

    def serves(self, subject: str) -> bool:
        return any(fnmatch.fnmatchcase(subject, pattern) for pattern in self.on)


@dataclass(frozen=True)
class IntakeSpec:
    """What a message on a channel creates when it belongs to no record (issue #20)."""

    channel: str
    record_type: str
    priority: str | None
    department: str | None
    text_field: str


@dataclass(frozen=True)
class PackSpec:
    name: str
    title: str
    timezone: ZoneInfo
    priorities: tuple[Option, ...]
    default_priority: str
    channels: dict[str, Option]
    categories: dict[str, Option]
    departments: dict[str, Option]
    routing: tuple[RoutingRule, ...]
    calendars: dict[str, BusinessCalendar]
    record_types: dict[str, RecordTypeSpec]
    recipients: dict[str, Recipient] = field(default_factory=dict)
    messages: tuple[MessageSpec, ...] = ()
    complaint_categories: tuple[str, ...] = ()
    tiers: dict[str, TierSpec] = field(default_factory=dict)
    campaigns: dict[str, CampaignSpec] = field(default_factory=dict)
    intake: dict[str, IntakeSpec] = field(default_factory=dict)
    answering: AnsweringSpec = field(default_factory=AnsweringSpec)
    canned_responses: tuple[CannedResponseSpec, ...] = ()  # issue #21, engine.specs.canned
    instant_answers: InstantAnswersSpec | None = None  # issue #23, engine.specs.instant
    portal: PortalSpec | None = None  # issue #23, engine.specs.portal

    @property
    def care_task_types(self) -> frozenset[str]:
        """Record types care creates for agents (calls, surveys): work, not customer feedback."""
        tasks = [t.on_enter for t in self.tiers.values()] + [
            c.task for c in self.campaigns.values()
        ]
        return frozenset(t.record_type for t in tasks if t is not None)

    def template(self, name: str) -> MessageSpec:
        return next(m for m in self.messages if m.name == name)

    def local_minute(self, moment: datetime | None) -> str:
        """A time as people in the pack's zone read it in messages: 2026-11-23 13:00."""
        if moment is None:
            return ""
        return moment.astimezone(self.timezone).strftime("%Y-%m-%d %H:%M")

    # Satisfaction, monitors, warnings and KPI targets (issue #8): see engine.insightspec.
    insight: InsightSpec = field(default_factory=InsightSpec)
    _message_for: dict[str, MessageSpec | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def message_for(self, subject: str) -> MessageSpec | None:
        """The first message serving `subject`, matched once per subject: a sweep asks for
        every notification it writes, and the answer never changes for an immutable spec."""
        if subject not in self._message_for:
            self._message_for[subject] = next((m for m in self.messages if m.serves(subject)), None)
        return self._message_for[subject]

    def record_type(self, type_id: str) -> RecordTypeSpec:
        try:
            return self.record_types[type_id]
        except KeyError:
            known = ", ".join(sorted(self.record_types))
            raise NotFound(
                f"pack {self.name} has no record type '{type_id}' (known: {known})"
            ) from None

    def priority_rank(self, priority: str) -> int:
        """0 for the most urgent: the queue sorts on it (R-2.6)."""
        return [p.id for p in self.priorities].index(priority)

    def raised(self, priority: str) -> str:
        """The next more urgent priority, or the same when it is already the top."""
        rank = self.priority_rank(priority)
        return self.priorities[max(rank - 1, 0)].id
