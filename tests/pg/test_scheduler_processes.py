"""Several scheduler processes on one PostgreSQL database: each due timer takes effect once.

The tests count effects (history rows carrying a timer id, under a unique
constraint), not log lines; one of them kills a scheduler with SIGKILL in the
middle of its sweeps again and again.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from engine.records.intake import NewRecord, create_record
from engine.records.versions import PackSource, latest_version
from engine.services import Services
from engine.store.db import make_session_factory
from engine.store.models import RecordEvent, Timer
from tests.conftest import ROOT

pytestmark = pytest.mark.pg
CARELOOP = str(Path(sys.executable).parent / "careloop")


def overdue_records(engine: Engine, source: PackSource, count: int) -> int:
    """`count` P0 records received 30 days ago: 7 overdue timers each.

    Warning and breach of `respond` and `resolve`, the manager's escalation 4 h after each
    breach, which the breach arms when it fires, and the acknowledgement to the caller (R-3.2).
    """
    services = Services(make_session_factory(engine))
    services.publish(source, by="test")
    now = datetime.now(UTC)
    with services.uow() as uow:
        version = latest_version(uow.session, "after_sales")
        spec = services.specs.of(version)
        for i in range(count):
            create_record(
                uow.session,
                spec,
                version,
                NewRecord(
                    record_type="feedback",
                    channel="phone",
                    priority="P0",
                    received_at=now - timedelta(days=30),
                    fields={"customer_no": f"C-{i}", "contact": "13800000000", "description": "x"},
                ),
                actor="test",
                now=now,
            )
        uow.commit()
    return count * 7


def scheduler(url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CARELOOP_DATABASE_URL": url}
    return subprocess.Popen(
        [CARELOOP, "scheduler", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def effects(engine: Engine) -> tuple[int, int, int, int]:
    """(fired timers, events carrying a timer, distinct timers among them, pending overdue)."""
    with make_session_factory(engine)() as session:
        fired = session.scalar(
            select(func.count()).select_from(Timer).where(Timer.status == "fired")
        )
        events = session.scalar(
            select(func.count()).select_from(RecordEvent).where(RecordEvent.timer_id.is_not(None))
        )
        distinct = session.scalar(select(func.count(func.distinct(RecordEvent.timer_id))))
        pending = session.scalar(
            select(func.count())
            .select_from(Timer)
            .where(Timer.status == "pending", Timer.due_at <= datetime.now(UTC))
        )
    return fired or 0, events or 0, distinct or 0, pending or 0


def started_firing(engine: Engine, worker: subprocess.Popen[str], before: int, total: int) -> None:
    """Wait (at most 60 s) until the scheduler has fired something, so that a kill lands in its
    work whatever its start-up took on a loaded machine, not before its first sweep."""
    give_up = time.monotonic() + 60
    while before < total and worker.poll() is None and time.monotonic() < give_up:
        if effects(engine)[0] > before:
            return
        time.sleep(0.05)


def test_three_schedulers_share_10000_due_timers_each_firing_once(
    pg_engine: Engine, pg_database: str, after_sales: PackSource
) -> None:
    expected = overdue_records(pg_engine, after_sales, 1667)
    workers = [scheduler(pg_database, "--once", "--json", "--batch", "50") for _ in range(3)]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs
    counts = [json.loads(out.strip().splitlines()[-1])["fired"] for out, _err in outputs]
    assert sum(counts) == expected == 11_669
    assert sum(1 for c in counts if c > 0) >= 2, counts  # the work was shared
    assert effects(pg_engine) == (expected, expected, expected, 0)


def test_a_scheduler_killed_mid_sweep_again_and_again_loses_and_doubles_nothing(
    pg_engine: Engine, pg_database: str, after_sales: PackSource
) -> None:
    expected = overdue_records(pg_engine, after_sales, 600)
    rng = random.Random(20261122)
    progress = []
    for _ in range(8):
        before = effects(pg_engine)[0]
        worker = scheduler(pg_database, "--interval", "0.2", "--batch", "20")
        started_firing(pg_engine, worker, before, expected)
        time.sleep(rng.uniform(0.0, 0.4))  # a real process, killed at a random point of its work
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=30)
        fired, events, distinct, _pending = effects(pg_engine)
        assert fired == events == distinct  # never a timer with two effects, nor one with none
        progress.append(fired)
    assert any(0 < fired < expected for fired in progress), progress  # killed mid-work
    finish = scheduler(pg_database, "--once")
    out, err = finish.communicate(timeout=300)
    assert finish.returncode == 0, err
    assert effects(pg_engine) == (expected, expected, expected, 0)
