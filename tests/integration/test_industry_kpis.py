"""Each industry pack reads its own KPIs and tracks its targets (R-4.1, R-4.3, R-4.4).

`careloop simulate` computes no KPIs, so the scenarios `kpi_readings.yaml` prove the clocks and
transitions the KPIs read; here the dashboard's own report reads them: a record solved by the
pack's first-contact transition 6 minutes after it came in and answered 5 (and NPS 10 where the
pack asks NPS), a second record still waiting for its first response. First-contact resolution,
CSAT and response time then reach each pack's declared targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from engine.customers.satisfaction import Answer
from engine.insight import improvement, kpis
from engine.records.intake import NewRecord
from engine.services import Services
from engine.time.clock import VirtualClock
from tests.conftest import ROOT
from workflows.validate import checked_source


@dataclass(frozen=True)
class FirstContact:
    pack: str
    record_type: str
    customer_field: str
    fields: dict[str, Any]
    transition: str
    form: dict[str, Any]
    channel: str = "phone"
    category: str | None = None


CASES = [
    FirstContact(
        "finance",
        "complaint",
        "customer_no",
        {"phone": "13700000001", "description": "转账限额怎么调"},
        "answer_on_spot",
        {"category": "enquiry", "decision": "已告知调整步骤"},
        category="enquiry",
    ),
    FirstContact(
        "healthcare",
        "feedback",
        "patient_no",
        {"contact": "13600000001", "description": "抽血排队太久"},
        "solve_on_spot",
        {"category": "waiting_time", "solution": "加开窗口并致歉"},
        channel="service_desk",
    ),
    FirstContact(
        "education",
        "course_feedback",
        "family_no",
        {"student_name": "林一", "parent_contact": "13655550001", "description": "想换班"},
        "solve_on_spot",
        {"category": "class_arrangement", "solution_type": "class_change", "solution": "已调班"},
        channel="walk_in",
    ),
    FirstContact(
        "catering",
        "dining_complaint",
        "customer_no",
        {"contact": "13500000001", "store": "徐汇店", "description": "菜是凉的"},
        "solve_on_spot",
        {"category": "dish_quality", "solution_type": "remake", "solution": "重新出品"},
        channel="walk_in",
    ),
    FirstContact(
        "retail",
        "feedback",
        "customer_no",
        {"source": "store", "contact": "13900000001", "description": "标价与结账价不一致"},
        "solve_on_spot",
        {"solution_type": "refund", "solution": "退还差价"},
        channel="walk_in",
        category="price",
    ),
    FirstContact(
        "ecommerce",
        "order_issue",
        "customer_no",
        {"contact": "13800000001", "order_no": "DD1", "description": "地址填错了"},
        "solve_on_spot",
        {"solution": "已修改地址"},
        channel="online_chat",
        category="order_change",
    ),
    FirstContact(
        "office_services",
        "service_request",
        "customer_no",
        {"company": "远山设计", "contact": "13300000001", "description": "打印机卡纸"},
        "solve_on_spot",
        {"category": "printing", "solution": "取出卡纸"},
        channel="front_desk",
    ),
]


def create(services: Services, case: FirstContact, number: int) -> int:
    record = services.create_record(
        case.pack,
        NewRecord(
            record_type=case.record_type,
            channel=case.channel,
            category=case.category,
            fields={case.customer_field: f"K-{number}", **case.fields},
        ),
        actor="intake",
    )
    return record.id


@pytest.mark.parametrize("case", CASES, ids=[c.pack for c in CASES])
def test_each_industry_pack_reads_its_kpis_and_tracks_its_targets(
    services: Services, clock: VirtualClock, case: FirstContact
) -> None:
    services.publish(checked_source(ROOT / "workflows" / case.pack), by="test")
    solved = create(services, case, 1)
    create(services, case, 2)  # still waiting for its first response
    clock.advance(timedelta(minutes=6))
    services.transition(solved, case.transition, case.form, actor="agent")
    with services.uow() as uow:
        spec = services.latest_spec(uow.session, case.pack)
    asks_nps = spec.insight.satisfaction is not None and spec.insight.satisfaction.nps
    answer = Answer(5, "满意", 10 if asks_nps else None)
    services.answer_satisfaction(solved, answer, via="agent", actor="agent")

    start = clock.now().replace(hour=0, minute=0)
    with services.uow() as uow:
        figures = kpis.report(
            uow.session, improvement.kpi_filter(spec, start, start + timedelta(1))
        )
    assert (figures.volume, figures.answers) == (2, 1)
    assert figures.values["fcr"] == 100.0  # the one solved record, by first contact
    assert figures.values["csat"] == 100.0
    assert figures.values["response_hours"] == pytest.approx(0.1, abs=1e-4)  # 6 minutes
    assert figures.values["nps"] == (100.0 if asks_nps else None)
    # Every declared target is tracked, and these figures reach them all.
    targets = {t.kpi: t.progress(figures.values[t.kpi]) for t in spec.insight.kpis.targets}
    assert {"csat", "fcr", "response_hours"} <= set(targets)
    assert all(
        targets[kpi] == 1.0 for kpi in ("csat", "fcr", "response_hours", "nps") if kpi in targets
    )
