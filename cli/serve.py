"""Long-running processes: the development web server (scheduler inside) and scheduler workers.

`serve` builds the web app with `webapp.create_app`, never through wsgi.py: wsgi.py is the
entry point for WSGI servers and `flask --app wsgi`, and imports this package, not the reverse.
Each command imports what it runs, so neither `careloop --help` nor another command pays for
the scheduler's or the web app's modules (issue #24 item 2).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from cli.root import Runtime, careloop, pass_runtime

if TYPE_CHECKING:
    from engine.services import Services
    from ops.settings import Settings


@careloop.command(help="Serve the web app (development server), with the scheduler inside.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@pass_runtime
def serve(runtime: Runtime, host: str, port: int) -> None:
    from ops.logs import configure as configure_logs
    from schedules.worker import build_scheduler
    from webapp import create_app, services

    settings = runtime.settings
    runtime.require_keys()
    configure_logs(log_format=settings.log_format, level=settings.log_level)
    app = create_app(settings=settings)
    click.echo(f"Careloop on http://{host}:{port}  (database {settings.database_url})")
    if settings.in_process_scheduler:
        # Only this command starts one: WSGI workers built from `wsgi:app` never do.
        scheduler = build_scheduler(services(app), settings)
        scheduler.start()
        click.echo("scheduler: in process (set CARELOOP_IN_PROCESS_SCHEDULER=0 to turn it off)")
    app.run(host=host, port=port, threaded=True)


@careloop.command(help="Run the scheduler as a worker; any number may share PostgreSQL.")
@click.option(
    "--interval",
    type=float,
    default=None,
    help="Seconds between sweeps (default: CARELOOP_SWEEP_SECONDS or 5).",
)
@click.option("--batch", "batch_size", type=int, default=100, show_default=True)
@click.option(
    "--once",
    is_flag=True,
    help="Run every job once (sweep, campaigns, mailboxes, outbox), print what happened, exit.",
)
@click.option("--status", is_flag=True, help="Print the scheduler's health and exit.")
@click.option("--json", "as_json", is_flag=True, help="With --status or --once: print JSON.")
@pass_runtime
def scheduler(
    runtime: Runtime,
    interval: float | None,
    batch_size: int,
    once: bool,
    status: bool,
    as_json: bool,
) -> None:
    from engine.store.schemahead import is_current

    settings = runtime.settings
    services = runtime.observed()
    # An unmigrated database would answer a SQL error about a missing table: say what to do.
    if not is_current(services.session_factory.kw["bind"]):
        raise click.ClickException("the database is not migrated: run `careloop db upgrade`")
    if status:
        from engine.time.health import scheduler_status
        from workflows.calendardraft import published_coverage  # the validator: only here

        with services.uow() as uow:
            report = scheduler_status(uow.session, services.clock.now())
            warnings = published_coverage(uow.session, services.clock.now())
        report["calendar_warnings"] = [warning.as_json() for warning in warnings]
        if as_json:
            click.echo(json.dumps(report, ensure_ascii=False))
        else:
            for key, value in report.items():
                if key not in ("workers", "calendar_warnings"):
                    click.echo(f"{key}: {value}")
            for worker in report["workers"]:
                click.echo(
                    f"worker {worker['worker']}: last sweep {worker['last_sweep_at']}, "
                    f"fired {worker['total_fired']}"
                )
            for warning in warnings:  # a calendar about to run out of holiday data
                click.echo(str(warning))
        return
    runtime.require_keys()
    import gc

    # What start-up loaded (modules, mappers, the packs' specs) lives as long as the process:
    # out of the collector's generations, a full collection no longer walks all of it again
    # in the middle of a sweep (a catch-up's batches allocate enough to trigger several).
    gc.freeze()
    if once:
        _once(services, settings, batch_size, as_json)
        return
    from ops import metrics
    from ops.logs import configure as configure_logs
    from schedules.worker import build_scheduler, worker_name

    every = interval if interval is not None else settings.sweep_seconds
    click.echo(f"scheduler {worker_name()}: sweeping every {every:g} s ({settings.database_url})")
    # JSON lines on stderr for the long run; --status and --once only print
    configure_logs(log_format=settings.log_format, level=settings.log_level)
    port = metrics.serve(settings.metrics_port, settings.metrics_addr)
    if port:
        click.echo(f"metrics on port {port}")
    build_scheduler(
        services, settings, interval=every, background=False, batch_size=batch_size
    ).start()


def _once(services: Services, settings: Settings, batch_size: int, as_json: bool) -> None:
    """Every job once, in the long run's order of concern: timers, campaigns, the mailboxes
    (CARELOOP_MAILBOXES, issue #20; so cron or a test can read them without a long-running
    worker), then the outbox, which then also sends what the mail made."""
    from schedules.mailjob import MailJob
    from schedules.mailsources import mail_sources
    from schedules.worker import CampaignJob, DeliverJob, SweepJob, senders_for

    result = SweepJob(services, batch_size=batch_size, sweepers=settings.sweepers)()
    care = CampaignJob(services)()
    sources = mail_sources(settings.mailboxes)
    mail = dict(MailJob(services, sources)()) if sources else {}
    delivery = DeliverJob(services, senders_for(services, settings))()
    outcome = {
        "fired": len(result.fired),
        "failed": result.failed,
        "batches": result.batches,
        "campaigns": care,
        "mail": mail,
        "sent": delivery.sent,
    }
    if as_json:
        click.echo(json.dumps(outcome))
        return
    taken = ", ".join(f"{action} {count}" for action, count in sorted(mail.items()))
    click.echo(
        f"fired {outcome['fired']}, failed {outcome['failed']}, "
        f"campaign messages and tasks {care}, "
        + (f"mail {taken or 'none'}, " if sources else "")
        + f"sent {delivery.sent}"
    )
