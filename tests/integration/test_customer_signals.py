"""Signals from customers' behaviour (R-6.1): activity drop and repurchase drop raise warnings.

The default pack's monitors compare the last 30 days with the 30 before: everyone's orders
and records (`activity_drop`), one customer's (`customer_activity_drop`) and the repurchase
rate (`repurchase_drop`), each the share lost. Every test runs on SQLite and PostgreSQL, on
a virtual clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.customers import bulk
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.models import EarlyWarning
from workflows.errors import PackInvalid
from workflows.loader import load_pack_from_files
from workflows.validate import source_of

DROPS = ("activity_drop", "customer_activity_drop", "repurchase_drop")


def orders(services: Services, rows: list[tuple[str, int]]) -> None:
    """(customer, days ago) each one order, imported at once; customers made on the way."""
    now = services.clock.now()
    for number in sorted({number for number, _ in rows}):
        services.save_customer(number, {})
    with services.uow() as uow:
        bulk.add_orders(
            uow.session,
            [
                {
                    "customer": number,
                    "external_id": f"{number}-{i}",
                    "amount": 100.0,
                    "ordered_at": now - timedelta(days=days, hours=1),
                }
                for i, (number, days) in enumerate(rows)
            ],
            now,
        )
        uow.commit()


def raised(services: Services) -> dict[tuple[str, str], str]:
    services.evaluate_monitors()
    with services.session_factory() as session:
        return {
            (w.monitor, w.scope): w.level
            for w in session.scalars(select(EarlyWarning).where(EarlyWarning.monitor.in_(DROPS)))
        }


def test_fewer_orders_and_fewer_repeat_buyers_raise_their_warnings(services: Services) -> None:
    # 30–60 days ago: 25 buyers, 20 of whom had bought a year before (repurchase 80 %), and
    # one customer ordering 12 times; the last 30 days: 5 buyers, 1 of them a repeat (20 %).
    before = [(f"A{i:02d}", 40) for i in range(25)] + [(f"A{i:02d}", 400) for i in range(20)]
    heavy = [("HEAVY", 35 + i) for i in range(12)]
    last = [("A00", 5)] + [(f"N{i}", 5) for i in range(4)]
    orders(services, before + heavy + last)
    assert raised(services) == {
        # 37 orders before, 5 since: 86 % fewer
        ("activity_drop", "*"): "severe",
        # 12 orders, then none
        ("customer_activity_drop", "HEAVY"): "general",
        # 80 % → 20 %: three quarters of the rate lost
        ("repurchase_drop", "*"): "important",
    }


def test_steady_customers_raise_nothing(services: Services) -> None:
    steady = [(f"S{i:02d}", days) for i in range(25) for days in (400, 40, 10)]
    orders(services, steady + [("HEAVY", d) for d in range(31, 43)] + [("HEAVY", 3)] * 11)
    assert raised(services) == {}


def test_a_drop_monitor_refuses_a_baseline_with_file_and_line(after_sales: PackSource) -> None:
    text = after_sales.files["warnings.yaml"].replace(
        "    metric: repurchase_drop\n", "    metric: repurchase_drop\n    baseline: {weeks: 4}\n"
    )
    with pytest.raises(
        PackInvalid, match=r"warnings.yaml:\d+:\d+: repurchase_drop takes no baseline"
    ):
        source_of(
            load_pack_from_files("after_sales", {**after_sales.files, "warnings.yaml": text}, "x")
        )
