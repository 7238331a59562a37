"""Two scheduler processes run the same campaign: each customer hears from it once (R-5.3).

The campaign is the default pack's shipping notice (an hour after an order
ships): its occasions are counted from the outbox and the occasions table,
which carry a unique key per campaign, customer and occasion.
"""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, insert, select

from engine.records.versions import PackSource
from engine.services import Services
from engine.store.db import make_session_factory
from engine.store.models import CampaignOccasion, Customer, Order, OutboxMessage
from tests.pg.test_scheduler_processes import scheduler

pytestmark = pytest.mark.pg
CUSTOMERS = 400


def shipped_orders(engine: Engine, source: PackSource) -> None:
    """CUSTOMERS customers, each with an order that shipped two hours ago."""
    Services(make_session_factory(engine)).publish(source, by="test")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Customer),
            [
                {
                    "number": f"C-{i}",
                    "created_at": now - timedelta(days=30),
                    "consent_service": True,
                    "consent_marketing": False,
                }
                for i in range(CUSTOMERS)
            ],
        )
        ids = conn.scalars(select(Customer.id).order_by(Customer.id)).all()
        conn.execute(
            insert(Order),
            [
                {
                    "customer_id": cid,
                    "external_id": f"O-{cid}",
                    "amount": 99.0,
                    "currency": "CNY",
                    "ordered_at": now - timedelta(days=1),
                    "shipped_at": now - timedelta(hours=2),
                    "items": [],
                    "created_at": now,
                }
                for cid in ids
            ],
        )


def notices(engine: Engine) -> tuple[int, int, int]:
    """(outbox messages, distinct customers among them, occasions) of the shipping notice."""
    with make_session_factory(engine)() as session:
        campaign = OutboxMessage.payload["campaign"].as_string() == "shipping_notice"
        sent = session.scalar(select(func.count()).select_from(OutboxMessage).where(campaign))
        distinct = session.scalar(
            select(func.count(func.distinct(OutboxMessage.recipient))).where(campaign)
        )
        occasions = session.scalar(
            select(func.count())
            .select_from(CampaignOccasion)
            .where(CampaignOccasion.campaign == "shipping_notice")
        )
    return sent or 0, distinct or 0, occasions or 0


def test_two_schedulers_send_one_shipping_notice_per_customer(
    pg_engine: Engine, pg_database: str, after_sales: PackSource
) -> None:
    shipped_orders(pg_engine, after_sales)
    once = [scheduler(pg_database, "--once", "--json") for _ in range(2)]
    outputs = [worker.communicate(timeout=120) for worker in once]
    assert all(worker.returncode == 0 for worker in once), outputs
    assert notices(pg_engine) == (CUSTOMERS, CUSTOMERS, CUSTOMERS)
    # two schedulers keep running the campaign over the same window, one killed midway
    running = [scheduler(pg_database, "--interval", "0.2") for _ in range(2)]
    time.sleep(2.0)
    running[0].send_signal(signal.SIGKILL)
    time.sleep(1.0)
    for worker in running:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)
    assert notices(pg_engine) == (CUSTOMERS, CUSTOMERS, CUSTOMERS)
