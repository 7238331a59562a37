"""KPIs as SQL aggregates (R-4.2, R-4.3); improvement actions measured at their deadline (R-7)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.customers.satisfaction import Answer
from engine.insight import improvement, kpis
from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.models import Record
from engine.time.clock import VirtualClock


def feedback(services: Services, *, channel: str = "phone", category: str = "quality") -> Record:
    return services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel=channel,
            category=category,
            fields={"customer_no": "C-1", "contact": "13812345678", "description": "x"},
        ),
        actor="intake",
    )


def report(services: Services, clock: VirtualClock, days: int = 1) -> kpis.KpiReport:
    with services.uow() as uow:
        spec = services.latest_spec(uow.session, "after_sales")
        start = clock.now().replace(hour=0, minute=0)
        f = improvement.kpi_filter(spec, start, start + timedelta(days=days))
        return kpis.report(uow.session, f)


def test_a_day_of_feedback_in_figures(services: Services, clock: VirtualClock) -> None:
    on_spot = feedback(services)
    services.transition(on_spot.id, "solve_on_spot", {"solution": "重启"}, actor="a")
    worked = feedback(services, channel="wechat", category="logistics")
    clock.advance(timedelta(hours=1))
    services.transition(worked.id, "accept", {"category": "logistics", "priority": "P1"}, actor="a")
    clock.advance(timedelta(hours=2))
    services.transition(
        worked.id, "resolve", {"solution_type": "service", "solution": "补发"}, actor="a"
    )
    feedback(services)  # still pending
    services.answer_satisfaction(on_spot.id, Answer(5, nps=9), via="link", actor="customer")
    services.answer_satisfaction(worked.id, Answer(3, "慢", nps=7), via="agent", actor="a")
    services.report_warning(
        "after_sales", title="t", description="d", level="general", actor="li"
    )  # a warning's record is not service volume
    services.save_customer("C-2", {})
    services.record_order(
        "C-2", {"external_id": "O-1", "amount": 10.0, "ordered_at": clock.now()}
    )  # a first purchase: the needs survey of a potential customer ...
    assert [r.statuses["task"] for r in services.run_campaigns() if r.statuses["task"]] == [1]

    figures = report(services, clock)  # ... is an agent's task, not service volume either
    assert figures.volume == 3 and figures.answers == 2
    assert figures.values["csat"] == 50.0 and figures.values["satisfaction_avg"] == 4.0
    assert figures.values["nps"] == 50.0  # one promoter (9), one passive (7), no detractor
    assert figures.values["fcr"] == 50.0  # one of the two solved records, at once
    assert figures.values["response_hours"] == pytest.approx(0.5, abs=1e-4)  # 0 h and 1 h
    assert figures.values["handling_hours"] == pytest.approx(1.5, abs=1e-4)  # 0 h and 3 h
    assert figures.values["sla_attainment"] == 100.0
    assert figures.channels == [("phone", 2), ("wechat", 1)]
    assert figures.categories[0][:2] == ("quality", 2)
    assert round(figures.categories[0][2], 3) == 0.667
    assert [n for _, n in figures.daily] == [3]
    assert [v for _, v in figures.daily_csat] == [50.0]


def test_an_action_is_measured_after_its_deadline_once(
    services: Services, clock: VirtualClock
) -> None:
    for _ in range(4):
        feedback(services, category="logistics")
    clock.advance(timedelta(minutes=1))
    action = services.create_action(
        "after_sales",
        title="更换物流承运商",
        owner="supply_chain",
        deadline=clock.now() + timedelta(days=7),
        metric="volume",
        window_days=7,
        category="logistics",
        actor="manager",
    )
    assert (action.value_before, action.value_after) == (4.0, None)
    clock.advance(timedelta(days=3))
    feedback(services, category="logistics")
    assert services.measure_actions() == []  # not due yet
    clock.advance(timedelta(days=5))
    [measured] = services.measure_actions()
    assert (measured.id, measured.value_after, measured.measured_at) == (
        action.id,
        1.0,
        clock.now(),
    )
    assert services.measure_actions() == []
