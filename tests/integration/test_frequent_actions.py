"""Frequent problems become improvement actions for the responsible department, which is
told (issue #25 item 4, R-7.2; the default pack's warnings.yaml `improvement`: 3 records of a
category in 7 days). Every test runs on SQLite and PostgreSQL, on a virtual clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.insight import frequent
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.models import ImprovementAction, OutboxMessage
from engine.time.clock import VirtualClock
from schedules.worker import InsightJob
from workflows.errors import PackInvalid
from workflows.loader import load_pack_from_files
from workflows.validate import source_of


def record(services: Services, category: str) -> None:
    services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            category=category,
            fields={"customer_no": "C-1", "contact": "13812345678", "description": "漏水"},
        ),
        actor="t",
    )


def actions(services: Services) -> list[tuple[str | None, str | None, str, str]]:
    with services.uow() as uow:
        found = uow.session.scalars(select(ImprovementAction).order_by(ImprovementAction.id))
        return [(a.department, a.category, a.owner, a.title) for a in found]


def told(services: Services) -> list[tuple[str, str]]:
    with services.uow() as uow:
        mails = uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(m.recipient, m.subject) for m in mails if m.payload.get("action")]


def test_the_third_record_in_a_week_raises_one_action_for_the_department_which_is_told(
    services: Services, clock: VirtualClock
) -> None:
    for _ in range(2):
        record(services, "quality")
    record(services, "logistics")
    assert services.raise_frequent_actions() == []  # 2 of 3
    clock.advance(timedelta(hours=1))
    record(services, "quality")
    InsightJob(services)()  # the scheduler's monitors job raises it
    title = "高频问题：产品质量（7 天 3 条）"
    assert actions(services) == [("rnd", "quality", "研发部", title)]
    [(to, subject)] = told(services)
    assert to == "rnd@example.com" and subject.endswith(title)
    record(services, "quality")  # still frequent, but the action is open
    assert services.raise_frequent_actions() == []
    assert len(actions(services)) == 1 and len(told(services)) == 1


def test_once_measured_a_problem_still_frequent_raises_a_new_action(
    services: Services, clock: VirtualClock
) -> None:
    for _ in range(3):
        record(services, "quality")
    assert len(services.raise_frequent_actions()) == 1
    clock.advance(timedelta(days=15))  # past its 14-day deadline: measured, closed
    assert len(services.measure_actions()) == 1
    assert services.raise_frequent_actions() == []  # the old records left the window
    for _ in range(3):
        record(services, "quality")
    assert len(services.raise_frequent_actions()) == 1
    assert [a[0] for a in actions(services)] == ["rnd", "rnd"]


def test_a_racing_scheduler_cannot_raise_a_second_open_action(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The racer read no open action before the winner committed; the unique index refuses
    its row (and with it its mail): one open action per department and category."""
    for _ in range(3):
        record(services, "logistics")
    assert len(services.raise_frequent_actions()) == 1
    monkeypatch.setattr(frequent, "open_actions", lambda session, pack: set())
    with services.uow() as uow, pytest.raises(IntegrityError):
        spec = services.latest_spec(uow.session, "after_sales")
        frequent.raise_actions(uow.session, spec, services.clock.now())
        uow.commit()
    assert services.raise_frequent_actions() == []  # the service swallows a lost race
    assert [(a[0], a[2]) for a in actions(services)] == [("supply_chain", "供应链")]
    assert [to for to, _ in told(services)] == ["supply-chain@example.com"]


def test_a_department_or_category_the_pack_lacks_is_refused(after_sales: PackSource) -> None:
    text = after_sales.files["warnings.yaml"].replace(
        "    rnd: {categories: [quality,", "    lab: {categories: [quality,"
    )
    files = {**after_sales.files, "warnings.yaml": text.replace("[logistics]", "[logistic]")}
    with pytest.raises(PackInvalid) as raised:
        source_of(load_pack_from_files("after_sales", files, "workflows/after_sales"))
    assert "unknown department 'lab'" in str(raised.value)
    assert "unknown category 'logistic'" in str(raised.value)
