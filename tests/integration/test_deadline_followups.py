"""Follow-ups timed from a deadline or an event, with a condition (issue #25 item 2, R-3.2).

The default pack reminds the owner one working day before the resolve deadline, unless the
record is P0: "if the deadline must move, the customer hears at least a day before it".
The timer moves when the deadline moves, fires exactly once, and is cancelled when its
condition no longer holds. Every test runs in virtual time, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.models import Notification, RecordEvent, Timer
from engine.time.clock import VirtualClock
from tests.conftest import ROOT, SHANGHAI
from workflows.validate import checked_source

FIELDS = {"customer_no": "C-9", "contact": "13800000000", "description": "不加热"}
NAME = "extension_notice"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def create(services: Services, priority: str, *, accept: bool = True) -> int:
    """A record received Monday 09:00; accepted at once (so its respond target, met, raises
    nothing), unless `accept` is False."""
    new = NewRecord(record_type="feedback", fields=FIELDS, channel="email", priority=priority)
    record_id = services.create_record("after_sales", new, actor="agent").id
    if accept:
        form = {"category": "quality", "priority": priority}
        services.transition(record_id, "accept", form, actor="agent")
    return record_id


def timers(services: Services, record_id: int, name: str = NAME) -> list[tuple[str, datetime]]:
    with services.session_factory() as session:
        rows = session.execute(
            select(Timer.status, Timer.due_at)
            .where(Timer.record_id == record_id, Timer.name == name)
            .order_by(Timer.id)
        )
        return [(status, due) for status, due in rows]


def reminders(services: Services, record_id: int, name: str = NAME) -> list[datetime]:
    with services.session_factory() as session:
        return list(
            session.scalars(
                select(RecordEvent.at).where(
                    RecordEvent.record_id == record_id, RecordEvent.kind == f"followup.{name}"
                )
            )
        )


def test_a_p1_is_reminded_one_working_day_before_its_deadline_once(
    services: Services, clock: VirtualClock
) -> None:
    record_id = create(services, "P1")  # Monday 09:00: resolve by Wednesday 18:00
    assert timers(services, record_id) == [("pending", at(24, 18))]  # Tuesday 18:00, not Wed 09:00
    clock.set(at(24, 17, 59))
    services.sweep()
    assert reminders(services, record_id) == []
    clock.set(at(24, 18))
    services.sweep()
    assert reminders(services, record_id) == [at(24, 18)]
    with services.session_factory() as session:
        note = session.scalars(
            select(Notification).where(Notification.subject == f"followup.{NAME}")
        ).one()
        assert note.audience == "owner"
    services.edit_fields(record_id, {"description": "不加热，显示 E1"}, actor="agent")
    clock.set(at(25, 9))
    services.sweep()
    assert reminders(services, record_id) == [at(24, 18)]  # not again for the same deadline
    assert [status for status, _due in timers(services, record_id)] == ["fired"]


def test_the_reminder_moves_with_an_extended_deadline(
    services: Services, clock: VirtualClock
) -> None:
    record_id = create(services, "P1")
    clock.set(at(24, 10))
    services.extend_deadline(record_id, at(27, 18), "备件需从厂家调货", actor="agent")
    assert timers(services, record_id) == [
        ("cancelled", at(24, 18)),
        ("pending", at(26, 18)),  # Thursday 18:00, one working day before Friday 18:00
    ]
    clock.set(at(26, 18))
    services.sweep()
    assert reminders(services, record_id) == [at(26, 18)]


def test_a_p0_gets_no_reminder_and_a_regrade_to_p0_cancels_it(
    services: Services, clock: VirtualClock
) -> None:
    assert timers(services, create(services, "P0")) == []
    record_id = create(services, "P2")  # resolve by Friday 18:00: reminded Thursday 18:00
    assert timers(services, record_id) == [("pending", at(26, 18))]
    services.regrade(record_id, "P1", "影响使用", actor="supervisor")
    assert timers(services, record_id) == [("cancelled", at(26, 18)), ("pending", at(24, 18))]
    services.regrade(record_id, "P0", "燃气泄漏风险", actor="supervisor")
    assert timers(services, record_id)[-1] == ("cancelled", at(24, 18))


def test_the_condition_is_read_again_when_due(services: Services, clock: VirtualClock) -> None:
    record_id = create(services, "P1", accept=False)
    clock.set(at(23, 13))  # the respond breach raises the record to P0 (escalation ladder)
    services.sweep()
    clock.set(at(24, 18))
    outcomes = [(f.kind, f.outcome) for f in services.sweep().fired if f.kind == "followup"]
    assert outcomes == [("followup", "cancelled")]
    assert reminders(services, record_id) == []


def publish_with(services: Services, tmp_path: Path, old: str, new: str) -> None:
    """The default pack with `old` replaced by `new` in feedback.yaml, published."""
    folder = tmp_path / "after_sales"
    shutil.copytree(ROOT / "workflows" / "after_sales", folder)
    feedback = folder / "feedback.yaml"
    text = feedback.read_text(encoding="utf-8")
    assert old in text
    feedback.write_text(text.replace(old, new, 1), encoding="utf-8")
    services.publish(checked_source(folder), by="test")


def test_a_follow_up_after_an_event_with_a_condition(
    services: Services, clock: VirtualClock, tmp_path: Path
) -> None:
    confirm = (
        "    followups:\n"
        "      confirm_new_deadline:\n"
        "        title: 确认新期限\n"
        "        after: 2h\n"
        "        on: extended\n"
        "        when: \"record.priority == 'P1'\"\n"
    )
    publish_with(services, tmp_path, "    followups:\n", confirm)
    p1, p2 = create(services, "P1"), create(services, "P2")
    clock.set(at(23, 10))
    services.extend_deadline(p1, at(27, 18), "备件需从厂家调货", actor="agent")
    services.extend_deadline(p2, at(30, 18), "等待厂家检测报告", actor="agent")
    clock.set(at(23, 12))
    services.sweep()
    assert reminders(services, p1, "confirm_new_deadline") == [at(23, 12)]
    assert timers(services, p2, "confirm_new_deadline") == []


def test_a_repeating_follow_up_skips_the_periods_its_condition_is_false(
    services: Services, clock: VirtualClock, tmp_path: Path
) -> None:
    every = "        every: 24h\n        while_in: {kinds: [active]}\n"
    publish_with(
        services, tmp_path, every, every + "        when: \"record.resources != 'remote'\"\n"
    )
    record_id = create(services, "P2")  # accepted Monday 09:00: updates due 09:00 each day
    clock.set(at(24, 9))
    services.sweep()
    services.edit_fields(record_id, {"resources": "remote"}, actor="agent")
    clock.set(at(25, 9))
    services.sweep()  # skipped: handled remotely
    services.edit_fields(record_id, {"resources": "on_site"}, actor="agent")
    clock.set(at(26, 9))
    services.sweep()
    assert reminders(services, record_id, "progress_update") == [at(24, 9), at(26, 9)]
