"""Row 3: firing due timers, timers/s with 1, 2 and 4 scheduler processes; catch-up seconds.

The database holds T timers of which D are due (small: 5,000 due among 50,000; full:
100,000 among 1,000,000): open records of a live queue's mix (bench/seed.py) whose
scheduler stopped 12 hours ago, so the warnings, breaches, escalations and progress
follow-ups that came due since are pending, and the older ones fired (with the
notifications and sent messages they gave, `bench.seednotices`). N processes of
`careloop scheduler --once --json --batch 200` (real subprocesses, CARELOOP_DATABASE_URL
pointing at the database) then claim, fire and mark them: FOR UPDATE SKIP LOCKED batches,
each fired set-based (effects computed in Python, then one statement per kind of row:
history events with `timer_id`, notifications, new timers, clock and record changes, the
timers' marks). The figure is the timers fired per second of wall time from starting the
processes to the last one's exit, process start-up included; the same count over the wall
time less one idle process's start-up is printed under it, since at the small size the
start-up (about 1 s: imports, connecting) is a large share of the run. A breach that fires arms the
escalation 4 h after it, which fires in the same sweep when that moment has passed too,
so more timers fire than were due at the start; all of them count.

Every run is checked: each timer fired in the run has exactly one history event carrying
its id (0 duplicates, 0 without effect), the processes' reported counts add up to the
fired rows, and no timer due at the start is still pending without having been tried (0
lost). A timer whose attempt failed (two sweepers deadlocking on a record's rows) is
retried by the other processes or, once every process has finished, left for the next
sweep: the bench then runs one more `--once` (untimed) and requires it to fire them.

The baseline fires the same due timers set-based, in one transaction: one `UPDATE timers
SET status = 'fired' … WHERE status = 'pending' AND due_at <= now RETURNING id,
record_id, kind, name` and one `INSERT` of their history events. Goals: with 1 process at
least 0.4x the baseline (issue #24; 0.33x before it) and 10,000 timers/s; more processes,
more timers/s.

The database's floor (issue #24 item 4), with 1 process, in the same run: every row the
scheduler wrote (read back by the driver from its copy: rows added to any table, timers,
clocks and records whose values changed, only the columns that changed) written by the
driver alone into a fresh copy, `executemany` per table, in as many transactions as the
scheduler reported batches (they grow from 200 to 1,000 while a backlog lasts); the ratio
says how close firing comes to what the database allows.

Catch-up: L late timers (small 10,000; full 1,000,000) of a scheduler down for 3 days,
fired by 2 processes: seconds until the last exits (goal at full size: 2 minutes), against
the same set-based baseline.

Each run starts from a copy of the seeded database (PostgreSQL: CREATE DATABASE …
TEMPLATE; SQLite: a file copy). SQLite, one writer at a time, is printed for reference:
one run, one process, no catch-up; with --full only when asked for (--db sqlite).

    python -m bench.bench_sweep [--n 5000] [--full] [--runs 3] [--db both|sqlite|pg]
        [--processes 1,2,4] [--catchup LATE] [--no-sweep]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    create_engine,
    exists,
    func,
    insert,
    select,
    text,
    update,
)

from bench.common import PG_ADMIN_URL, ROOT, Row, arguments, backends, database, table_of
from bench.floor import driver_rows, write_rows
from bench.seed import Counts, Seeder, utc_now
from engine.store.db import make_engine
from engine.store.models import Model, RecordEvent, Timer

SMALL, FULL = 5_000, 100_000  # due timers
TIMERS_PER_DUE = 10
LATE_SMALL, LATE_FULL = 10_000, 1_000_000
PROCESSES = (1, 2, 4)
CATCH_UP_PROCESSES = 2
BATCH = 200
BACKLOG = timedelta(hours=12)  # how long the scheduler has been down in the sweep bench
LATE = timedelta(days=3)  # and in the catch-up bench
GOAL_RATIO, GOAL_RATE, GOAL_CATCH_UP = 0.4, 10_000, 120.0
CARELOOP = str(Path(sys.executable).parent / "careloop")
TIMERS = table_of(Timer)
EVENTS = table_of(RecordEvent)
CHANGED = ("timers", "sla_clocks", "records")  # the tables whose existing rows a sweep changes
Rows = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Seeded:
    counts: Counts
    due: int
    seconds: float


@dataclass(frozen=True)
class Run:
    """One measured firing: how long, how many were due, how many fired, and by whom."""

    seconds: float
    due: int
    fired: int
    shares: tuple[int, ...] = ()
    retried: int = 0
    deferred: int = 0
    error: str | None = None
    batches: int = 0

    @property
    def rate(self) -> float:
        return self.fired / self.seconds


def seed_backlog(engine: Engine, due: int, total: int, down_for: timedelta) -> Seeded:
    """Exactly `due` timers due now among about `total`, the scheduler down for `down_for`.

    First records with something due (drawn until the count is exact), then records with
    nothing due until the table holds `total` timers (fired history included).
    """
    began = time.perf_counter()
    now = utc_now()
    seeder = Seeder(engine, now, notices=True)
    fired_until = now - down_for
    got, misses = 0, 0
    while got < due and misses < 100_000:
        draft = seeder.realistic(fired_until)
        count = draft.due(now)
        if count == 0 or got + count > due:
            misses += 1
            continue
        seeder.keep(draft)
        got, misses = got + count, 0
    while seeder.counts.timers < total:
        draft = seeder.realistic(fired_until)
        if draft.due(now) == 0:
            seeder.keep(draft)
    counts = seeder.finish()
    return Seeded(counts, got, time.perf_counter() - began)


@contextmanager
def copy_of(template: Engine) -> Iterator[str]:
    """A fresh copy of the seeded database for one run; its URL."""
    template.dispose()  # CREATE DATABASE … TEMPLATE needs the template without sessions
    url = template.url
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        source = Path(url.database)
        target = source.with_name(f"run-{uuid.uuid4().hex[:8]}.db")
        shutil.copyfile(source, target)
        try:
            yield f"sqlite:///{target}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
        return
    name = f"{url.database}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def checkpoint(engine: Engine) -> None:
    """SQLite: everything in the main file, so a file copy is the whole database."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # outside a transaction: the engine's begins IMMEDIATE
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()


def due_now(conn: Connection, now: datetime, *where: Any) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(TIMERS)
            .where(TIMERS.c.status == "pending", TIMERS.c.due_at <= now, *where)
        ).scalar_one()
    )


def schedulers(url: str, processes: int) -> tuple[float, list[int], int]:
    """Start the processes at once, wait for all; wall seconds, what each fired, and their
    batches (each one transaction) in all.

    Their output goes to files, not pipes: a child blocked on a full stderr pipe (tracebacks
    of retried timers) while holding row locks would stall the others waiting on them.
    """
    env = {**os.environ, "CARELOOP_DATABASE_URL": url}
    command = [CARELOOP, "scheduler", "--once", "--json", "--batch", str(BATCH)]
    with ExitStack() as files:
        outs = [files.enter_context(tempfile.TemporaryFile("w+")) for _ in range(processes)]
        errs = [files.enter_context(tempfile.TemporaryFile("w+")) for _ in range(processes)]
        began = time.perf_counter()
        children = [
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
            for out, err in zip(outs, errs, strict=True)
        ]
        for child in children:
            child.wait(timeout=3600)
        seconds = time.perf_counter() - began
        texts = []
        for child, out, err in zip(children, outs, errs, strict=True):
            out.seek(0)
            err.seek(0)
            text_out = out.read()
            if child.returncode != 0:
                raise SystemExit(f"scheduler exited with {child.returncode}:\n{err.read()}")
            texts.append(text_out)
    reports = [json.loads(t.strip().splitlines()[-1]) for t in texts]
    return seconds, [r["fired"] for r in reports], sum(r["batches"] for r in reports)


def check(engine: Engine, since: datetime, reported: int) -> dict[str, Any]:
    """Count what the run did: every problem must be 0, or the figure means nothing.

    Each count is one indexed query: timers fired since the start, their events (by the
    unique `timer_id`), and the timers due at the start still pending.
    """
    fired = and_(TIMERS.c.status == "fired", TIMERS.c.fired_at >= since)
    run_events = and_(EVENTS.c.timer_id.is_not(None), EVENTS.c.at >= since)
    with engine.connect() as conn:

        def scalar(statement: Any) -> int:
            return int(conn.execute(statement).scalar_one() or 0)

        def timers(*where: Any) -> int:
            return scalar(select(func.count()).select_from(TIMERS).where(*where))

        events = scalar(select(func.count()).select_from(EVENTS).where(run_events))
        distinct = scalar(select(func.count(func.distinct(EVENTS.c.timer_id))).where(run_events))
        has_effect = exists().where(EVENTS.c.timer_id == TIMERS.c.id)
        found: dict[str, Any] = {
            "fired": timers(fired),
            "events": events,
            "duplicates": events - distinct,
            "without effect": timers(fired, ~has_effect),
            # Never tried although due: lost. Tried and failed (a deadlock between two
            # sweepers): skipped for the rest of that sweep, left for the next one.
            "lost": due_now(conn, since, TIMERS.c.attempts == 0),
            "deferred": due_now(conn, since, TIMERS.c.attempts > 0),
            "failed": timers(TIMERS.c.status == "failed"),
            "retried": timers(TIMERS.c.attempts > 0, TIMERS.c.status == "fired"),
            "cancelled": timers(TIMERS.c.status == "cancelled", TIMERS.c.fired_at >= since),
        }
    problems = {
        key: found[key] for key in ("duplicates", "without effect", "lost", "failed") if found[key]
    }
    if found["fired"] != found["events"] or found["fired"] != reported:
        problems["fired/events/reported"] = found["fired"]
    if problems:
        raise SystemExit(f"sweep check failed: {problems} ({found}, reported {reported})")
    if found["retried"] or found["deferred"]:
        with engine.connect() as conn:
            error = conn.execute(
                select(TIMERS.c.last_error).where(TIMERS.c.attempts > 0).limit(1)
            ).scalar_one()
            found["error"] = (error or "").splitlines()[0]
    return found


def ours(url: str, processes: int) -> Run:
    engine = make_engine(url)
    try:
        start = utc_now()
        with engine.connect() as conn:
            due = due_now(conn, start)
        engine.dispose()
        seconds, shares, batches = schedulers(url, processes)
        found = check(engine, start, sum(shares))
        if found["deferred"]:  # the next sweep must fire them (untimed)
            schedulers(url, 1)
            with engine.connect() as conn:
                if due_now(conn, start):
                    raise SystemExit("timers failed in a sweep were not fired by the next one")
        return Run(
            seconds,
            due,
            found["fired"],
            tuple(shares),
            found["retried"],
            found["deferred"],
            found.get("error"),
            batches,
        )
    finally:
        engine.dispose()


def baseline(url: str) -> Run:
    """The set-based floor: one UPDATE … RETURNING and one INSERT of the events, one commit."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:  # connected before the clock starts, as the schedulers are
            now = utc_now()
            began = time.perf_counter()
            with conn.begin():
                fired = conn.execute(
                    update(TIMERS)
                    .where(TIMERS.c.status == "pending", TIMERS.c.due_at <= now)
                    .values(status="fired", fired_at=now)
                    .returning(TIMERS.c.id, TIMERS.c.record_id, TIMERS.c.kind, TIMERS.c.name)
                ).all()
                if fired:
                    conn.execute(insert(EVENTS), [effect(row, now) for row in fired])
            seconds = time.perf_counter() - began
        found = check(engine, now, len(fired))
        return Run(seconds, len(fired), found["fired"])
    finally:
        engine.dispose()


def effect(row: Any, now: datetime) -> dict[str, Any]:
    kind = {
        "sla_warning": f"sla.{row.name}.warning",
        "sla_breach": f"sla.{row.name}.breached",
        "sla_escalation": f"sla.{row.name}.escalated",
    }.get(row.kind, f"followup.{row.name}")
    return {
        "record_id": row.record_id,
        "at": now,
        "actor": "system",
        "kind": kind,
        "transition": None,
        "from_stage": None,
        "to_stage": None,
        "changes": {},
        "timer_id": row.id,
    }


def snapshot(engine: Engine) -> tuple[dict[str, int], Rows]:
    """Before a run: each table's highest id, and the rows a sweep may change, as the driver
    reads them."""
    top = {
        table.name: int(
            driver_rows(engine, f'SELECT max(id) AS top FROM "{table.name}"')[0]["top"] or 0
        )
        for table in Model.metadata.sorted_tables
        if "id" in table.c
    }
    return top, {name: driver_rows(engine, f'SELECT * FROM "{name}"') for name in CHANGED}


def written_by_run(engine: Engine, top: dict[str, int], before: Rows) -> tuple[Rows, Rows]:
    """What a run wrote: rows added to any table (in the order foreign keys need), and for
    the tables it changes, the changed columns of each changed row with its id."""
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    added = {
        name: driver_rows(engine, f'SELECT * FROM "{name}" WHERE id > {mark} ORDER BY id', [last])
        for name, last in top.items()
    }
    changed: Rows = {}
    for name in CHANGED:
        old = {row["id"]: row for row in before[name]}
        rows = []
        for row in driver_rows(engine, f'SELECT * FROM "{name}" WHERE id <= {mark}', [top[name]]):
            diff = {k: v for k, v in row.items() if old[row["id"]][k] != v}
            if diff:
                rows.append({"id": row["id"], **diff})
        columns = sorted({k for row in rows for k in row} - {"id"})
        changed[name] = [
            {c: row.get(c, old[row["id"]][c]) for c in columns} | {"id": row["id"]} for row in rows
        ]
    return {k: v for k, v in added.items() if v}, {k: v for k, v in changed.items() if v}


def write_floor(url: str, added: Rows, changed: Rows, transactions: int) -> float:
    """Seconds to write the run's rows by the driver alone in `transactions` commits: the
    rows in foreign-key order (added parents, their children, then the updates) cut into
    that many parts, each part one executemany per table."""
    writes = [(name, "", row) for name, rows in added.items() for row in rows]
    writes += [(name, "id", row) for name, rows in changed.items() for row in rows]
    size = -(-len(writes) // transactions)
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        dialect = engine.dialect.name
        began = time.perf_counter()
        for first in range(0, len(writes), size):
            part = writes[first : first + size]
            for (name, key), group in itertools.groupby(part, key=lambda w: (w[0], w[1])):
                write_rows(raw, dialect, name, [row for _, _, row in group], key=key)
            raw.commit()
        return time.perf_counter() - began
    finally:
        raw.close()
        engine.dispose()


def ours_and_floor(template: Engine, runs: int) -> tuple[list[Run], list[Run]]:
    """One process's runs, and after each the driver's floor for the very rows it wrote."""
    top, before = snapshot(template)
    template.dispose()
    results, floors = [], []
    for _ in range(runs):
        with copy_of(template) as url:
            run = ours(url, 1)
            engine = make_engine(url)
            added, changed = written_by_run(engine, top, before)
            engine.dispose()
        with copy_of(template) as url:
            seconds = write_floor(url, added, changed, max(1, run.batches))
        results.append(run)
        floors.append(Run(seconds, run.due, run.fired))
        rows = sum(map(len, added.values())) + sum(map(len, changed.values()))
        tables = [f"{k} +{len(v):,}" for k, v in added.items()]
        tables += [f"{k} ~{len(v):,}" for k, v in changed.items()]
        print(
            f"#   driver floor: {rows:,} rows ({', '.join(tables)}) in {seconds:.2f} s", flush=True
        )
    return results, floors


def idle_start(kind: str) -> float:
    """Seconds of a `--once` process that finds nothing due (imports, connecting, an empty
    sweep, exiting): what each run's figure pays besides firing. The median of three."""
    with database(kind) as empty:
        url = empty.url.render_as_string(hide_password=False)
        empty.dispose()
        times = []
        for _ in range(3):
            seconds, shares, _ = schedulers(url, 1)
            assert shares == [0], shares
            times.append(seconds)
    return statistics.median(times)


def measured(template: Engine, runs: int, measure: Any) -> list[Run]:
    results = []
    for _ in range(runs):
        with copy_of(template) as url:
            results.append(measure(url))
    return results


def describe(kind: str, what: str, results: list[Run]) -> str:
    shares = " ".join("/".join(f"{s:,}" for s in r.shares) for r in results if r.shares)
    return (
        f"# {kind} {what}: {len(results)} runs, due at start {results[0].due:,}, fired "
        f"{', '.join(f'{r.fired:,}' for r in results)} in "
        f"{', '.join(f'{r.seconds:.2f}' for r in results)} s"
        + (f" (per process: {shares})" if shares else "")
        + "; 0 duplicates, 0 lost, 0 without effect"
        + "".join(
            f"; run {i + 1}: {r.retried} fired after a failed attempt, {r.deferred} left "
            f"for the next sweep ({r.error})"
            for i, r in enumerate(results)
            if r.retried or r.deferred
        )
    )


def sweep_bench(kind: str, due: int, runs: int, processes: tuple[int, ...] = PROCESSES) -> None:
    processes = processes if kind == "pg" else (1,)
    runs = runs if kind == "pg" else 1
    startup = idle_start(kind)
    print(f"# {kind}: an idle `scheduler --once` process takes {startup:.2f} s", flush=True)
    with database(kind) as template:
        seeded = seed_backlog(template, due, due * TIMERS_PER_DUE, BACKLOG)
        checkpoint(template)
        print(
            f"# {kind}: seeded {seeded.counts.timers:,} timers, {seeded.due:,} due "
            f"(scheduler down {BACKLOG}), {seeded.counts.records:,} records, "
            f"in {seeded.seconds:.1f} s",
            flush=True,
        )
        base = measured(template, runs, baseline)
        print(describe(kind, "baseline", base), flush=True)
        floor = statistics.median(r.rate for r in base)
        for count in processes:
            if count == 1:
                results, floors = ours_and_floor(template, runs)
            else:
                results = measured(template, runs, lambda url, n=count: ours(url, n))
            print(describe(kind, f"{count} process(es)", results), flush=True)
            rate = statistics.median(r.rate for r in results)
            if count == 1:
                Row(
                    "sweep vs driver floor, 1 process",
                    kind,
                    "timers/s",
                    rate,
                    statistics.median(r.rate for r in floors),
                    "- (the database's own floor)",
                ).print()
            goal = (
                f">= {GOAL_RATIO:g}x and >= {GOAL_RATE:,}/s"
                if count == 1
                else "more than with fewer processes"
            )
            if kind == "sqlite":
                goal = "reference (one writer)"
            label = "process" if count == 1 else "processes"
            Row(f"sweep, {count} {label}", kind, "timers/s", rate, floor, goal).print()
            firing = statistics.median(r.fired / max(r.seconds - startup, 1e-3) for r in results)
            print(
                f"#   less one idle start-up ({startup:.2f} s): {firing:,.0f} timers/s, "
                f"{firing / floor:.2f}x",
                flush=True,
            )


def catch_up_bench(kind: str, late: int, runs: int) -> None:
    with database(kind) as template:
        seeded = seed_backlog(template, late, 2 * late, LATE)
        checkpoint(template)
        print(
            f"# {kind}: seeded {seeded.counts.timers:,} timers, {seeded.due:,} late "
            f"(scheduler down {LATE}), in {seeded.seconds:.1f} s",
            flush=True,
        )
        base = measured(template, runs, baseline)
        print(describe(kind, "catch-up baseline", base), flush=True)
        results = measured(template, runs, lambda url: ours(url, CATCH_UP_PROCESSES))
        print(describe(kind, f"catch-up, {CATCH_UP_PROCESSES} processes", results), flush=True)
        Row(
            f"catch-up {late:,} late, 2 processes",
            kind,
            "s",
            statistics.median(r.seconds for r in results),
            statistics.median(r.seconds for r in base),
            f"<= {GOAL_CATCH_UP:g} s at {LATE_FULL:,}",
            higher_is_better=False,
        ).print()


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--processes",
        default=",".join(map(str, PROCESSES)),
        help="the sweep's process counts, comma-separated (default %(default)s)",
    )
    parser.add_argument(
        "--catchup",
        type=int,
        default=None,
        help=f"late timers of the catch-up (default {LATE_SMALL:,} per {SMALL:,} due, "
        f"{LATE_FULL:,} with --full; 0: no catch-up)",
    )
    parser.add_argument("--no-sweep", action="store_true", help="the catch-up alone")


def main() -> None:
    args = arguments(__doc__.splitlines()[0], SMALL, FULL, options)
    late = LATE_FULL if args.full else LATE_SMALL * args.n // SMALL
    late = late if args.catchup is None else args.catchup
    processes = tuple(int(count) for count in args.processes.split(","))
    for kind in backends(args.db):
        if kind == "sqlite" and args.full and args.db == "both":
            continue  # the reference costs minutes at full size; ask for it with --db sqlite
        if not args.no_sweep:
            sweep_bench(kind, args.n, args.runs, processes)
        if kind == "pg" and late:
            catch_up_bench(kind, late, args.runs)


if __name__ == "__main__":
    main()
