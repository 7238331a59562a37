"""The data: schema migrations, the search index, a customer's data (R-8.3), keys, backups, and
the derived figures the scheduler keeps (tiers, the dashboard's rollup) computed on demand.

What a command needs beyond click (Alembic, the backup code, the crypto library) is imported
inside it, so `careloop --help` stays light (issue #24 item 2).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from cli.root import CommandFailed, Runtime, careloop, pass_runtime
from engine.errors import CareloopError


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


@careloop.group(help="A customer's data on request: export it, or erase the person (R-8.3).")
def customer() -> None:
    """Customer data-protection commands."""


@customer.command("export", help="Print everything stored about a customer as JSON.")
@click.argument("number")
@pass_runtime
def customer_export(runtime: Runtime, number: str) -> None:
    runtime.require_keys()
    try:
        data = runtime.services().export_customer(number)
    except CareloopError as exc:
        raise CommandFailed([str(exc)]) from None
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@customer.command("erase", help="Erase the person; records' statistics and the audit trail stay.")
@click.argument("number")
@click.option("--by", "actor", default="cli", show_default=True, help="Who asked (audit log).")
@click.confirmation_option(prompt="Erase this customer's personal data for good?")
@pass_runtime
def customer_erase(runtime: Runtime, number: str, actor: str) -> None:
    runtime.require_keys()
    try:
        count = runtime.services().erase_customer(number, actor=actor)
    except CareloopError as exc:
        raise CommandFailed([str(exc)]) from None
    click.echo(f"customer erased; personal fields of {count} records replaced by a tombstone")


@careloop.command("new-data-key", help="Print a new key for CARELOOP_DATA_KEY (Fernet).")
def new_data_key() -> None:
    from engine.access import crypto

    click.echo(crypto.new_key())


@careloop.group(help="Keys for personal data (CARELOOP_DATA_KEY, CARELOOP_LOOKUP_KEY).")
def keys() -> None:
    pass


@keys.command("new", help="Print a fresh CARELOOP_DATA_KEY and CARELOOP_LOOKUP_KEY, as KEY=value.")
def keys_new() -> None:
    """Lines an environment file (docs/deploy.md's /etc/careloop/env) takes as they are."""
    from ops.secrets import new_keys

    for name, value in new_keys().items():
        click.echo(f"{name}={value}")


@careloop.command("backup", help="Copy the database to FILE (consistent, while it runs).")
@click.argument("target", type=click.Path(path_type=Path, dir_okay=False))
@pass_runtime
def backup_command(runtime: Runtime, target: Path) -> None:
    from engine.store import backup as store_backup

    try:
        store_backup.backup(runtime.settings.database_url, target)
    except store_backup.BackupError as exc:
        raise CommandFailed([str(exc)]) from None
    click.echo(f"backup written to {target}")


@careloop.command("restore", help="Restore FILE into the (empty) database CARELOOP_DATABASE_URL.")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False))
@pass_runtime
def restore_command(runtime: Runtime, source: Path) -> None:
    from engine.store import backup as store_backup

    try:
        store_backup.restore(source, runtime.settings.database_url)
    except store_backup.BackupError as exc:
        raise CommandFailed([str(exc)]) from None
    counts = store_backup.row_counts(runtime.engine)
    click.echo(f"restored {sum(counts.values())} rows in {len(counts)} tables")


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
