"""Row 11: customer economics and the loyalty ledger over N customers and 3N orders (R-4.3, R-5.4).

Seeds N customers and 3N orders spread over the last three years (amounts 50–5,000, some
customers buying often, many once), 5 % of customers referred by another, set-based. Then,
at 09:00 Shanghai on 24 November 2026:

* ours: `engine.insight.economics.figures`, the dashboard's churn, repurchase, referral and
  CLTV (one aggregate over each customer's order stats, the CLTV window's orders by their
  time index), the median of `--runs`, "now" and for "a past period" (the end of last
  month: customers who ordered since read their last order up to then); for comparison,
  `economics.from_orders` (every order grouped per customer, what main did on every load) —
  all three must give the same figures. Each row states the dashboard's budget (all four
  figures, one call, ≤ 1 s as each chart of the page) and whether it is met;
* baseline: the plain aggregate of the same orders (`count(*)`, `sum(amount)`), measured in
  the same run: the floor of any figure that reads every order once;
* the stats' rebuild from the seeded orders (what migration 0037 does) is timed once;
* the loyalty award (INSERT … SELECT per source kind) is timed on its first run, and a rerun
  must add no ledger entry.

    python -m bench.bench_economics [--n 20000] [--full] [--runs 3] [--db both|sqlite|pg]
        [--no-award]

`--full` is 1,000,000 customers and 3,000,000 orders, the issue's size; the issue's rows are
PostgreSQL's (`--full --db pg --no-award`, about 6 minutes of seeding); run it on a machine of
its own.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from bench.common import ROOT, Row, arguments, backends, database, median_of
from bench.seed import vacuum_analyze
from engine.customers import orderstats
from engine.insight import economics
from engine.services import Services
from engine.specs.pack import PackSpec
from engine.store.db import make_session_factory
from engine.store.models import Customer, CustomerReferral, LoyaltyEntry, Order
from engine.time.clock import VirtualClock
from workflows.validate import checked_source

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)
CHUNK = 20_000
LAST_MONTH = datetime(2026, 10, 31, 23, 59, 59, tzinfo=SHANGHAI)  # the end of a past period
BUDGET = 1.0  # seconds: the dashboard's budget, each chart ≤ 1 s (docs/performance.md, row 8)
Figures = Callable[[Session, PackSpec, datetime], economics.Economics]


def seed(engine: Engine, n: int) -> None:
    """N customers, 3N orders over three years, N/20 referrals; in chunks of 20,000 rows."""
    rng = random.Random(20261124)
    created = datetime(2023, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        for start in range(0, n, CHUNK):
            rows = [
                {"number": f"C{i:08d}", "consent_service": True, "created_at": created}
                for i in range(start, min(n, start + CHUNK))
            ]
            conn.execute(insert(Customer), rows)
        orders = []
        for i in range(3 * n):
            # A skewed customer: a few buy often, many once (r² leans to the low ids).
            customer = 1 + int(rng.random() ** 2 * n)
            minutes = rng.randrange(3 * 365 * 24 * 60)
            orders.append(
                {
                    "customer_id": customer,
                    "external_id": f"SO{i:09d}",
                    "amount": round(rng.uniform(50, 5000), 2),
                    "currency": "CNY",
                    "ordered_at": NOW - timedelta(minutes=minutes),
                    "items": [],
                    "created_at": NOW,
                }
            )
            if len(orders) == CHUNK:
                conn.execute(insert(Order), orders)
                orders = []
        if orders:
            conn.execute(insert(Order), orders)
        referred = rng.sample(range(2, n + 1), n // 20)
        for start in range(0, len(referred), CHUNK):
            conn.execute(
                insert(CustomerReferral),
                [
                    {"customer_id": c, "referrer_id": rng.randrange(1, c), "created_at": created}
                    for c in referred[start : start + CHUNK]
                ],
            )


def rebuild_seconds(services: Services) -> float:
    """The seed writes orders past the engine; their stats come in one rebuild, as 0037's."""
    with services.uow() as uow:
        began = time.perf_counter()
        orderstats.rebuild(uow.session)
        uow.commit()
        return time.perf_counter() - began


def ours_seconds(services: Services, how: Figures = economics.figures, at: datetime = NOW) -> float:
    with services.uow() as uow:
        spec = services.latest_spec(uow.session, "after_sales")
        began = time.perf_counter()
        how(uow.session, spec, at)
        return time.perf_counter() - began


def same_figures(services: Services) -> dict[str, float | None]:
    """The figures now, after checking the fast path against the grouped one now and then."""
    with services.uow() as uow:
        spec = services.latest_spec(uow.session, "after_sales")
        for at in (NOW, LAST_MONTH):
            fast = economics.figures(uow.session, spec, at)
            plain = economics.from_orders(uow.session, spec, at)
            assert replace(fast, cltv_spend=plain.cltv_spend) == plain, (at, fast, plain)
            assert abs(fast.cltv_spend - plain.cltv_spend) <= 1e-9 * abs(plain.cltv_spend)
        return economics.figures(uow.session, spec, NOW).values


def baseline_seconds(engine: Engine) -> float:
    with engine.connect() as conn:
        began = time.perf_counter()
        conn.execute(select(func.count(), func.sum(Order.amount)).select_from(Order)).one()
        return time.perf_counter() - began


def ledger_size(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(LoyaltyEntry)) or 0


def main() -> None:
    # The award writes a ledger entry per order (three million at full size): `--no-award`
    # leaves it out when only the figures are asked; bench.common's options know nothing of it.
    with_award = "--no-award" not in sys.argv
    sys.argv = [a for a in sys.argv if a != "--no-award"]
    args = arguments(__doc__ or "", small=20_000, full=1_000_000)
    source = checked_source(ROOT / "workflows" / "after_sales")
    for kind in backends(args.db):
        with database(kind) as engine:
            services = Services(make_session_factory(engine), VirtualClock(NOW))
            services.publish(source, by="bench")
            began = time.perf_counter()
            seed(engine, args.n)
            seeded = time.perf_counter() - began
            rebuilt = rebuild_seconds(services)
            vacuum_analyze(engine)
            print(
                f"# {kind}: {args.n:,} customers, {3 * args.n:,} orders seeded in {seeded:,.1f} s;"
                f" order stats rebuilt in {rebuilt:,.1f} s",
                flush=True,
            )
            baseline = median_of(args.runs, partial(baseline_seconds, engine))
            for name, how, at in (
                ("now", economics.figures, NOW),
                ("a past period", economics.figures, LAST_MONTH),
                ("main's grouped", economics.from_orders, NOW),
            ):
                ours = median_of(args.runs, partial(ours_seconds, services, how, at))
                label = f"11 economics {name}, {args.n:,}"
                Row(label, kind, "ms", ours * 1000, baseline * 1000, goal(ours), False).print()
            values = same_figures(services)
            print("  " + ", ".join(f"{k} {v:,.1f}" for k, v in values.items() if v), flush=True)
            if with_award:
                award(services, engine)


def goal(seconds: float) -> str:
    """The dashboard's budget, and whether this figure keeps it."""
    return f"≤ {BUDGET:g} s (dashboard): {'met' if seconds <= BUDGET else 'NOT met'}"


def award(services: Services, engine: Engine) -> None:
    began = time.perf_counter()
    services.award_points()
    first, entries = time.perf_counter() - began, ledger_size(engine)
    began = time.perf_counter()
    services.award_points()
    rerun = time.perf_counter() - began
    assert ledger_size(engine) == entries, "a rerun of the award added entries"
    print(
        f"  loyalty award: {first * 1000:,.0f} ms for {entries:,} entries; "
        f"rerun {rerun * 1000:,.0f} ms, 0 added",
        flush=True,
    )


if __name__ == "__main__":
    main()
