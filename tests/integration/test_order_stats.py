"""Customers' order stats and the economics read from them (issue #25; R-4.3, R-4.4).

The dashboard's churn, repurchase, referral and CLTV come from one stats row per customer,
kept as orders arrive; on random shops they must equal the definitions read straight from the
orders (`economics.from_orders`), now and at past moments, for everyone and for one tier.
Every test runs on SQLite and PostgreSQL, on a virtual clock.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from engine.customers import bulk, orderstats
from engine.insight import economics
from engine.services import Services
from engine.store.migrate import downgrade, upgrade
from engine.store.models import CustomerOrderStats

CUSTOMERS = 40


def shop(services: Services, seed: int) -> None:
    """40 customers, a few set high-value by hand, some referred; ~120 orders over 3 years,
    most imported in chunks, some one at a time, some repeated."""
    rng = random.Random(seed)
    now = services.clock.now()
    for i in range(CUSTOMERS):
        values = {"tier": "high_value"} if rng.random() < 0.3 else {}
        if i and rng.random() < 0.2:
            values["referred_by"] = f"K{rng.randrange(i):02d}"
        services.save_customer(f"K{i:02d}", values)
    rows: list[dict[str, Any]] = [
        {
            "customer": f"K{int(rng.random() ** 2 * CUSTOMERS):02d}",
            "external_id": f"o{n}",
            "amount": round(rng.uniform(10, 900), 2),
            "ordered_at": now - timedelta(minutes=rng.randrange(3 * 365 * 24 * 60)),
        }
        for n in range(120)
    ]
    with services.uow() as uow:
        for start in range(0, 100, 25):
            bulk.add_orders(uow.session, rows[start : start + 25] + rows[:3], now)
        uow.commit()
    for row in rows[100:]:
        number = row.pop("customer")
        services.record_order(str(number), row)
        services.record_order(str(number), row)  # a repeat adds nothing


@pytest.mark.parametrize("seed", [1, 2])
def test_the_stats_give_the_figures_of_the_orders_now_and_in_the_past(
    services: Services, seed: int
) -> None:
    shop(services, seed)
    now = services.clock.now()
    with services.uow() as uow:
        spec = services.latest_spec(uow.session, "after_sales")
        for days in (0, 30, 200, 400, 800):
            for tier in (None, "high_value"):
                at = now - timedelta(days=days)
                fast = economics.figures(uow.session, spec, at, tier)
                plain = economics.from_orders(uow.session, spec, at, tier)
                assert fast.churn_base + fast.buyers, "the shop has customers to count"
                # the same spend added up in another order: equal but for rounding
                assert fast.cltv_spend == pytest.approx(plain.cltv_spend, rel=1e-9)
                assert replace(fast, cltv_spend=plain.cltv_spend) == plain, (days, tier)


def stats(services: Services) -> list[tuple[Any, ...]]:
    with services.uow() as uow:
        s = CustomerOrderStats
        rows = uow.session.execute(
            select(
                s.customer_id, s.first_order_at, s.last_order_at, s.order_count, s.spend
            ).order_by(s.customer_id)
        )
        return [(*row[:4], round(row[4], 6)) for row in rows]


def test_the_stats_kept_as_orders_arrive_equal_a_rebuild(services: Services) -> None:
    shop(services, 3)
    kept = stats(services)
    assert sum(row[3] for row in kept) == 120
    with services.uow() as uow:
        orderstats.rebuild(uow.session)
        uow.commit()
    assert stats(services) == kept


def test_the_migration_backfills_the_stats_of_stored_orders(
    services: Services, db_engine: Engine
) -> None:
    shop(services, 4)
    kept = stats(services)
    downgrade(db_engine, "0033")
    upgrade(db_engine)
    assert stats(services) == kept
