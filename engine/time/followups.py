"""Follow-ups (R-3.2, R-3.3): repeating while a record sits in some stages, or once after entry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine.records.journal import Arm, arm_now, cancel_timers
from engine.specs.pack import FollowUpSpec, PackSpec, RecordTypeSpec, StageSpec
from engine.store.models import Record
from engine.time.sla import offset


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

    New timers go to `arm` (default: objects in the session), as in `sla.start_clocks`.
    """
    arm = arm or arm_now(session)
    for followup in rtype.followups.values():
        selector = followup.while_in or followup.on_entering
        if selector is None:
            continue
        was_in = old is not None and selector.matches(old)
        is_in = selector.matches(new) and not new.is_closed
        if is_in and not was_in:
            arm(record, "followup", followup.name, next_due(pack, followup, now), now)
        elif was_in and not is_in:
            cancel_timers(session, record, kinds=["followup"], name=followup.name)


def next_due(pack: PackSpec, followup: FollowUpSpec, start: datetime) -> datetime:
    amount = followup.every or followup.after
    assert amount is not None
    return offset(pack, followup.calendar, start, amount)
