"""Row 4: work-queue latency, first and second page, with R open records (p95, ms).

What an agent's screen asks for most: the first page (25 rows) of the work queue, and of
the "breached" filter, then the next page via the keyset cursor (`Cursor.after` of the
first page's last record), through `engine.queue.queue_page` as a supervisor (who sees
every record). Each request opens its own session, like a web request. The figure is the
95th percentile over 50 requests (after 3 warm-up requests), the median of `--runs`.

The baseline is the very same calls with the indexes the queries use dropped, then
recreated: on PostgreSQL the queue index `ix_records_queue` and the `sla_clocks
(record_id, target)` unique index that the breached filter's EXISTS and the clocks'
`selectinload` look records up by; on SQLite, which cannot drop a table's unique
constraint, the queue index only (see `without_indexes`). Its p95 is over at least 10
requests, up to 50 while a 1 s budget per case and run lasts. Both pages must hold the same
records with and without the indexes.

R open records seeded set-based (bench/seed.py) with the mix of a live queue: P0 5 %,
P1 25 %, P2 70 %; 3 % of VIP customers (tier_rank 0); 45 % pending, 45 % in progress,
10 % waiting on the customer (no deadline); next deadlines within ±3 days of now, so
those in the past are breached.

    python -m bench.bench_queue [--n 50000] [--full] [--runs 3] [--db both|sqlite|pg]
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, text

from bench.common import Row, arguments, backends, database, median_of
from bench.seed import Counts, Seeder, add_staff, utc_now, vacuum_analyze
from engine.records.queue import Cursor, QueueFilter, queue_page
from engine.store.db import make_session_factory
from engine.store.models import Record, User

SMALL, FULL = 50_000, 1_000_000
PAGE = 25
REQUESTS = 50
WARMUP = 3
MIN_REQUESTS = 10
BASELINE_BUDGET = 1.0  # seconds of baseline requests per case and run, once MIN_REQUESTS are in
GOAL_MS = 20.0
GOAL_RATIO = 50.0
CASES = (("work queue", QueueFilter()), ("breached", QueueFilter(breached=True)))
SUPERVISOR = "bench-supervisor"
CLOCKS_KEY = "uq_sla_clocks_record_target"


@dataclass(frozen=True)
class Request:
    """One kind of request: a filter, and the cursor of its second page (None: first)."""

    name: str
    wanted: QueueFilter
    after: Cursor | None


def seed(
    engines: list[Engine], records: int, now: datetime, *, history: bool = True
) -> tuple[Counts, list[int]]:
    """R open records of the queue's mix (the same in each database), and the supervisor
    who looks at them; without timers and history events if `history` is False."""
    seeder = Seeder(engines, now, history=history)
    for _ in range(records):
        seeder.keep(seeder.realistic(now))
    counts = seeder.finish()
    users = []
    for engine in engines:
        with engine.begin() as conn:
            users.append(add_staff(conn, now, SUPERVISOR, "supervisor"))
    return counts, users


def page(engine: Engine, user_id: int, request: Request, now: datetime) -> list[Record]:
    with make_session_factory(engine)() as session:
        user = session.get(User, user_id)
        assert user is not None and user.role == "supervisor"
        return queue_page(session, user, request.wanted, now, limit=PAGE, after=request.after)


def requests(engine: Engine, user_id: int, now: datetime) -> list[Request]:
    """First and second page of each filter; the cursor comes from the first page's end."""
    built = []
    for name, wanted in CASES:
        first = page(engine, user_id, Request(name, wanted, None), now)
        assert len(first) == PAGE, f"{name}: only {len(first)} records on the first page"
        built.append(Request(f"queue {name}, first page", wanted, None))
        built.append(Request(f"queue {name}, next page", wanted, Cursor.after(first[-1])))
    return built


def p95_ms(
    engine: Engine, user_id: int, request: Request, now: datetime, budget: float | None = None
) -> float:
    """The 95th percentile of REQUESTS timed requests, each in a session of its own.

    With a `budget` (seconds, the baseline's), stop early once it is spent and at least
    MIN_REQUESTS are in: a request that scans the whole table need not be timed 50 times.
    """
    factory = make_session_factory(engine)
    samples: list[float] = []
    began = time.perf_counter()
    for i in range(WARMUP + REQUESTS):
        with factory() as session:
            user = session.get(User, user_id)
            assert user is not None
            start = time.perf_counter()
            rows = queue_page(session, user, request.wanted, now, limit=PAGE, after=request.after)
            elapsed = time.perf_counter() - start
        assert len(rows) == PAGE
        if i >= WARMUP:
            samples.append(elapsed * 1000)
            spent = time.perf_counter() - began
            if budget is not None and len(samples) >= MIN_REQUESTS and spent > budget:
                break
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


def median_p95(
    runs: int,
    engine: Engine,
    user_id: int,
    request: Request,
    now: datetime,
    budget: float | None = None,
) -> float:
    return median_of(runs, lambda: p95_ms(engine, user_id, request, now, budget))


def ids(engine: Engine, user_id: int, built: list[Request], now: datetime) -> list[list[int]]:
    return [[r.id for r in page(engine, user_id, request, now)] for request in built]


@contextmanager
def without_indexes(engine: Engine) -> Iterator[None]:
    """The queue index and the clocks' record index gone for the block, then restored."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            queue_index = conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_records_queue'")
            ).scalar_one()
            clocks_key = conn.execute(
                text(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                    f"WHERE conname = '{CLOCKS_KEY}'"
                )
            ).scalar_one()
            conn.execute(text("DROP INDEX ix_records_queue"))
            conn.execute(text(f"ALTER TABLE sla_clocks DROP CONSTRAINT {CLOCKS_KEY}"))
        vacuum_analyze(engine)
        try:
            yield
        finally:
            with engine.begin() as conn:
                conn.execute(text(queue_index))
                conn.execute(
                    text(f"ALTER TABLE sla_clocks ADD CONSTRAINT {CLOCKS_KEY} {clocks_key}")
                )
            vacuum_analyze(engine)
        return
    # SQLite cannot drop a table's UNIQUE constraint; rebuilding `sla_clocks` without it
    # makes the breached filter quadratic (an EXISTS scanning every clock for every open
    # record: 2-4 s a page at 5,000 records, hours at 1,000,000), so only the queue goes.
    with engine.begin() as conn:
        queue_index = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'ix_records_queue'")
        ).scalar_one()
        conn.execute(text("DROP INDEX ix_records_queue"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(queue_index))


def main() -> None:
    args = arguments(__doc__.splitlines()[0], SMALL, FULL)
    with ExitStack() as stack:
        engines = {kind: stack.enter_context(database(kind)) for kind in backends(args.db)}
        now = utc_now()
        began = time.perf_counter()
        counts, users = seed(list(engines.values()), args.n, now)
        print(
            f"# {', '.join(engines)}: {counts.records:,} open records seeded in "
            f"{time.perf_counter() - began:.1f} s ({counts.by_priority.get('P0', 0):,} P0, "
            f"{counts.breached:,} breached, {counts.no_deadline:,} without deadline; "
            f"{counts.clocks:,} clocks, {counts.timers:,} timers, {counts.events:,} events)",
            flush=True,
        )
        for (kind, engine), user_id in zip(engines.items(), users, strict=True):
            built = requests(engine, user_id, now)
            ours = {r.name: median_p95(args.runs, engine, user_id, r, now) for r in built}
            expected = ids(engine, user_id, built, now)
            with without_indexes(engine):
                assert ids(engine, user_id, built, now) == expected, "pages differ without indexes"
                baseline = {
                    r.name: median_p95(args.runs, engine, user_id, r, now, BASELINE_BUDGET)
                    for r in built
                }
            for request in built:
                Row(
                    request.name,
                    kind,
                    "ms p95",
                    ours[request.name],
                    baseline[request.name],
                    f"<= {GOAL_MS:g} ms, >= {GOAL_RATIO:g}x",
                    higher_is_better=False,
                ).print()


if __name__ == "__main__":
    main()
