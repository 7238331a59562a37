"""The APScheduler adapter: a heartbeat job over the engine's timer rows, health for operators."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner

from cli import careloop
from engine.records.intake import NewRecord
from engine.services import Services
from engine.time.clock import VirtualClock
from engine.time.health import scheduler_status
from ops.settings import Settings
from schedules.worker import SweepJob, build_scheduler
from wsgi import create_app

FIELDS = {"customer_no": "C-3", "contact": "13800000003", "description": "门打不开"}


def test_the_sweep_job_fires_due_timers_and_leaves_a_heartbeat(
    services: Services, clock: VirtualClock
) -> None:
    services.create_record(
        "after_sales",
        NewRecord(record_type="feedback", fields=FIELDS, channel="phone", priority="P0"),
        actor="api",
    )
    clock.advance(timedelta(hours=3))
    result = SweepJob(services)()
    # The SLA timers, then the customer's acknowledgement, by SMS to the caller.
    assert [f.kind for f in result.fired] == ["sla_warning", "sla_breach", "contact"]
    with services.uow() as uow:
        status = scheduler_status(uow.session, clock.now())
    assert datetime.fromisoformat(status["last_sweep_at"]) == clock.now()
    assert status["timers_due_now"] == 0
    # The breach, to the supervisor's address in the pack, and the SMS: no sender configured.
    assert status["outbox_backlog"] == 2
    assert status["workers"][0]["total_fired"] == 3


def test_status_shows_the_oldest_overdue_timer(services: Services, clock: VirtualClock) -> None:
    services.create_record(
        "after_sales",
        NewRecord(record_type="feedback", fields=FIELDS, channel="phone", priority="P0"),
        actor="api",
    )
    clock.advance(timedelta(hours=5))
    with services.uow() as uow:
        status = scheduler_status(uow.session, clock.now())
    assert status["last_sweep_at"] is None
    # The acknowledgement, due at 09:00; respond: warning at 10:36, breach at 11:00.
    assert status["timers_due_now"] == 3
    assert status["oldest_overdue_seconds"] == int(timedelta(hours=5).total_seconds())


def test_the_scheduler_is_a_memory_store_heartbeat_never_a_job_per_record(
    services: Services,
) -> None:
    scheduler = build_scheduler(services, interval=3600)
    assert isinstance(scheduler, BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        jobs = scheduler.get_jobs()
        # a fixed set of jobs, whatever the load
        assert [job.id for job in jobs] == [
            "sweep",
            "monitors",
            "campaigns",
            "tiers",
            "imports",
            "rollup",
            "reviews",  # the weekly and monthly reviews (issue #25 item 4)
            "outbox",
        ]
        assert all(job.max_instances == 1 and job.coalesce is True for job in jobs)
    finally:
        scheduler.shutdown(wait=False)


def test_the_sweep_job_takes_its_sweeper_threads_from_the_settings(services: Services) -> None:
    """CARELOOP_SWEEPERS reaches the sweep the scheduler runs (docs/deploy.md); unset, the
    engine's own number (`engine.time.sweepers`) applies."""
    chosen = Settings.from_environ({"CARELOOP_SWEEPERS": "3"})
    for settings, expected in ((chosen, 3), (Settings.from_environ({}), 0)):
        scheduler = build_scheduler(services, settings, interval=3600)
        job = scheduler.get_job("sweep")
        assert job is not None
        sweep = job.func.__wrapped__  # correlated_job keeps the job it wraps
        assert isinstance(sweep, SweepJob) and sweep.sweepers == expected


def test_a_web_app_never_starts_a_scheduler_by_itself(tmp_path: Path) -> None:
    before = {t.name for t in threading.enumerate()}
    create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/w.db"})
    after = {t.name for t in threading.enumerate()}
    # The first app of a process warms the Chinese segmenter in a daemon thread (issue #21);
    # nothing else may start, whichever test ran before this one.
    assert after - before <= {"careloop-segmenter-warmup"}


def test_the_in_process_scheduler_is_opt_out() -> None:
    assert Settings.from_environ({}).in_process_scheduler
    assert not Settings.from_environ({"CARELOOP_IN_PROCESS_SCHEDULER": "0"}).in_process_scheduler


def test_status_from_the_command_line_and_the_web(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    monkeypatch.setenv("CARELOOP_DATABASE_URL", url)
    runner = CliRunner()
    assert runner.invoke(careloop, ["db", "upgrade"]).exit_code == 0
    once = runner.invoke(careloop, ["scheduler", "--once"])
    assert (
        once.exit_code == 0
        and "fired 0, failed 0, campaign messages and tasks 0, sent 0" in once.output
    )
    status = runner.invoke(careloop, ["scheduler", "--status"])
    assert status.exit_code == 0
    assert "timers_due_now: 0" in status.output and "worker " in status.output
    response = create_app({"DATABASE_URL": url}).test_client().get("/status/scheduler")
    assert response.status_code == 200
    assert set(response.get_json()) >= {
        "last_sweep_at",
        "timers_due_now",
        "oldest_overdue",
        "outbox_backlog",
        "calendar_warnings",
    }
