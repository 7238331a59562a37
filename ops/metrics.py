"""Prometheus series: what the web and the scheduler did, and what the database holds now.

Counters and histograms live in the process that did the work (a gunicorn worker,
a `careloop scheduler`); under gunicorn, `PROMETHEUS_MULTIPROC_DIR` makes every
worker write its values to a shared directory that `/metrics` adds up. Queues that
live in the database (timers due, outbox backlog, dead letters) are read at scrape
time by `DatabaseCollector`, with the same indexed counts as `careloop scheduler
--status`. Labels are packs, priorities, transitions, timer kinds and URL rules:
never a record's field, so no personal data can reach a series.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from engine.time.clock import SystemClock
from engine.time.health import scheduler_status
from engine.time.timers import SweepResult

REQUESTS = Counter(
    "careloop_http_requests_total",
    "HTTP requests answered, by method, Flask endpoint and status.",
    ["method", "endpoint", "status"],
)
REQUEST_SECONDS = Histogram(
    "careloop_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and Flask endpoint.",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RECORDS_CREATED = Counter(
    "careloop_records_created_total",
    "Records created (a repeated channel message id is not counted), by pack and priority.",
    ["pack", "priority"],
)
RECORDS_TRANSITIONED = Counter(
    "careloop_records_transitioned_total",
    "Transitions applied to records, by pack and transition.",
    ["pack", "transition"],
)
SLA_WARNINGS = Counter(
    "careloop_sla_warnings_total",
    "SLA warnings fired, by pack and the record's priority when it fired.",
    ["pack", "priority"],
)
SLA_BREACHES = Counter(
    "careloop_sla_breaches_total",
    "SLA breaches fired, by pack and the record's priority before any escalation.",
    ["pack", "priority"],
)
TIMERS_FIRED = Counter(
    "careloop_timers_total",
    "Timers a sweep acted on, by kind and outcome (fired, or cancelled as moot).",
    ["kind", "outcome"],
)
TIMER_LAG = Histogram(
    "careloop_timer_lag_seconds",
    "Now minus the timer's due time when its sweep committed, by kind.",
    ["kind"],
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 6 * 3600, 24 * 3600),
)
SWEEP_SECONDS = Histogram(
    "careloop_sweep_duration_seconds",
    "Time one sweep took, claiming and firing every due timer.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)


def observe_sweep(result: SweepResult, now: datetime, seconds: float) -> None:
    """Count what a sweep did: its duration, each timer's lag, SLA warnings and breaches."""
    SWEEP_SECONDS.observe(seconds)
    for fired in result.fired:
        TIMERS_FIRED.labels(fired.kind, fired.outcome).inc()
        if fired.outcome != "fired":
            continue
        TIMER_LAG.labels(fired.kind).observe(max(0.0, (now - fired.due_at).total_seconds()))
        if fired.kind == "sla_warning":
            SLA_WARNINGS.labels(fired.pack, fired.priority).inc()
        elif fired.kind == "sla_breach":
            SLA_BREACHES.labels(fired.pack, fired.priority).inc()


class DatabaseCollector(Collector):
    """Queues that live in the database, counted at scrape time (cheap, indexed queries)."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.session_factory() as session:
                status = scheduler_status(session, SystemClock().now())
        except SQLAlchemyError:
            yield GaugeMetricFamily("careloop_database_up", "The database answered.", value=0)
            return
        yield GaugeMetricFamily("careloop_database_up", "The database answered.", value=1)
        gauges = {
            "careloop_timers_due": ("Timers due now, not yet fired.", "timers_due_now"),
            "careloop_timers_oldest_overdue_seconds": (
                "How late the oldest due timer is.",
                "oldest_overdue_seconds",
            ),
            "careloop_timers_failed": ("Timers left failed after their retries.", "failed_timers"),
            "careloop_outbox_backlog": (
                "Outbox messages waiting to be sent (pending or being sent).",
                "outbox_backlog",
            ),
            "careloop_outbox_dead_letters": (
                "Outbox messages given up after their retries.",
                "dead_letters",
            ),
        }
        for name, (help_text, key) in gauges.items():
            yield GaugeMetricFamily(name, help_text, value=float(status[key] or 0))
        last = status["last_sweep_at"]
        if last is not None:
            now = datetime.fromisoformat(status["now"])
            age = (now - datetime.fromisoformat(last)).total_seconds()
            yield GaugeMetricFamily(
                "careloop_last_sweep_age_seconds",
                "Seconds since any scheduler last finished a sweep.",
                value=float(age),
            )


def exposition(
    session_factory: sessionmaker[Session] | None, multiprocess_dir: str | None = None
) -> tuple[bytes, str]:
    """The text a scrape gets: this process's (or all workers') series, then the database's.

    :param multiprocess_dir: PROMETHEUS_MULTIPROC_DIR under gunicorn: sum all workers' files.
    """
    if multiprocess_dir:
        workers = CollectorRegistry()
        multiprocess.MultiProcessCollector(workers)  # type: ignore[no-untyped-call]
        text = generate_latest(workers)
    else:
        text = generate_latest(REGISTRY)
    if session_factory is not None:
        database = CollectorRegistry(auto_describe=False)
        database.register(DatabaseCollector(session_factory))
        text += generate_latest(database)
    return text, CONTENT_TYPE_LATEST


def serve(port: int, addr: str) -> int | None:
    """A scheduler's own `/metrics` on CARELOOP_METRICS_PORT (bound to CARELOOP_METRICS_ADDR,
    127.0.0.1 by default): schedulers are not behind gunicorn, so each is scraped on its port."""
    if not port:
        return None
    start_http_server(port, addr=addr)
    return port
