"""Issue #21 bench row: queue search, filters and keyset pages, p95 (ms) at R records, against
the plain indexed page.

The baseline is the plain indexed work queue (row 4's first page, `queue_page` with no filter)
measured in the same run on the same data. Each case is `engine.records.finder.find_page`
(25 rows) as a supervisor unless it says otherwise, each request in a session of its own:

- search by a word, from common to absent (`bench.data`'s complaints: a product word in 1 of 8
  descriptions, a part in 1 of 36, two words together in about 1 of 600, one order number, a
  word in none), through the records' full-text index (`engine.records.searchindex`);
- filter combinations: stage + priority, priority + channel + SLA breached, SLA warning,
  received in the last day newest first, an agent's team scope with a word;
- keyset pages 2 to 5 of two sorts and of a search (the cursor from the page before).

R open records seeded set-based (bench/seed.py: COPY on PostgreSQL, executemany on SQLite; the
queue's mix, with their clocks and search documents, without timers and history, which no
case reads). The figure is the 95th percentile over 50 requests after 3 warm-ups (fewer, at
least 10, once a 1 s budget per case is spent), the median of `--runs`. After the figures,
each case's query plan (`EXPLAIN QUERY PLAN`; PostgreSQL `EXPLAIN ANALYZE`) shows the index
it reads.

    python -m bench.bench_queue_filters [--n 50000] [--full] [--runs 3] [--db both|sqlite|pg]
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Engine, event, insert, text
from sqlalchemy.orm import Session

from bench.bench_queue import PAGE, REQUESTS, WARMUP, seed
from bench.common import Row, arguments, backends, database, median_of
from bench.seed import ORDER, add_staff, utc_now
from engine.records.finder import Finder, cursor_of, find_page
from engine.records.queue import QueueFilter, queue_page
from engine.store.db import make_session_factory
from engine.store.models import Team, User

SMALL, FULL = 50_000, 1_000_000
MIN_REQUESTS, BUDGET = 10, 1.0
GOAL = "<= 100 ms"
AGENT, DEPARTMENT = "bench-agent", "rnd"
PAGES = 5  # keyset cases: pages 2..PAGES


@dataclass(frozen=True)
class Case:
    name: str
    wanted: Finder
    agent: bool = False  # as an agent of R&D (team scope in SQL) rather than a supervisor
    pages: bool = False  # pages 2..PAGES through the cursor rather than the first


def cases(now: datetime, order_number: str) -> list[Case]:
    return [
        Case("search 洗衣机 (1 in 8)", Finder(words=("洗衣机",))),
        Case("search 门封条 (1 in 36)", Finder(words=("门封条",))),
        Case("search 冰箱 漏水 (1 in 600)", Finder(words=("冰箱", "漏水"))),
        Case("search an order number (1)", Finder(words=(order_number,))),
        Case("search 烘干机 (none)", Finder(words=("烘干机",))),
        Case("filter in_progress + P1", Finder(stage="in_progress", priority="P1")),
        Case(
            "filter P0 + phone + breached", Finder(priority="P0", channel="phone", sla="breached")
        ),
        Case("filter SLA warning", Finder(sla="warning")),
        Case(
            "received last day, newest",
            Finder(received_from=now - timedelta(days=1), sort="received", descending=True),
        ),
        Case("agent (team scope) + 噪音", Finder(words=("噪音",)), agent=True),
        Case("received newest, pages 2-5", Finder(sort="received", descending=True), pages=True),
        Case("deadline, pages 2-5", Finder(sort="deadline"), pages=True),
        Case("search 洗衣机, pages 2-5", Finder(words=("洗衣机",)), pages=True),
    ]


Call = Callable[[Session, User], object]


def p95_ms(engine: Engine, user_id: int, calls: Sequence[Call]) -> float:
    """The 95th percentile of timed requests (the calls in turn), each in a session of its own."""
    factory = make_session_factory(engine)
    samples: list[float] = []
    began = time.perf_counter()
    for i in range(WARMUP + REQUESTS):
        with factory() as session:
            user = session.get(User, user_id)
            assert user is not None
            start = time.perf_counter()
            calls[i % len(calls)](session, user)
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
        counts, supervisors = seed(list(engines.values()), args.n, now, history=False)
        print(
            f"# {', '.join(engines)}: {counts.records:,} open records with {counts.clocks:,} "
            f"clocks and their search documents seeded in {time.perf_counter() - began:.1f} s",
            flush=True,
        )
        for (kind, engine), supervisor in zip(engines.items(), supervisors, strict=True):
            users = {False: supervisor, True: add_agent(engine, now)}
            order_number = an_order_number(engine)
            measure(kind, engine, users, cases(now, order_number), now, args.runs)


def measure(
    kind: str, engine: Engine, users: dict[bool, int], built: list[Case], now: datetime, runs: int
) -> None:
    """One row per case against the plain page's p95 on the same database, then the plans."""

    def plain(session: Session, user: User) -> object:
        return queue_page(session, user, QueueFilter(), now, limit=PAGE)

    baseline = median_of(runs, lambda: p95_ms(engine, users[False], [plain]))
    plans: list[tuple[str, list[str]]] = []
    for case in built:
        user_id = users[case.agent]
        calls = requests(engine, user_id, case, now)
        ours = median_of(runs, partial(p95_ms, engine, user_id, calls))
        Row(case.name, kind, "ms p95", ours, baseline, GOAL, higher_is_better=False).print()
        plans.append((case.name, explain(engine, user_id, calls[0])))
    for name, plan in plans:
        print(f"# plan, {kind}, {name}:")
        for line in plan:
            print(f"#   {line}")


def requests(engine: Engine, user_id: int, case: Case, now: datetime) -> list[Call]:
    """The case's calls: its first page, or pages 2..PAGES with the cursors they are asked by."""
    if not case.pages:
        return [_page(case.wanted, now, None)]
    afters: list[list[Any]] = []
    with make_session_factory(engine)() as session:
        user = session.get(User, user_id)
        assert user is not None
        after = None
        for _ in range(PAGES - 1):
            page = find_page(session, user, case.wanted, now, limit=PAGE, after=after)
            assert len(page) == PAGE, f"{case.name}: a page of {len(page)}"
            after = cursor_of(case.wanted, page[-1])
            afters.append(after)
    return [_page(case.wanted, now, after) for after in afters]


def _page(wanted: Finder, now: datetime, after: list[Any] | None) -> Call:
    def call(session: Session, user: User) -> object:
        return find_page(session, user, wanted, now, limit=PAGE, after=after)

    return call


def explain(engine: Engine, user_id: int, call: Call) -> list[str]:
    """The plan of the page's main statement (the first one a request sends), as run."""
    with make_session_factory(engine)() as session, _first_statement(engine) as seen:
        user = session.get(User, user_id)
        assert user is not None
        seen.clear()
        call(session, user)
        statement, parameters = seen[0]
        if engine.dialect.name == "postgresql":
            prefix = "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) "
            rows = session.connection().exec_driver_sql(prefix + statement, parameters)
            return [str(r[0]) for r in rows]
        rows = session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return [str(r[-1]) for r in rows]


@contextmanager
def _first_statement(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "\nFROM records" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def add_agent(engine: Engine, now: datetime) -> int:
    """An agent of the R&D team: sees R&D's records, untriaged ones and their own (R-2.2)."""
    with engine.begin() as conn:
        team = conn.execute(
            insert(Team).values(name="bench-rnd", department=DEPARTMENT).returning(Team.id)
        ).scalar_one()
        return add_staff(conn, now, AGENT, "agent", team_id=team)


def an_order_number(engine: Engine) -> str:
    """One record's order number (a word of its description only it holds)."""
    with engine.connect() as conn:
        description = conn.execute(
            text(
                "SELECT description FROM (SELECT "
                + (
                    "fields->>'description'"
                    if engine.dialect.name == "postgresql"
                    else "json_extract(fields, '$.description')"
                )
                + " AS description FROM records ORDER BY id LIMIT 1000) d "
                f"WHERE description LIKE '%{ORDER}%' LIMIT 1"
            )
        ).scalar_one()
    return str(description).partition(ORDER)[2][:16]


if __name__ == "__main__":
    main()
