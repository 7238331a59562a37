"""Row 7: a care campaign's audience and outbox rows over N customers (R-5.3).

Seeds N customers (Chinese names, birthdays spread over the year, a few in
other time zones, 60 % with marketing consent) and N/2 orders over the last
year, set-based. Then, at 09:00 Shanghai on 24 November 2026:

* ours: the default pack's birthday greeting through `engine.campaigns`
  (audience by the `birth_md` index, consent, per-customer zone, Feb 29
  rule, frequency cap, one outbox row per customer in batches), and the
  maintenance reminder three months after each purchase (orders by the
  `ordered_at` index); the figure is the selection time (candidates found,
  before writing) and the whole run's time, with the rows it wrote;
* baseline: a Python predicate streamed over every customer ("born today,
  with consent, in their zone"), the way a loop over the customer base does it;
* a rerun of the campaign must write 0 rows;
* the full tier recomputation (metrics, percentile, rules, history) is timed too.

    python -m bench.bench_campaigns [--n 20000] [--full] [--runs 3] [--db both|sqlite|pg]
"""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, insert, select

from bench.common import ROOT, Row, arguments, backends, database, median_of
from bench.data import chinese_name
from bench.seed import vacuum_analyze
from engine.customers import campaigns
from engine.customers.campaigns.candidates import candidates
from engine.customers.profiles import birth_md
from engine.records.versions import latest_version
from engine.services import Services
from engine.store.db import make_session_factory
from engine.store.models import CampaignOccasion, Customer, Order, OutboxMessage
from engine.time.clock import VirtualClock
from workflows.validate import checked_source

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)
ZONES = [None] * 95 + ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Asia/Singapore", None]
CHUNK = 20_000


def seed(engine: Engine, n: int) -> None:
    rng = random.Random(20261124)
    created = datetime(2020, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        for start in range(0, n, CHUNK):
            rows = []
            for i in range(start, min(n, start + CHUNK)):
                born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
                rows.append(
                    {
                        "number": f"C{i:08d}",
                        "name": chinese_name(rng),
                        "birthday": born,
                        "birth_md": birth_md(born),
                        "timezone": rng.choice(ZONES),
                        "consent_service": True,
                        "consent_marketing": rng.random() < 0.6,
                        "created_at": created,
                    }
                )
            conn.execute(insert(Customer), rows)
        orders = []
        for i in range(n // 2):
            orders.append(
                {
                    "customer_id": rng.randrange(1, n + 1),
                    "external_id": f"SO{i:09d}",
                    "amount": round(rng.uniform(50, 5000), 2),
                    "currency": "CNY",
                    "ordered_at": NOW - timedelta(minutes=rng.randrange(365 * 24 * 60)),
                    "items": [],
                    "created_at": NOW,
                }
            )
            if len(orders) == CHUNK:
                conn.execute(insert(Order), orders)
                orders = []
        if orders:
            conn.execute(insert(Order), orders)
    vacuum_analyze(engine)


def python_predicate(engine: Engine) -> tuple[float, int]:
    """Stream every customer and test "born today, marketing consent" in Python."""
    began = time.perf_counter()
    found = 0
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=CHUNK).execute(
            select(Customer.id, Customer.birthday, Customer.timezone, Customer.consent_marketing)
        )
        for _id, birthday, zone, consent in rows:
            if not consent or birthday is None:
                continue
            today = NOW.astimezone(ZoneInfo(zone) if zone else SHANGHAI).date()
            if (birthday.month, birthday.day) == (today.month, today.day):
                found += 1
    return time.perf_counter() - began, found


def selection(services: Services, name: str) -> tuple[float, int]:
    """Our candidate query alone: how long finding the audience takes, and its size."""
    with services.uow() as uow:
        version = latest_version(uow.session, "after_sales")
        spec = services.specs.of(version)
        campaign = spec.campaigns[name]
        late = campaigns._late(campaign)
        began = time.perf_counter()
        found = sum(1 for _ in candidates(uow.session, spec, campaign, NOW - late, NOW))
        return time.perf_counter() - began, found


def written(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            conn.scalar(select(func.count()).select_from(CampaignOccasion)) or 0,
            conn.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
        )


def run(services: Services, name: str) -> float:
    with services.uow() as uow:
        version = latest_version(uow.session, "after_sales")
        spec = services.specs.of(version)
        began = time.perf_counter()
        campaigns.run_campaign(uow.session, spec, version, spec.campaigns[name], NOW)
        uow.commit()
        return time.perf_counter() - began


def main() -> None:
    args = arguments(__doc__ or "", small=20_000, full=1_000_000)
    source = checked_source(ROOT / "workflows" / "after_sales")
    for kind in backends(args.db):
        with database(kind) as engine:
            services = Services(make_session_factory(engine), VirtualClock(NOW))
            services.publish(source, by="bench")
            seed(engine, args.n)

            def ours_seconds(s: Services = services) -> float:
                return selection(s, "birthday_greeting")[0]

            def baseline_seconds(e: Engine = engine) -> float:
                return python_predicate(e)[0]

            ours = median_of(args.runs, ours_seconds)
            baseline = median_of(args.runs, baseline_seconds)
            _, audience = selection(services, "birthday_greeting")
            _, expected = python_predicate(engine)
            label = f"7 birthday audience of {args.n:,}"
            Row(label, kind, "ms", ours * 1000, baseline * 1000, "≤ 1 s, ≥ 50×", False).print()
            assert audience >= expected, (audience, expected)  # ours adds Feb 29 and late ones
            whole = run(services, "birthday_greeting")
            occasions, messages = written(engine)
            print(
                f"  birthday run: {whole * 1000:,.0f} ms, {occasions:,} occasions, "
                f"{messages:,} outbox rows ({audience:,} candidates)",
                flush=True,
            )
            rerun = run(services, "birthday_greeting")
            assert written(engine) == (occasions, messages), "a rerun wrote rows"
            print(f"  rerun: {rerun * 1000:,.0f} ms, 0 rows written", flush=True)
            began = time.perf_counter()
            run_tiers = services.recompute_tiers()["after_sales"]
            print(
                f"  tiers recomputed in SQL for {run_tiers.customers:,} customers: "
                f"{time.perf_counter() - began:,.1f} s, {run_tiers.changed:,} changed",
                flush=True,
            )
            took, found = selection(services, "maintenance_reminder")
            whole = run(services, "maintenance_reminder")
            after = written(engine)
            print(
                f"  3 months after purchase: selection {took * 1000:,.0f} ms ({found:,} orders), "
                f"run {whole * 1000:,.0f} ms, {after[1] - messages:,} outbox rows",
                flush=True,
            )


if __name__ == "__main__":
    main()
