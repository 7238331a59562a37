"""Early warning in virtual time (R-6.1, R-6.2, R-6.3), on SQLite and PostgreSQL.

The default pack's `quality_surge` monitor compares quality complaints of the last hour with the
same hour's average of the last 4 weeks: more than 3× is important, more than 6× severe.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from sqlalchemy import ColumnElement, func, select

from engine.errors import InvalidInput
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.models import EarlyWarning, Model, Notification, OutboxMessage, Record
from engine.time.clock import VirtualClock
from schedules.worker import InsightJob
from tests.conftest import DEFAULT_RECIPIENTS
from workflows.loader import load_pack_from_files
from workflows.validate import source_of

NUMBERS = itertools.count(1)
RECIPIENTS = """
  recipients:
    manager: {email: [manager@example.com]}
"""


@pytest.fixture
def told(services: Services, after_sales: PackSource) -> Services:
    """The default pack with the manager reachable by email, so the outbox shows each message."""
    text = DEFAULT_RECIPIENTS.sub(RECIPIENTS.lstrip("\n"), after_sales.files["pack.yaml"], 1)
    files = {**after_sales.files, "pack.yaml": text}
    services.publish(source_of(load_pack_from_files("after_sales", files, "x")), by="ops")
    return services


def complaint(
    services: Services,
    received_at: datetime,
    *,
    category: str = "quality",
    customer: str | None = None,
    description: str = "冰箱不制冷",
) -> Record:
    return services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            category=category,
            received_at=received_at,
            fields={
                "customer_no": customer or f"C-{next(NUMBERS)}",  # one contact each, unless said
                "contact": "13812345678",
                "description": description,
            },
        ),
        actor="intake",
    )


def count(services: Services, model: type[Model], *where: ColumnElement[bool]) -> int:
    with services.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def open_warnings(services: Services) -> list[EarlyWarning]:
    with services.uow() as uow:
        return list(uow.session.scalars(select(EarlyWarning).order_by(EarlyWarning.id)))


def test_a_surge_raises_important_then_severe_once_each_and_tells_management_once(
    told: Services, clock: VirtualClock
) -> None:
    # The same hour (08:00–09:00, Mondays) of the last 4 weeks had one quality complaint each.
    for weeks in range(1, 5):
        complaint(told, clock.now() - timedelta(weeks=weeks, minutes=30))
    # This Monday: four in the hour before 09:00, more than 3× the baseline of 1.
    for minutes in (50, 40, 30, 20):
        complaint(told, clock.now() - timedelta(minutes=minutes))
    first = told.evaluate_monitors()
    assert [(o.warning.monitor, o.warning.level, o.opened) for o in first] == [
        ("quality_surge", "important", True)
    ]
    clock.advance(timedelta(minutes=5))
    assert [(o.opened, o.escalated, o.notified) for o in told.evaluate_monitors()] == [
        (False, False, False)
    ]
    # Four more: eight in the hour, more than 6×: the same warning becomes severe.
    for minutes in (4, 3, 2, 1):
        complaint(told, clock.now() - timedelta(minutes=minutes))
    escalated = told.evaluate_monitors()
    assert [(o.warning.level, o.opened, o.escalated, o.notified) for o in escalated] == [
        ("severe", False, True, True)
    ]
    for _ in range(3):  # still severe: nothing new, nobody told twice
        clock.advance(timedelta(minutes=5))
        assert not any(o.opened or o.escalated or o.notified for o in told.evaluate_monitors())
    [warning] = open_warnings(told)
    assert (warning.level, warning.closed_at, warning.source) == ("severe", None, "monitor")
    assert count(told, Notification, Notification.audience == "manager") == 1
    assert count(told, OutboxMessage, OutboxMessage.recipient == "manager@example.com") == 1
    # The warning opened one response record, raised to P0 with the warning.
    with told.uow() as uow:
        record = uow.session.get_one(Record, warning.record_id)
        assert (record.record_type, record.stage, record.priority) == (
            "early_warning",
            "received",
            "P0",
        )
        assert record.fields["level"] == "severe"
    # A quiet afternoon: the surge is over, but the warning stays open until people close it.
    clock.advance(timedelta(hours=6))
    assert told.evaluate_monitors() == []
    [still] = open_warnings(told)
    assert (still.id, still.level, still.closed_at) == (warning.id, "severe", None)
    assert count(told, Record, Record.record_type == "early_warning") == 1


def test_the_response_flow_closes_the_warning_and_a_new_surge_opens_another(
    services: Services, clock: VirtualClock
) -> None:
    for minutes in (50, 40, 30, 20):
        complaint(services, clock.now() - timedelta(minutes=minutes))
    [outcome] = services.evaluate_monitors()
    record_id = outcome.warning.record_id
    assert record_id is not None
    steps = [
        ("verify", {"verification": "售后数据核实：同批次压缩机"}),
        ("grade", {"level": "important", "priority": "P1"}),
        (
            "respond",
            {
                "assignee": "wang",
                "deadline": "2026-11-24T18:00+08:00",
                "resources": "研发 2 人，备件 50 套",
            },
        ),
        ("inform", {"customers_informed": "短信通知 4 位客户，上门更换"}),
        ("review", {"root_cause": "供应商压缩机批次缺陷", "lessons": "来料抽检加严"}),
    ]
    for transition, form in steps:
        services.transition(record_id, transition, form, actor="wang")
    [closed] = open_warnings(services)
    assert closed.closed_at == clock.now()
    clock.advance(timedelta(minutes=10))
    [reopened] = services.evaluate_monitors()  # the same complaints still in the window
    assert reopened.opened and reopened.warning.id != closed.id


def test_the_response_record_refuses_skipping_steps(
    services: Services, clock: VirtualClock
) -> None:
    outcome = services.report_warning(
        "after_sales", title="门店反映", description="多位客户反映异味", level="general", actor="li"
    )
    assert outcome.warning.source == "staff" and outcome.opened
    with pytest.raises(Exception, match="stage 'received'"):
        services.transition(
            outcome.warning.record_id or 0,
            "review",
            {"root_cause": "x", "lessons": "y"},
            actor="li",
        )


def test_staff_reports_are_warnings_of_their_own_and_are_checked(services: Services) -> None:
    for _ in range(2):
        services.report_warning(
            "after_sales",
            title="媒体来电",
            description="记者询问起火事件",
            level="severe",
            actor="li",
        )
    assert [w.level for w in open_warnings(services)] == ["severe", "severe"]
    assert count(services, Notification, Notification.audience == "manager") == 2
    with pytest.raises(InvalidInput, match="level"):
        services.report_warning("after_sales", title="x", description="y", level="red", actor="li")


def test_negative_words_repeat_contacts_and_satisfaction_are_measured_in_sql(
    services: Services, clock: VirtualClock
) -> None:
    now = clock.now()
    complaint(
        services, now - timedelta(minutes=5), category="service", description="再不处理就找媒体曝光"
    )
    for days in (1, 2, 3):
        complaint(services, now - timedelta(days=days), category="other", customer="C-9")
    found = {
        (o.warning.monitor, o.warning.scope, o.warning.level) for o in services.evaluate_monitors()
    }
    assert ("negative_words", "*", "important") in found
    assert ("repeat_contacts", "C-9", "general") in found
    # Monitors that stand on few records stay quiet (min_count).
    assert not any(monitor in ("slow_handling", "sla_breaches") for monitor, _, _ in found)


def test_the_scheduler_job_evaluates_the_monitors(services: Services, clock: VirtualClock) -> None:
    for minutes in (50, 40, 30, 20):
        complaint(services, clock.now() - timedelta(minutes=minutes))
    job = InsightJob(services)
    assert job() == 1
    assert job() == 0  # the same reading again: nothing new
