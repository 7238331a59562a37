"""Issue #21 bench row: queue search and filter p95 (ms) at R open records, against the plain page.

The baseline is the plain indexed work queue (row 4's first page, `queue_page` with no
filter) measured in the same run on the same data; each case is a first page (25 rows) of
`engine.records.finder.find_page` as a supervisor, each request in a session of its own:

- filters: P0, on the phone, breached (the SLA state's EXISTS over the clocks);
- received in the last day, newest first (the `received` sort, `ix_records_received`);
- search for a word every description holds (the page fills from the first rows read);
- search for a word no description holds: the LIKE reads every open record's JSON
  description, which is the search's worst case (documented in docs/desk.md).

The records are bench/seed.py's queue mix (bench_queue's `seed`). The figure is the 95th
percentile over 50 requests after 3 warm-ups (fewer, at least 10, while a 1 s budget per
case lasts), the median of `--runs`.

    python -m bench.bench_queue_filters [--n 50000] [--full] [--runs 3] [--db both|sqlite|pg]
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bench.bench_queue import PAGE, REQUESTS, WARMUP, seed
from bench.common import Row, arguments, backends, database, median_of
from bench.seed import utc_now
from engine.records.finder import Finder, find_page
from engine.records.queue import QueueFilter, queue_page
from engine.store.db import make_session_factory
from engine.store.models import Record, User

SMALL, FULL = 50_000, 1_000_000
MIN_REQUESTS, BUDGET = 10, 1.0
GOAL = "<= 5x the plain page"


def cases(now: datetime) -> dict[str, Finder]:
    return {
        "filter P0+phone+breached": Finder(priority="P0", channel="phone", sla="breached"),
        "received last day, newest": Finder(
            received_from=now - timedelta(days=1), sort="received", descending=True
        ),
        "search, common word": Finder(words=("appliance",)),
        "search, word in no record": Finder(words=("烘干机",)),
    }


Call = Callable[[Session, User], list[Record]]


def p95_ms(engine: Engine, user_id: int, call: Call) -> float:
    """The 95th percentile of timed first pages, each in a session of its own."""
    factory = make_session_factory(engine)
    samples: list[float] = []
    began = time.perf_counter()
    for i in range(WARMUP + REQUESTS):
        with factory() as session:
            user = session.get(User, user_id)
            assert user is not None
            start = time.perf_counter()
            call(session, user)
            elapsed = time.perf_counter() - start
        if i >= WARMUP:
            samples.append(elapsed * 1000)
            if len(samples) >= MIN_REQUESTS and time.perf_counter() - began > BUDGET:
                break
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


def main() -> None:
    args = arguments(__doc__.splitlines()[0], SMALL, FULL)
    with ExitStack() as stack:
        engines = {kind: stack.enter_context(database(kind)) for kind in backends(args.db)}
        now = utc_now()
        began = time.perf_counter()
        counts, users = seed(list(engines.values()), args.n, now)
        print(
            f"# {', '.join(engines)}: {counts.records:,} open records seeded in "
            f"{time.perf_counter() - began:.1f} s",
            flush=True,
        )
        for (kind, engine), user_id in zip(engines.items(), users, strict=True):
            measure(kind, engine, user_id, now, args.runs)


def measure(kind: str, engine: Engine, user_id: int, now: datetime, runs: int) -> None:
    """Print one row per case, each against the plain page's p95 on the same database."""

    def plain(session: Session, user: User) -> list[Record]:
        return queue_page(session, user, QueueFilter(), now, limit=PAGE)

    baseline = median_of(runs, partial(p95_ms, engine, user_id, plain))
    for name, wanted in cases(now).items():
        call = partial(_filtered, wanted=wanted, now=now)
        ours = median_of(runs, partial(p95_ms, engine, user_id, call))
        Row(name, kind, "ms p95", ours, baseline, GOAL, higher_is_better=False).print()


def _filtered(session: Session, user: User, *, wanted: Finder, now: datetime) -> list[Record]:
    return find_page(session, user, wanted, now, limit=PAGE)


if __name__ == "__main__":
    main()
