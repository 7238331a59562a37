"""Each industry pack's own early warning, measured as the scheduler measures it (R-6.1 – R-6.3).

`careloop simulate` runs no monitors, so the scenarios of the industry packs prove the response
flow only; here each pack's industry-specific monitor is tripped by a few records: a regulator's
referral at a bank, a patient-safety event at a hospital, a pupil hurt at a school, a food-safety
report at a restaurant, a payment or consumer-rights word in retail and e-commerce, a client's
threat to end the contract in office services. The first record is important, a few more make
the same warning severe, and the warning's `early_warning` record follows the level's priority.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.models import EarlyWarning, Record
from engine.time.clock import VirtualClock
from tests.conftest import ROOT
from workflows.validate import checked_source


@dataclass(frozen=True)
class Signal:
    pack: str
    monitor: str
    record_type: str
    fields: dict[str, Any]
    category: str | None = None
    channel: str | None = None
    # The first record makes the warning important; this many in all make it severe.
    severe_after: int = 2


SIGNALS = [
    Signal(
        "finance",
        "regulator_referrals",
        "complaint",
        {"phone": "13700000001", "description": "监管转办：理财收益与宣传不符"},
        channel="regulator_referral",
        severe_after=3,
    ),
    Signal(
        "healthcare",
        "safety_events",
        "feedback",
        {"contact": "13600000001", "description": "住院患者夜间跌倒"},
        category="patient_safety",
        channel="staff_report",
        severe_after=2,
    ),
    Signal(
        "education",
        "safety_incidents",
        "course_feedback",
        {"student_name": "王小明", "parent_contact": "13655550000", "description": "课间摔伤"},
        category="campus_safety",
        channel="phone",
        severe_after=2,
    ),
    Signal(
        "catering",
        "food_safety_reports",
        "dining_complaint",
        {"contact": "13500000001", "store": "徐汇店", "description": "菜里吃出异物"},
        category="food_safety",
        channel="phone",
        severe_after=2,
    ),
    Signal(
        "retail",
        "negative_words",
        "feedback",
        {"source": "store", "contact": "13900000001", "description": "买到过期食品，要打 12315"},
        channel="phone",
        severe_after=4,
    ),
    Signal(
        "ecommerce",
        "payment_words",
        "order_issue",
        {"contact": "13800000001", "order_no": "DD1", "description": "付款时重复扣款了"},
        channel="online_chat",
        severe_after=3,
    ),
    Signal(
        "office_services",
        "churn_words",
        "complaint",
        {
            "company": "星河科技",
            "contact": "13300000001",
            "complaint_type": "timeliness",
            "description": "报修总是拖，再这样就解约",
        },
        channel="phone",
        severe_after=3,
    ),
]
PRIORITY = {"important": "P1", "severe": "P0"}


def report(services: Services, signal: Signal, clock: VirtualClock, number: int) -> None:
    customer = next(f.id for f in record_type_fields(services, signal) if f.type == "customer")
    services.create_record(
        signal.pack,
        NewRecord(
            record_type=signal.record_type,
            channel=signal.channel,
            category=signal.category,
            received_at=clock.now() - timedelta(minutes=number),
            fields={customer: f"X-{number}", **signal.fields},
        ),
        actor="intake",
    )


def record_type_fields(services: Services, signal: Signal) -> list[Any]:
    with services.uow() as uow:
        spec = services.latest_spec(uow.session, signal.pack)
        return list(spec.record_type(signal.record_type).fields.values())


def levels(services: Services, monitor: str) -> list[tuple[str, str]]:
    """The pack's open warnings of `monitor`, with the priority of their response record."""
    with services.uow() as uow:
        rows = uow.session.execute(
            select(EarlyWarning.level, Record.priority)
            .join(Record, Record.id == EarlyWarning.record_id)
            .where(EarlyWarning.monitor == monitor, EarlyWarning.closed_at.is_(None))
        )
        return [(level, priority) for level, priority in rows]


@pytest.mark.parametrize("signal", SIGNALS, ids=[s.pack for s in SIGNALS])
def test_each_industry_pack_raises_its_own_warning_and_escalates_it(
    services: Services, clock: VirtualClock, signal: Signal
) -> None:
    services.publish(checked_source(ROOT / "workflows" / signal.pack), by="test")
    report(services, signal, clock, 1)
    services.evaluate_monitors()
    assert levels(services, signal.monitor) == [("important", PRIORITY["important"])]
    for number in range(2, signal.severe_after + 1):
        report(services, signal, clock, number)
    services.evaluate_monitors()
    # The same warning, raised to severe: one open warning, its record now P0.
    assert levels(services, signal.monitor) == [("severe", PRIORITY["severe"])]
