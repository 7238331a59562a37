"""Periodic jobs on APScheduler 3, inside `careloop serve` or standalone as `careloop scheduler`.

A job imports what only it needs when it first runs (the mail parser, bounces, the services'
areas behind it), not when the scheduler is built: the first sweep waits for nothing it does
not use (issue #24 item 2, tests/unit/test_startup.py).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from engine.delivery import webhooks
from engine.delivery.outbox import Delivery, Sender, deliver_due
from engine.time.health import record_sweep
from ops.context import correlated_job
from ops.settings import Settings
from schedules.mailsources import mail_sources
from schedules.senders import SubscriptionSender, configured_senders, outbound_policy

if TYPE_CHECKING:
    from engine.conversation.attachments import StoredFile
    from engine.services import Services
    from engine.time.timers import SweepResult

log = logging.getLogger(__name__)
DEFAULTS = Settings()


def worker_name() -> str:
    """host:pid, so `--status` tells the processes apart."""
    return f"{socket.gethostname()}:{os.getpid()}"


class SweepJob:
    """One sweep of due timers, then a heartbeat: the job APScheduler runs every few seconds."""

    def __init__(
        self, services: Services, *, batch_size: int = 100, sweepers: int | None = None
    ) -> None:
        self.services = services
        self.batch_size, self.sweepers = batch_size, sweepers
        self.worker = worker_name()
        self.started_at = datetime.now(UTC)

    def __call__(self) -> SweepResult:
        began = time.perf_counter()
        result = self.services.sweep(batch_size=self.batch_size, sweepers=self.sweepers)
        duration_ms = (time.perf_counter() - began) * 1000
        with self.services.uow() as uow:
            record_sweep(
                uow.session,
                self.worker,
                self.started_at,
                self.services.clock.now(),
                result,
                duration_ms,
            )
            uow.commit()
        if result.fired or result.failed:
            log.info(
                "sweep fired %d timers (%d failed) in %.0f ms",
                len(result.fired),
                result.failed,
                duration_ms,
            )
        return result


class DeliverJob:
    """Send what the outbox holds, through the adapters the environment configures."""

    def __init__(self, services: Services, senders: Mapping[str, Sender]) -> None:
        self.services = services
        self.senders = senders

    def __call__(self) -> Delivery:
        from engine.conversation import bounces

        delivery = deliver_due(
            self.services.session_factory,
            self.senders,
            self.services.clock.now(),
            on_bounce=bounces.bounced,  # the customer's address is failing
        )
        if delivery.sent or delivery.retried or delivery.dead or delivery.bounced:
            log.info(
                "outbox: %d sent, %d to retry, %d dead, %d bounced",
                delivery.sent,
                delivery.retried,
                delivery.dead,
                delivery.bounced,
            )
        return delivery


class InsightJob:
    """Evaluate the packs' monitors (R-6.1) and measure improvement actions due (R-7).

    Slower than the sweep (a minute by default): monitors look at windows of an hour or more.
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    def __call__(self) -> int:
        outcomes = self.services.evaluate_monitors()
        changed = [o for o in outcomes if o.opened or o.escalated]
        for outcome in changed:
            log.info(
                "warning %s: %s/%s is %s",
                outcome.warning.id,
                outcome.warning.monitor,
                outcome.warning.scope,
                outcome.warning.level,
            )
        raised = self.services.raise_frequent_actions()
        for action in raised:
            log.info("improvement action %s raised for %s", action.id, action.department)
        measured = self.services.measure_actions()
        if measured:
            log.info("measured %d improvement actions at their deadline", len(measured))
        return len(changed)


class CampaignJob:
    """Care campaigns up to now (R-5.3); each occasion happens once, whoever runs it."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def __call__(self) -> int:
        results = self.services.run_campaigns()
        done = sum(r.statuses["queued"] + r.statuses["task"] for r in results)
        if done:
            log.info("campaigns: %d messages and tasks", done)
        return done


class TierJob:
    """Loyalty points awarded, then every customer's tier recomputed in SQL (R-5.1, R-5.4);
    events recompute one customer between."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def __call__(self) -> int:
        # Points first: tier rules may read loyalty levels.
        awarded = sum(self.services.award_points().values())
        if awarded:
            log.info("loyalty: %d ledger entries awarded", awarded)
        changed = sum(run.changed for run in self.services.recompute_tiers().values())
        if changed:
            log.info("tiers: %d customers changed tier", changed)
        return changed


class RollupJob:
    """The dashboard's daily rollup (engine/rollup.py): closed days, and days touched since."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def __call__(self) -> int:
        rolled = self.services.roll_up()
        days = sum(rolled.values())
        if days:
            log.info("rollup: %d days rolled up (%s)", days, rolled)
        return days


class ReviewJob:
    """The packs' weekly and monthly reviews (engine/insight/reviews.py), mailed once each."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def __call__(self) -> int:
        sent = self.services.send_reviews()
        for run in sent:
            log.info(
                "review %s %s %s queued to %d",
                run.pack,
                run.kind,
                run.period_start,
                len(run.recipients),
            )
        return len(sent)


class ImportJobRunner:
    """The admin's long CSV imports (issue #22 item 5): the oldest waiting job, claimed once
    whichever scheduler sweeps first, run to its end with its progress on the page."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.worker = worker_name()

    def __call__(self) -> int | None:
        job_id = self.services.run_import_job(self.worker)
        if job_id is not None:
            log.info("import job %d finished", job_id)
        return job_id


def build_scheduler(
    services: Services,
    settings: Settings = DEFAULTS,
    *,
    interval: float | None = None,
    background: bool = True,
    batch_size: int = 100,
    senders: Mapping[str, Sender] | None = None,
) -> BaseScheduler:
    """A scheduler with a memory job store: the engine's table is the truth, not APScheduler's.

    The jobs' intervals come from `settings`; `interval` (the sweep's) overrides its own.
    """
    if interval is None:
        interval = settings.sweep_seconds
    options = {
        "jobstores": {"default": MemoryJobStore()},
        # Three threads: an hourly tier recompute, a rollup or a long import never holds up
        # the sweep.
        "executors": {"default": ThreadPoolExecutor(3)},
        # A slow sweep is never run twice at once, and missed runs collapse into one.
        "job_defaults": {"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        "timezone": UTC,
    }
    scheduler: BaseScheduler = (
        BackgroundScheduler(**options) if background else BlockingScheduler(**options)
    )
    scheduler.add_job(
        correlated_job(
            "sweep", SweepJob(services, batch_size=batch_size, sweepers=settings.sweepers)
        ),
        "interval",
        seconds=interval,
        id="sweep",
        name="sweep due timers",
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        correlated_job("monitors", InsightJob(services)),
        "interval",
        seconds=settings.monitor_seconds,
        id="monitors",
        name="evaluate monitors, measure improvement actions",
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        correlated_job("campaigns", CampaignJob(services)),
        "interval",
        seconds=max(interval, settings.campaign_seconds),
        id="campaigns",
        name="run care campaigns",
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        correlated_job("tiers", TierJob(services)),
        "interval",
        seconds=settings.tier_seconds,
        id="tiers",
        name="recompute customer tiers",
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        correlated_job("imports", ImportJobRunner(services)),
        "interval",
        seconds=interval,
        id="imports",
        name="run the queued CSV imports",
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        correlated_job("rollup", RollupJob(services)),
        "interval",
        seconds=settings.rollup_seconds,
        id="rollup",
        name="roll up the dashboard's closed days",
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        correlated_job("reviews", ReviewJob(services)),
        "interval",
        seconds=settings.monitor_seconds,
        id="reviews",
        name="build and mail the weekly and monthly reviews",
        next_run_time=datetime.now(UTC),
    )
    sources = mail_sources(settings.mailboxes)
    if sources:
        from schedules.mailjob import MailJob  # the mail parser: only with mailboxes to read

        scheduler.add_job(
            correlated_job("mail", MailJob(services, sources)),
            "interval",
            seconds=settings.mail_seconds,
            id="mail",
            name="read the service mailboxes",
            next_run_time=datetime.now(UTC),
        )
    senders = senders_for(services, settings) if senders is None else senders
    if senders:
        scheduler.add_job(
            correlated_job("outbox", DeliverJob(services, senders)),
            "interval",
            seconds=interval,
            id="outbox",
            name="deliver outbox messages",
            next_run_time=datetime.now(UTC),
        )
    return scheduler


def senders_for(services: Services, settings: Settings = DEFAULTS) -> dict[str, Sender]:
    """Email and staff webhook as the settings configure; integrations' subscriptions always."""

    def lookup(subscription_id: int) -> tuple[str, str] | None:
        with services.session_factory() as session:
            return webhooks.target(session, subscription_id)

    def files(outbox_id: int) -> list[StoredFile]:
        return services.outbox_files(outbox_id)  # the conversation area, at the first email

    senders = configured_senders(settings, files)
    return {**senders, "hook": SubscriptionSender(lookup, policy=outbound_policy(settings))}
