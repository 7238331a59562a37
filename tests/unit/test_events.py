"""Each event keeps the history kind records already carry (stored data, webhooks, reports)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine import events
from engine.events import (
    Assigned,
    ContactSent,
    ContactSkipped,
    DeadlineExtended,
    Escalated,
    Event,
    FieldsEdited,
    FollowersChanged,
    FollowUpDue,
    KnownProblemLinked,
    Ladder,
    MessageReceived,
    MessageSent,
    NoteAdded,
    PriorityChanged,
    RecordsMerged,
    ReplyDelivery,
    SatisfactionAnswered,
    SlaBreached,
    SlaMet,
    SlaPaused,
    SlaReplanned,
    SlaResumed,
    SlaStopped,
    SlaWarned,
    SolutionConfirmed,
    StageEntered,
    TagsChanged,
    TeamAssigned,
    ThreadPosted,
    WarningEscalated,
)

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

# Each event as the engine builds it, with the kind string history held before events existed.
KINDS: list[tuple[Event, str]] = [
    (StageEntered("in_progress", {"priority": ["P3", "P2"]}, "new", "accept"), "stage.in_progress"),
    (PriorityChanged("P3", "P1", "VIP"), "priority.changed"),
    (Assigned(None, "li"), "assigned"),
    (NoteAdded("called back"), "note"),
    (MessageReceived("still broken"), "message.in"),
    (MessageSent("on our way"), "message.out"),
    (ThreadPosted("in", 7, "email"), "message.in"),
    (ThreadPosted("out", 8, "email"), "message.out"),
    (ThreadPosted("note", 9, None), "note"),
    (ReplyDelivery("bounced", 8, 3, "550 5.1.1 no such user"), "message.bounced"),
    (ReplyDelivery("resent", 8, 4), "message.resent"),
    (SlaReplanned("resolution", "P3", "P1", AT), "sla.resolution.replanned"),
    (SlaMet("first_response", AT, True, 600), "sla.first_response.met"),
    (SlaPaused("resolution", 600), "sla.resolution.paused"),
    (SlaStopped("resolution", 600), "sla.resolution.stopped"),
    (SlaResumed("resolution", AT), "sla.resolution.resumed"),
    (SlaWarned("resolution", AT, 0), "sla.resolution.warning"),
    (SlaBreached("resolution", AT, 5), "sla.resolution.breached"),
    (Escalated("resolution", 2, 0, Ladder(("manager",))), "sla.resolution.escalated"),
    (FollowUpDue("call_back", AT, 0), "followup.call_back"),
    (SatisfactionAnswered(5, "sms"), "satisfaction.answered"),
    (WarningEscalated("yellow", "red", "三起投诉"), "warning.escalated"),
    (KnownProblemLinked(7, "运输螺栓未拆"), "known_problem.linked"),
    (DeadlineExtended("resolve", AT, AT, "备件缺货"), "sla.resolve.extended"),
    (ContactSent("acknowledgement", "email", 10), "contact.sent"),
    (ContactSkipped("progress", "no_consent", "C-2"), "contact.skipped"),
    (RecordsMerged(12, 3), "record.merged"),
    (FieldsEdited({"product": ["洗衣机", "烘干机"]}), "fields.edited"),
    (TeamAssigned("rnd", None, "rnd"), "team.assigned"),
    (TagsChanged(("保修",), ()), "tags.changed"),
    (FollowersChanged(("li",), ()), "followers.changed"),
    (SolutionConfirmed(), "solution.confirmed"),
]


@pytest.mark.parametrize(("event", "kind"), KINDS, ids=[kind for _, kind in KINDS])
def test_each_event_keeps_the_kind_history_already_holds(event: Event, kind: str) -> None:
    assert event.kind == kind


def test_every_event_of_the_module_is_checked_above() -> None:
    defined = {
        value
        for value in vars(events).values()
        if isinstance(value, type) and issubclass(value, Event) and value is not Event
    }
    assert defined == {type(event) for event, _ in KINDS}


def test_a_stage_event_says_where_from_and_by_which_transition() -> None:
    entered = StageEntered("closed", {"duplicate_of": 12}, "in_progress", "duplicate")
    assert (entered.from_stage, entered.to_stage, entered.transition) == (
        "in_progress",
        "closed",
        "duplicate",
    )
    assert entered.changes() == {"duplicate_of": 12}
    created = StageEntered("new", {"channel": "phone"})
    assert (created.from_stage, created.to_stage, created.transition) == (None, "new", None)


def test_other_events_name_no_stage() -> None:
    note = NoteAdded("x")
    assert (note.from_stage, note.to_stage, note.transition) == (None, None, None)


def test_the_changes_keep_the_shape_history_already_holds() -> None:
    assert PriorityChanged("P3", "P1", "VIP").changes() == {
        "priority": ["P3", "P1"],
        "reason": "VIP",
    }
    assert Assigned("li", None).changes() == {"assignee": ["li", None]}
    assert MessageSent("hi").changes() == {"text": "hi"}
    assert SlaReplanned("r", "P3", "P1", None).changes() == {
        "priority": ["P3", "P1"],
        "deadline": None,
    }
    assert SlaMet("r", AT, False, 60).changes() == {
        "deadline": "2026-03-02T09:30:00+00:00",
        "on_time": False,
        "used_seconds": 60,
    }
    assert SlaStopped("r", 60).changes() == {"used_seconds": 60}
    assert SlaResumed("r", AT).changes() == {"deadline": "2026-03-02T09:30:00+00:00"}


def test_a_threshold_shows_its_ladder_only_when_steps_ran() -> None:
    assert SlaWarned("r", AT, 3).changes() == {
        "deadline": "2026-03-02T09:30:00+00:00",
        "late_seconds": 3,
    }
    assert SlaBreached("r", None, 0, Ladder(())).changes() == {
        "deadline": None,
        "late_seconds": 0,
        "notified": [],
    }
    raised = Escalated("r", 1, 9, Ladder(("supervisor", "manager"), ("P2", "P1")))
    assert raised.changes() == {
        "step": 1,
        "late_seconds": 9,
        "notified": ["supervisor", "manager"],
        "priority": ["P2", "P1"],
    }


def test_a_follow_up_names_missed_periods_only_when_some_were() -> None:
    assert FollowUpDue("call", AT, 4).changes() == {
        "due_at": "2026-03-02T09:30:00+00:00",
        "late_seconds": 4,
    }
    assert FollowUpDue("call", AT, 4, missed_periods=2).changes()["missed_periods"] == 2


def test_notes_are_found_by_the_kind_the_api_names() -> None:
    assert {kind: cls("t").kind for kind, cls in events.NOTES.items()} == {
        "note": "note",
        "message.in": "message.in",
        "message.out": "message.out",
    }
