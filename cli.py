"""The `careloop` command: thin wrappers that parse, call the engine or the pack loader, and print.

Also reachable as `flask --app wsgi careloop …`.

What only one command needs (the pack validator and its JSON Schema, the simulator and
Alembic, Flask for password hashing, backup) is imported inside that command: every
`careloop scheduler --once` of a deployment's cron or a sweep bench would otherwise pay
for importing them before firing anything (about 40 % of importing this module).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy import select

from engine.access import crypto, tokens, users
from engine.errors import CareloopError
from engine.records import queue
from engine.services import Services
from engine.store.db import make_engine, make_session_factory
from engine.store.models import ApiToken, PackVersion, User
from engine.time.health import scheduler_status
from ops import metrics
from ops.logs import configure as configure_logs
from ops.observed import ObservedServices
from ops.settings import Settings, SettingsError, configure_engine_keys, load
from schedules.worker import (
    CampaignJob,
    DeliverJob,
    SweepJob,
    build_scheduler,
    senders_for,
    worker_name,
)
from workflows.errors import PackInvalid

if TYPE_CHECKING:
    from sqlalchemy import Engine

SHIPPED = Path(__file__).resolve().parent / "workflows"


class Runtime:
    """What every command shares: the settings, read once, and the one engine built from them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
        return self._engine

    def services(self) -> Services:
        return Services(make_session_factory(self.engine))

    def observed(self) -> ObservedServices:
        """Services counted for /metrics, as the scheduler runs them."""
        return ObservedServices(make_session_factory(self.engine))

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


pass_runtime = click.make_pass_decorator(Runtime)


@click.group(help="Careloop: configurable customer-service workflows.")
@click.pass_context
def careloop(ctx: click.Context) -> None:
    """Read the settings once for whichever sub-command runs, and hand the engine its keys."""
    try:
        settings = load()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    configure_engine_keys(settings)
    ctx.obj = Runtime(settings)
    ctx.call_on_close(ctx.obj.close)


def _fail(lines: list[str]) -> None:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(1)


@careloop.command(help="Check packs (schema and meaning); print file:line:column errors.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    from workflows.validate import checked_source

    failed: list[str] = []
    for path in paths:
        try:
            source = checked_source(path)
        except PackInvalid as exc:
            failed.extend(str(error) for error in exc.errors)
            continue
        click.echo(f"{path}: ok ({source.name}, {len(source.files)} files)")
    if failed:
        _fail(failed)


@careloop.command(help="Validate and publish packs as new immutable versions.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--by", default="cli", show_default=True, help="Who publishes (kept in history).")
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="TYPE.STAGE=STAGE",
    help="Move open records of a removed stage to a stage of the new version.",
)
@pass_runtime
def publish(runtime: Runtime, paths: tuple[Path, ...], by: str, mappings: tuple[str, ...]) -> None:
    from workflows.validate import checked_source

    stage_map = dict(_mapping(m) for m in mappings)
    services = runtime.services()
    for path in paths:
        try:
            source = checked_source(path)
            result = services.publish(source, by=by, stage_map=stage_map)
        except PackInvalid as exc:
            _fail([str(error) for error in exc.errors])
        except CareloopError as exc:
            _fail([f"{path}: {exc}"])
        version = result.version
        state = "published" if result.created else "unchanged"
        moved = "".join(f", moved {n} from {t}.{s}" for (t, s), n in result.moved.items())
        click.echo(f"{version.pack} v{version.version}: {state}{moved}")


def _mapping(text: str) -> tuple[str, str]:
    old, sep, new = text.partition("=")
    if not sep or not old or not new:
        raise click.BadParameter(f"'{text}' should read TYPE.STAGE=STAGE or STAGE=STAGE")
    return old.strip(), new.strip()


@careloop.command(help="Run a scenario on a virtual clock and print its timeline.")
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def simulate_command(scenario: Path, as_json: bool) -> None:
    from engine.records.simulation import ScenarioError, simulate
    from workflows.scenario import check_expectations, load_scenario
    from workflows.validate import checked_source

    try:
        loaded = load_scenario(scenario)
        timeline = simulate(checked_source(loaded.pack_path), loaded.scenario)
    except PackInvalid as exc:
        _fail([str(error) for error in exc.errors])
    except ScenarioError as exc:
        _fail([str(exc)])
    if as_json:
        click.echo(json.dumps(timeline.as_json(), ensure_ascii=False))
    else:
        for event in timeline.events:
            click.echo(f"{event['at']}  {event['ref']:<12} {event['kind']}")
        click.echo("")
        for ref, state in timeline.records.items():
            deadlines = ", ".join(f"{k} {v}" for k, v in state["deadlines"].items())
            click.echo(f"{ref}: {state['stage']} ({deadlines})")
        for care in timeline.care:
            click.echo(
                f"{care['at']}  {care['customer']:<12} {care['campaign']} "
                f"{care['occasion']} {care['status']}"
            )
    problems = check_expectations(loaded, timeline)
    if problems:
        _fail(problems)


simulate_command.name = "simulate"


@careloop.group(help="Database schema.")
def db() -> None:
    """Database commands."""


@db.command("upgrade", help="Migrate the database to the newest schema.")
@pass_runtime
def db_upgrade(runtime: Runtime) -> None:
    from engine.store.migrate import upgrade

    upgrade(runtime.engine)
    click.echo(f"database at head: {runtime.engine.url.render_as_string(hide_password=True)}")


@careloop.group(help="The knowledge base and its search index.")
def kb() -> None:
    """Knowledge-base commands."""


@kb.command("reindex", help="Rebuild the search index: published articles, known problems, cases.")
@pass_runtime
def kb_reindex(runtime: Runtime) -> None:
    """For a backfill (records resolved before this index existed) or after a bulk import."""
    counts = runtime.services().reindex()
    click.echo(", ".join(f"{n} {kind}s" for kind, n in counts.items()) + " indexed")


@careloop.group(help="People who sign in.")
def user() -> None:
    """User commands."""


@user.command("add", help="Add a user; without --password one is generated and printed once.")
@click.argument("username")
@click.option("--role", type=click.Choice(users.ROLES), default="agent", show_default=True)
@click.option("--team", default=None, help="Team (created if new); its department is its name.")
@click.option("--name", "display_name", default=None, help="Display name.")
@click.option("--locale", type=click.Choice(users.LOCALES), default="zh", show_default=True)
@click.option("--password", default=None, help="At least 10 characters.")
@pass_runtime
def user_add(
    runtime: Runtime,
    username: str,
    role: str,
    team: str | None,
    display_name: str | None,
    locale: str,
    password: str | None,
) -> None:
    from signin.auth import hash_password

    services = runtime.services()
    secret = password or users.new_password()
    with services.uow() as uow:
        try:
            users.add_user(
                uow.session,
                username,
                role,
                secret,
                hash_password,
                services.clock.now(),
                display_name=display_name,
                team=team,
                locale=locale,
            )
        except CareloopError as exc:
            _fail([str(exc)])
        uow.commit()
    click.echo(f"user '{username}' ({role}) added" + ("" if password else f"; password: {secret}"))


@user.command("first", help="Create the first operations account if nobody can sign in yet.")
@pass_runtime
def user_first(runtime: Runtime) -> None:
    from signin.auth import hash_password

    services = runtime.services()
    with services.uow() as uow:
        if uow.session.scalar(select(User.id).limit(1)) is not None:
            return
        secret = users.new_password()
        users.add_user(
            uow.session,
            "admin",
            "operations",
            secret,
            hash_password,
            services.clock.now(),
            display_name="运营管理员",
        )
        uow.commit()
    click.echo(f"first operations account: admin / {secret}  (shown once: keep it)")


@careloop.command("team", help="Create or change a team: its department and how it hands out work.")
@click.argument("name")
@click.option("--department", default=None, help="The department it serves (default: its name).")
@click.option(
    "--method",
    type=click.Choice(queue.ASSIGN_METHODS),
    default=None,
    help="pull (agents take next), round_robin, least_open.",
)
@pass_runtime
def team_set(runtime: Runtime, name: str, department: str | None, method: str | None) -> None:
    services = runtime.services()
    with services.uow() as uow:
        team = users.ensure_team(uow.session, name, department)
        if department:
            team.department = department
        if method:
            team.assign_method = method
        uow.commit()
        click.echo(
            f"team '{team.name}' serves {team.department}, hands out by {team.assign_method}"
        )


@careloop.group(help="API tokens for integrations.")
def token() -> None:
    """Token commands."""


@token.command("add", help="Create a token; its text is printed once and never stored.")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(tokens.SCOPES),
    default=("read", "write"),
    show_default=True,
)
@pass_runtime
def token_add(runtime: Runtime, name: str, scopes: tuple[str, ...]) -> None:
    services = runtime.services()
    with services.uow() as uow:
        try:
            issued, plain = tokens.issue(uow.session, name, scopes, services.clock.now())
        except CareloopError as exc:
            _fail([str(exc)])
        uow.commit()
        click.echo(
            f"token '{issued.name}' ({', '.join(issued.scopes)}); keep it, it is shown once:"
        )
        click.echo(plain)


@token.command("revoke", help="Revoke a token by name.")
@click.argument("name")
@pass_runtime
def token_revoke(runtime: Runtime, name: str) -> None:
    services = runtime.services()
    with services.uow() as uow:
        try:
            tokens.revoke(uow.session, name, services.clock.now())
        except CareloopError as exc:
            _fail([str(exc)])
        uow.commit()
    click.echo(f"token '{name}' revoked")


@token.command("list", help="List tokens (never their text).")
@pass_runtime
def token_list(runtime: Runtime) -> None:
    with runtime.services().session_factory() as session:
        for row in session.scalars(select(ApiToken).order_by(ApiToken.name)):
            state = "revoked" if row.revoked_at else "live"
            click.echo(f"{row.name}  {row.prefix}…  {','.join(row.scopes)}  {state}")


@careloop.group(help="A customer's data on request: export it, or erase the person (R-8.3).")
def customer() -> None:
    """Customer data-protection commands."""


@customer.command("export", help="Print everything stored about a customer as JSON.")
@click.argument("number")
@pass_runtime
def customer_export(runtime: Runtime, number: str) -> None:
    try:
        data = runtime.services().export_customer(number)
    except CareloopError as exc:
        _fail([str(exc)])
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@customer.command("erase", help="Erase the person; records' statistics and the audit trail stay.")
@click.argument("number")
@click.option("--by", "actor", default="cli", show_default=True, help="Who asked (audit log).")
@click.confirmation_option(prompt="Erase this customer's personal data for good?")
@pass_runtime
def customer_erase(runtime: Runtime, number: str, actor: str) -> None:
    try:
        count = runtime.services().erase_customer(number, actor=actor)
    except CareloopError as exc:
        _fail([str(exc)])
    click.echo(f"customer erased; personal fields of {count} records replaced by a tombstone")


@careloop.command("new-data-key", help="Print a new key for CARELOOP_DATA_KEY (Fernet).")
def new_data_key() -> None:
    click.echo(crypto.new_key())


@careloop.command("backup", help="Copy the database to FILE (consistent, while it runs).")
@click.argument("target", type=click.Path(path_type=Path, dir_okay=False))
@pass_runtime
def backup_command(runtime: Runtime, target: Path) -> None:
    from engine.store import backup as store_backup

    try:
        store_backup.backup(runtime.settings.database_url, target)
    except store_backup.BackupError as exc:
        _fail([str(exc)])
    click.echo(f"backup written to {target}")


@careloop.command("restore", help="Restore FILE into the (empty) database CARELOOP_DATABASE_URL.")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False))
@pass_runtime
def restore_command(runtime: Runtime, source: Path) -> None:
    from engine.store import backup as store_backup

    try:
        store_backup.restore(source, runtime.settings.database_url)
    except store_backup.BackupError as exc:
        _fail([str(exc)])
    counts = store_backup.row_counts(runtime.engine)
    click.echo(f"restored {sum(counts.values())} rows in {len(counts)} tables")


@careloop.command(help="List the shipped packs and what is published of each.")
@click.option(
    "--dir",
    "folder",
    default=str(SHIPPED),
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the pack folders are.",
)
@click.option("--versions", is_flag=True, help="Also list every published version.")
@pass_runtime
def packs(runtime: Runtime, folder: Path, versions: bool) -> None:
    from workflows.loader import shipped_packs

    with runtime.services().session_factory() as session:
        published = list(
            session.scalars(select(PackVersion).order_by(PackVersion.pack, PackVersion.version))
        )
    latest = {v.pack: v for v in published}
    shipped = shipped_packs(folder)
    for name in sorted(set(shipped) | set(latest)):
        version = latest.get(name)
        state = f"v{version.version}" if version else "not published"
        click.echo(f"{name:<16} {state:<14} {shipped.get(name, '(not in ' + str(folder) + ')')}")
    if versions:
        click.echo("")
        for version in published:
            click.echo(
                f"{version.pack} v{version.version}  {version.published_at:%Y-%m-%d %H:%M}"
                f"  by {version.published_by}  {version.source_hash[:12]}"
            )


@careloop.command(help="Serve the web app (development server), with the scheduler inside.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@pass_runtime
def serve(runtime: Runtime, host: str, port: int) -> None:
    from wsgi import create_app, services

    settings = runtime.settings
    configure_logs(log_format=settings.log_format, level=settings.log_level)
    app = create_app(settings=settings)
    click.echo(f"Careloop on http://{host}:{port}  (database {settings.database_url})")
    if settings.in_process_scheduler:
        # Only this command starts one: WSGI workers built from `wsgi:app` never do.
        scheduler = build_scheduler(services(app), settings)
        scheduler.start()
        click.echo("scheduler: in process (set CARELOOP_IN_PROCESS_SCHEDULER=0 to turn it off)")
    app.run(host=host, port=port, threaded=True)


@careloop.command(help="Recompute every customer's tier now (the scheduler does it hourly).")
@pass_runtime
def tiers(runtime: Runtime) -> None:
    services = runtime.services()
    for pack, run in services.recompute_tiers().items():
        click.echo(f"{pack}: {run.customers} customers, {run.changed} changed tier")


@careloop.command(help="Roll up the dashboard's closed days now (the scheduler does it hourly).")
@pass_runtime
def rollup(runtime: Runtime) -> None:
    services = runtime.services()
    for pack, days in services.roll_up().items():
        click.echo(f"{pack}: {days} days rolled up")


@careloop.command(help="Run the scheduler as a worker; any number may share PostgreSQL.")
@click.option(
    "--interval",
    type=float,
    default=None,
    help="Seconds between sweeps (default: CARELOOP_SWEEP_SECONDS or 5).",
)
@click.option("--batch", "batch_size", type=int, default=100, show_default=True)
@click.option("--once", is_flag=True, help="Sweep once, print what fired, and exit.")
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
    settings = runtime.settings
    services = runtime.observed()
    if status:
        with services.uow() as uow:
            report = scheduler_status(uow.session, services.clock.now())
        if as_json:
            click.echo(json.dumps(report))
        else:
            for key, value in report.items():
                if key != "workers":
                    click.echo(f"{key}: {value}")
            for worker in report["workers"]:
                click.echo(
                    f"worker {worker['worker']}: last sweep {worker['last_sweep_at']}, "
                    f"fired {worker['total_fired']}"
                )
        return
    if once:
        result = SweepJob(services, batch_size=batch_size)()
        care = CampaignJob(services)()
        delivery = DeliverJob(services, senders_for(services, settings))()
        outcome = {
            "fired": len(result.fired),
            "failed": result.failed,
            "campaigns": care,
            "sent": delivery.sent,
        }
        click.echo(
            json.dumps(outcome)
            if as_json
            else f"fired {outcome['fired']}, failed {outcome['failed']}, "
            f"campaign messages and tasks {care}, sent {delivery.sent}"
        )
        return
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


def main() -> None:
    careloop(prog_name="careloop")
