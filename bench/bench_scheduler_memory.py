"""Row 6: the scheduler's memory does not grow with the number of pending timers.

The engine's `timers` table is the truth and the sweep claims a small batch at a time, so
a scheduler process should weigh the same with a million pending timers as with none
(an APScheduler job store holding one job per timer would not). Each measurement is a
fresh interpreter that does what `careloop scheduler` does before its first sweep: build
the scheduler from `schedules/worker.py`, start it (paused, so no job runs), and claim
one batch of due timers as a sweep would (rolled back). Its resident set size (VmRSS now,
VmHWM at peak) is compared with the same process on the same database with no timers.

The timers are written set-based (Core executemany on SQLite, INSERT ... SELECT from
generate_series on PostgreSQL) and point at a few records made through the engine,
spread from a month overdue to two months ahead, across the kinds the engine writes.

    python -m bench.bench_scheduler_memory [--n 100000] [--full] [--runs 3] [--db both]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, delete, insert, select, text

from bench.common import ROOT, Row, arguments, backends, database
from bench.data import Generator
from engine.services import Services
from engine.store.db import make_session_factory
from engine.store.models import SlaClock, Timer
from engine.time.clock import VirtualClock
from workflows.validate import checked_source

SMALL, FULL = 100_000, 1_000_000
RECORDS = 40
BATCH = 100  # SweepJob's default batch
GOAL_MB = 50.0
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
EARLIEST = NOW - timedelta(days=30)
SPREAD_SECONDS = 90 * 86400
CHUNK = 50_000
# (kind, name, has a clock): the timers create_record, transitions and follow-ups write.
KINDS = (
    ("sla_warning", "respond", True),
    ("sla_breach", "respond", True),
    ("sla_warning", "resolve", True),
    ("sla_breach", "resolve", True),
    ("sla_escalation", "resolve", True),
    ("followup", "progress_update", False),
)

# The measured process: only what the scheduler itself imports, nothing of the bench.
CHILD = """
import json, resource, sys
from datetime import datetime

from engine.time.clock import VirtualClock
from engine.services import Services
from engine.store.db import make_engine, make_session_factory
from engine.time.timers import claim
from schedules.worker import build_scheduler


def megabytes(key):
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


url, batch, now = sys.argv[1], int(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
services = Services(make_session_factory(make_engine(url)), VirtualClock(now))
scheduler = build_scheduler(services, background=True)
scheduler.start(paused=True)
with services.session_factory() as session:
    claimed = len(claim(session, now, batch))
    session.rollback()
result = {"rss": megabytes("VmRSS"), "peak": megabytes("VmHWM"), "claimed": claimed}
scheduler.shutdown(wait=False)
print(json.dumps(result))
"""


def measure(url: str) -> dict[str, float]:
    """One clean process: RSS now and at peak, in MB, and how many timers it claimed."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CARELOOP_SMTP_URL", "CARELOOP_WEBHOOK_URL")
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(BATCH), NOW.isoformat()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the measured process failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def make_records(engine: Engine) -> list[tuple[int, int]]:
    """A few records through the engine; their own timers removed. (record id, clock id)."""
    services = Services(make_session_factory(engine), VirtualClock(NOW))
    services.publish(checked_source(ROOT / "workflows" / "after_sales"), by="bench")
    for intake in Generator().intakes(RECORDS, NOW):
        services.create_record("after_sales", intake.new_record(), actor="bench")
    with engine.begin() as conn:
        conn.execute(delete(Timer))
        pairs = conn.execute(
            select(SlaClock.record_id, SlaClock.id).order_by(SlaClock.record_id, SlaClock.id)
        )
        return list(dict(pairs.all()).items())  # each record's last clock


def insert_timers(engine: Engine, count: int, owners: list[tuple[int, int]]) -> None:
    """`count` pending timers, set-based: timer g belongs to owner g mod len(owners)."""
    step = SPREAD_SECONDS / count
    if engine.dialect.name == "postgresql":
        kinds = ", ".join(f"'{k}'" for k, _, _ in KINDS)
        names = ", ".join(f"'{n}'" for _, n, _ in KINDS)
        clocked = ", ".join("true" if c else "false" for _, _, c in KINDS)
        records = ", ".join(str(r) for r, _ in owners)
        clocks = ", ".join(str(c) for _, c in owners)
        statement = text(
            f"""
            INSERT INTO timers (record_id, clock_id, kind, name, step, due_at, status,
                                created_at, attempts)
            SELECT (ARRAY[{records}])[1 + g % {len(owners)}],
                   CASE WHEN (ARRAY[{clocked}])[1 + g % {len(KINDS)}]
                        THEN (ARRAY[{clocks}])[1 + g % {len(owners)}] END,
                   (ARRAY[{kinds}])[1 + g % {len(KINDS)}],
                   (ARRAY[{names}])[1 + g % {len(KINDS)}],
                   CASE WHEN g % {len(KINDS)} = 4 THEN 2 END,
                   :earliest + g * :step * interval '1 second',
                   'pending', :now, 0
            FROM generate_series(0, :count - 1) AS g
            """
        )
        with engine.begin() as conn:
            conn.execute(
                statement, {"earliest": EARLIEST, "step": step, "now": NOW, "count": count}
            )
        return
    with engine.begin() as conn:
        for first in range(0, count, CHUNK):
            rows = []
            for g in range(first, min(first + CHUNK, count)):
                record, clock = owners[g % len(owners)]
                kind, name, on_clock = KINDS[g % len(KINDS)]
                rows.append(
                    {
                        "record_id": record,
                        "clock_id": clock if on_clock else None,
                        "kind": kind,
                        "name": name,
                        "step": 2 if kind == "sla_escalation" else None,
                        "due_at": EARLIEST + timedelta(seconds=g * step),
                        "status": "pending",
                        "created_at": NOW,
                        "attempts": 0,
                    }
                )
            conn.execute(insert(Timer), rows)


def pending(engine: Engine) -> int:
    with engine.connect() as conn:
        count: int = conn.execute(
            text("SELECT count(*) FROM timers WHERE status = 'pending'")
        ).scalar_one()
        return count


def main() -> None:
    args = arguments(__doc__.splitlines()[0], SMALL, FULL)
    print(
        f"# scheduler memory: {args.n:,} pending timers on {RECORDS} records, one claim of "
        f"{BATCH}, a fresh process per measurement, median of {args.runs} runs",
        flush=True,
    )
    for kind in backends(args.db):
        with database(kind) as engine:
            url = engine.url.render_as_string(hide_password=False)
            owners = make_records(engine)
            empty = [measure(url) for _ in range(args.runs)]
            insert_timers(engine, args.n, owners)
            assert pending(engine) == args.n
            full = [measure(url) for _ in range(args.runs)]

        def median(runs: list[dict[str, float]], key: str) -> float:
            return statistics.median(m[key] for m in runs)

        rss, rss_before = median(full, "rss"), median(empty, "rss")
        peak, peak_before = median(full, "peak"), median(empty, "peak")
        growth = max(rss - rss_before, peak - peak_before)
        Row(
            f"scheduler RSS, {args.n:,} timers",
            kind,
            "MB",
            rss,
            rss_before,
            f"growth < {GOAL_MB:g} MB",
            higher_is_better=False,
        ).print()
        print(
            f"#   growth over no timers: {rss - rss_before:+.1f} MB resident, "
            f"{peak - peak_before:+.1f} MB at peak (peak {peak:.1f} MB); claimed "
            f"{median(full, 'claimed'):.0f} (without timers {median(empty, 'claimed'):.0f}); "
            f"goal < {GOAL_MB:g} MB: {'met' if growth < GOAL_MB else 'MISSED'}",
            flush=True,
        )


if __name__ == "__main__":
    main()
