"""Follow-ups (R-3.2, R-3.3), repeating while a record sits in some stages or once after entry,
and the promised customer contacts they and stage changes bring due (issue #20).

A contact is a timer of kind `contact` named after it: `conversation.contacts` sends it when it
comes due, so it is written in the same transaction as what caused it and sent exactly once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine.records.journal import Arm, arm_now, cancel_timers
from engine.specs.pack import ContactSpec, FollowUpSpec, PackSpec, RecordTypeSpec, StageSpec
from engine.store.models import Record
from engine.time.beforedeadline import holds
from engine.time.sla import offset

CONTACT = "contact"


def on_stage_change(
    session: Session,
    pack: PackSpec,
    rtype: RecordTypeSpec,
    record: Record,
    old: StageSpec | None,
    new: StageSpec,
    now: datetime,
    *,
    arm: Arm | None = None,
) -> None:
    """Arm the follow-ups whose stages the record enters; cancel those whose stages it leaves.
    Arm the contacts its creation (`old` is None) or the stages it enters bring due.

    New timers go to `arm` (default: objects in the session), as in `sla.start_clocks`.
    """
    arm = arm or arm_now(session)
    if old is None:
        on_event(session, pack, rtype, record, "created", now, arm=arm)
    for followup in rtype.followups.values():
        selector = followup.while_in or followup.on_entering
        if selector is None:
            continue
        was_in = old is not None and selector.matches(old)
        is_in = selector.matches(new) and not new.is_closed
        # A repeating one keeps its rhythm and reads `when` at each period (`firing`).
        if is_in and not was_in and (followup.every is not None or holds(followup, record)):
            arm(record, "followup", followup.name, next_due(pack, followup, now), now)
        elif was_in and not is_in:
            cancel_timers(session, record, kinds=["followup"], name=followup.name)
    for contact in contacts_due(rtype, old, new):
        arm(record, CONTACT, contact.name, contact_due(pack, contact, now), now)


def on_event(
    session: Session,
    pack: PackSpec,
    rtype: RecordTypeSpec,
    record: Record,
    event: str,
    now: datetime,
    *,
    arm: Arm | None = None,
) -> None:
    """Arm the follow-ups due `after` the record's `event` (created, extended) whose `when`
    holds now (R-3.2)."""
    arm = arm or arm_now(session)
    for followup in rtype.followups.values():
        if followup.on_event == event and holds(followup, record):
            arm(record, "followup", followup.name, next_due(pack, followup, now), now)


def contacts_due(rtype: RecordTypeSpec, old: StageSpec | None, new: StageSpec) -> list[ContactSpec]:
    """The contacts a creation (`old` is None) or entering `new` from `old` brings due."""
    due = rtype.contacts_on("created") if old is None else []
    return due + [
        c
        for c in rtype.contacts.values()
        if c.on_entering is not None
        and c.on_entering.matches(new)
        and (old is None or not c.on_entering.matches(old))
    ]


def contacts_of_followup(rtype: RecordTypeSpec, followup: str) -> list[ContactSpec]:
    return [c for c in rtype.contacts.values() if c.on_followup == followup]


def arm_contacts(
    session: Session,
    pack: PackSpec,
    record: Record,
    contacts: list[ContactSpec],
    now: datetime,
    *,
    arm: Arm | None = None,
) -> None:
    """Arm `contacts` of the record from `now` (a deadline moved: `on: extended`)."""
    arm = arm or arm_now(session)
    for contact in contacts:
        arm(record, CONTACT, contact.name, contact_due(pack, contact, now), now)


def contact_due(pack: PackSpec, contact: ContactSpec, start: datetime) -> datetime:
    return start if contact.after is None else offset(pack, contact.calendar, start, contact.after)


def next_due(pack: PackSpec, followup: FollowUpSpec, start: datetime) -> datetime:
    amount = followup.every or followup.after
    assert amount is not None
    return offset(pack, followup.calendar, start, amount)
