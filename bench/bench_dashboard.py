"""Row 8: the supervisors' dashboard aggregates and the admin record list over N records.

Seeds N feedback records received over the last 365 days (channel, category and
priority mixes of a live desk, 85 % closed, two SLA clocks each with 8 % breached,
a satisfaction answer for 30 % of the closed), set-based. Then:

* dashboard: `engine.kpis.report` (every chart's aggregate: volume, CSAT, NPS, FCR,
  response/handling/resolution hours, SLA attainment, per channel, per category,
  per day) for the last 30 days and for the whole year, first from the records alone
  (before the rollup), then after `Services.roll_up` wrote the daily rollup (its first
  run, over the whole year, is timed and printed on its own line, and so is a second
  run with nothing to do); the baseline is a plain `count(*)` of the same records,
  the least any chart must do;
* admin list: `GET /admin/record/` (first page) through the Flask test client as an
  operations user, p95 of 20 requests; the baseline is Flask-Admin's default count
  query (`SELECT count(*) FROM records`) that pages list views.

    python -m bench.bench_dashboard [--n 20000] [--full] [--runs 3] [--db both|sqlite|pg]
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Engine, func, insert, select

from bench.common import ROOT, Row, arguments, backends, database, median_of
from bench.data import chinese_name, phone_number
from bench.seed import vacuum_analyze
from engine.access import users
from engine.insight import improvement, kpis
from engine.records.versions import latest_version
from engine.services import Services
from engine.store.db import make_session_factory
from engine.store.models import Record, SatisfactionAnswer, SlaClock
from engine.time.clock import VirtualClock
from signin.auth import hash_password
from workflows.validate import checked_source

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
CHUNK = 20_000
CHANNELS = [
    ("phone", 35),
    ("online_chat", 25),
    ("wechat", 15),
    ("email", 10),
    ("platform_review", 15),
]
CATEGORIES = [("quality", 30), ("logistics", 25), ("service", 20), ("function", 15), ("other", 10)]
PRIORITIES = [("P0", 5), ("P1", 25), ("P2", 70)]
PASSWORD = "bench password 1"
PERIODS = (30, 365)
GOAL = "each chart ≤ 1 s"


def pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def seed(engine: Engine, n: int) -> None:
    services = Services(make_session_factory(engine))
    services.publish(checked_source(ROOT / "workflows" / "after_sales"), by="bench")
    with services.uow() as uow:
        version_id = latest_version(uow.session, "after_sales").id
        users.add_user(uow.session, "bench-ops", "operations", PASSWORD, hash_password, NOW)
        uow.commit()
    rng = random.Random(20261123)
    with engine.begin() as conn:
        for start in range(0, n, CHUNK):
            records, clocks, answers = [], [], []
            for i in range(start, min(n, start + CHUNK)):
                received = NOW - timedelta(seconds=rng.randrange(365 * 86400))
                closed = rng.random() < 0.85
                priority = pick(rng, PRIORITIES)
                record_id = i + 1
                closed_at = received + timedelta(hours=rng.uniform(1, 96)) if closed else None
                records.append(
                    {
                        "id": record_id,
                        "pack_version_id": version_id,
                        "pack": "after_sales",
                        "record_type": "feedback",
                        "stage": "closed" if closed else "in_progress",
                        "stage_kind": "closed" if closed else "active",
                        "is_open": not closed,
                        "priority": priority,
                        "priority_rank": int(priority[1]),
                        "tier_rank": 1,
                        "channel": pick(rng, CHANNELS),
                        "category": pick(rng, CATEGORIES),
                        "department": "service_desk",
                        "fields": {
                            "customer_name": chinese_name(rng),
                            "contact": phone_number(rng),
                            "description": "反馈",
                        },
                        "received_at": received,
                        "created_at": received,
                        "updated_at": closed_at or received,
                        "closed_at": closed_at,
                        "row_version": 1,
                    }
                )
                for target, hours in (("respond", 4.0), ("resolve", 27.0)):
                    breached = rng.random() < 0.08
                    met = received + timedelta(hours=rng.uniform(0.2, hours))
                    clocks.append(
                        {
                            "record_id": record_id,
                            "target": target,
                            "calendar": "cn_workdays",
                            "working": True,
                            "budget_seconds": hours * 3600,
                            "warning_fraction": 0.8,
                            "started_at": received,
                            "consumed_seconds": 0.0,
                            "deadline": received + timedelta(hours=hours),
                            "met_at": None if breached or not closed else met,
                            "breached_at": received + timedelta(hours=hours) if breached else None,
                        }
                    )
                if closed and rng.random() < 0.3:
                    answers.append(
                        {
                            "record_id": record_id,
                            "score": rng.choices([1, 2, 3, 4, 5], [3, 5, 12, 40, 40])[0],
                            "via": "link",
                            "actor": "customer",
                            "answered_at": (closed_at or received) + timedelta(hours=2),
                        }
                    )
            conn.execute(insert(Record), records)
            conn.execute(insert(SlaClock), clocks)
            if answers:
                conn.execute(insert(SatisfactionAnswer), answers)
    vacuum_analyze(engine)


def dashboard_seconds(engine: Engine, days: int) -> float:
    services = Services(make_session_factory(engine), VirtualClock(NOW))
    with services.uow() as uow:
        spec = services.specs.of(latest_version(uow.session, "after_sales"))
        wanted = improvement.kpi_filter(spec, NOW - timedelta(days=days), NOW)
        began = time.perf_counter()
        report = kpis.report(uow.session, wanted)
        took = time.perf_counter() - began
        assert report.volume > 0
        return took


def rollup_seconds(engine: Engine) -> tuple[float, int]:
    """One scheduler run of the daily rollup at NOW: seconds, and days it rolled up."""
    services = Services(make_session_factory(engine), VirtualClock(NOW))
    began = time.perf_counter()
    days = sum(services.roll_up().values())
    return time.perf_counter() - began, days


def count_seconds(engine: Engine, days: int | None) -> float:
    statement: Any = select(func.count()).select_from(Record)
    if days is not None:
        statement = statement.where(
            Record.received_at >= NOW - timedelta(days=days), Record.received_at < NOW
        )
    with engine.connect() as conn:
        began = time.perf_counter()
        conn.scalar(statement)
        return time.perf_counter() - began


def admin_list_p95(engine: Engine, requests: int = 20) -> float:
    from wsgi import create_app

    url = engine.url.render_as_string(hide_password=False)
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "SESSION_COOKIE_SECURE": False,
            "WTF_CSRF_ENABLED": False,  # the bench signs in directly; the list is what is timed
        }
    )
    client = app.test_client()
    signed = client.post("/login", data={"username": "bench-ops", "password": PASSWORD})
    assert signed.status_code in (302, 303), signed.status_code
    times = []
    for _ in range(requests + 2):
        began = time.perf_counter()
        response = client.get("/admin/record/")
        times.append(time.perf_counter() - began)
        assert response.status_code == 200, response.status_code
    times = times[2:]
    return statistics.quantiles(times, n=20)[-1]


def main() -> None:
    args = arguments(__doc__ or "", small=20_000, full=1_000_000)
    for kind in backends(args.db):
        with database(kind) as engine:
            seed(engine, args.n)
            counts = {}
            for days in PERIODS:
                counts[days] = median_of(args.runs, partial(count_seconds, engine, days))
            for days in PERIODS:
                ours = median_of(args.runs, partial(dashboard_seconds, engine, days))
                label = f"8 dashboard w/o rollup, {days} d of {args.n:,}"
                Row(label, kind, "ms", ours * 1000, counts[days] * 1000, GOAL, False).print()
            for run in ("first", "again"):
                took, rolled = rollup_seconds(engine)
                print(f"8 daily rollup, {run} run: {took * 1000:,.1f} ms, {rolled} days ({kind})")
            for days in PERIODS:
                ours = median_of(args.runs, partial(dashboard_seconds, engine, days))
                label = f"8 dashboard, {days} days of {args.n:,}"
                Row(label, kind, "ms", ours * 1000, counts[days] * 1000, GOAL, False).print()
            ours = median_of(args.runs, partial(admin_list_p95, engine))
            base = median_of(args.runs, partial(count_seconds, engine, None))
            label = f"8 admin record list of {args.n:,}"
            Row(label, kind, "ms p95", ours * 1000, base * 1000, "p95 ≤ 300 ms", False).print()


if __name__ == "__main__":
    main()
