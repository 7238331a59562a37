"""Packs: check them, publish them, simulate a scenario, list what is shipped and published.

The validator and its JSON Schema, the simulator and the ORM are imported inside their commands:
a `careloop scheduler --once` should not pay for them, nor `careloop --help` (issue #24 item 2).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli.root import CommandFailed, Runtime, careloop, pass_runtime
from engine.errors import CareloopError
from engine.time.clock import SystemClock
from workflows.errors import PackInvalid

if TYPE_CHECKING:
    from engine.store.models import PackVersion

SHIPPED = Path(__file__).resolve().parents[1] / "workflows"


@careloop.command(help="Check packs (schema and meaning); print file:line:column errors.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Warn about calendars as on this day (default: today), e.g. 2026-11-15.",
)
def validate(paths: tuple[Path, ...], as_of: datetime | None) -> None:
    from workflows.calendars import coverage_warnings
    from workflows.loader import load_pack
    from workflows.validate import source_of

    now = as_of.replace(tzinfo=UTC) if as_of else SystemClock().now()
    failed: list[str] = []
    for path in paths:
        try:
            loaded = load_pack(path)
            source = source_of(loaded)
        except PackInvalid as exc:
            failed.extend(str(error) for error in exc.errors)
            continue
        click.echo(f"{path}: ok ({source.name}, {len(source.files)} files)")
        for warning in coverage_warnings(loaded, now):  # a warning, not a failure (R-2.8)
            click.echo(str(warning), err=True)
    if failed:
        raise CommandFailed(failed)


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
@click.option(
    "--keep-admin",
    is_flag=True,
    help="Leave a pack whose newest version was published in the admin since its files were "
    "last published (what a server's start runs: `make run`).",
)
@pass_runtime
def publish(
    runtime: Runtime,
    paths: tuple[Path, ...],
    by: str,
    mappings: tuple[str, ...],
    keep_admin: bool,
) -> None:
    from workflows.validate import checked_source

    stage_map = dict(_mapping(m) for m in mappings)
    services = runtime.services()
    for path in paths:
        try:
            source = checked_source(path)
            result = services.publish(source, by=by, stage_map=stage_map, keep_admin=keep_admin)
        except PackInvalid as exc:
            raise CommandFailed([str(error) for error in exc.errors]) from None
        except CareloopError as exc:
            raise CommandFailed([f"{path}: {exc}"]) from None
        version = result.version
        if result.kept:
            click.echo(_kept(version, path))
            continue
        state = "published" if result.created else "unchanged"
        moved = "".join(f", moved {n} from {t}.{s}" for (t, s), n in result.moved.items())
        click.echo(f"{version.pack} v{version.version}: {state}{moved}")


def _kept(version: PackVersion, path: Path) -> str:
    """One line: the admin's version stays, and the two ways to bring files and it together."""
    return (
        f"{version.pack} v{version.version}: kept, published in the admin by "
        f"{version.published_by} at {version.published_at:%Y-%m-%d %H:%M} UTC after the files "
        f"were last published; `careloop pack export {version.pack}` writes it to files, "
        f"`careloop publish {path}` publishes the files over it"
    )


def _mapping(text: str) -> tuple[str, str]:
    old, sep, new = text.partition("=")
    if not sep or not old or not new:
        raise click.BadParameter(f"'{text}' should read TYPE.STAGE=STAGE or STAGE=STAGE")
    return old.strip(), new.strip()


@careloop.command(help="Run a scenario on a virtual clock and print its timeline.")
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_runtime
def simulate_command(runtime: Runtime, scenario: Path, as_json: bool) -> None:
    """A rehearsal in an in-memory database that holds nobody real: without keys of its own it
    encrypts with the public development keys, so the README's commands work in a fresh shell."""
    from engine.access import crypto
    from engine.records.simulation import ScenarioError, simulate
    from ops.secrets import missing_keys

    if missing_keys(runtime.settings):
        crypto.configure("", "", insecure_dev=True)
    from workflows.scenario import check_expectations, load_scenario
    from workflows.validate import checked_source

    try:
        loaded = load_scenario(scenario)
        timeline = simulate(checked_source(loaded.pack_path), loaded.scenario)
    except PackInvalid as exc:
        raise CommandFailed([str(error) for error in exc.errors]) from None
    except ScenarioError as exc:
        raise CommandFailed([str(exc)]) from None
    if as_json:
        click.echo(json.dumps(timeline.as_json(), ensure_ascii=False))
    else:
        for event in timeline.events:
            detail = " ".join(
                str(event[k]) for k in ("contact", "channel", "reason", "detail") if k in event
            )
            click.echo(f"{event['at']}  {event['ref']:<12} {event['kind']} {detail}".rstrip())
        click.echo("")
        for ref, state in timeline.records.items():
            deadlines = ", ".join(f"{k} {v}" for k, v in state["deadlines"].items())
            click.echo(f"{ref}: {state['stage']} ({deadlines})")
        for care in timeline.care:
            click.echo(
                f"{care['at']}  {care['customer']:<12} {care['campaign']} "
                f"{care['occasion']} {care['status']}"
            )
        for warning in timeline.warnings:  # raised by the monitors at `until` (R-6.1)
            click.echo(f"warning {warning['monitor']} {warning['scope']} {warning['level']}")
    problems = check_expectations(loaded, timeline)
    if problems:
        raise CommandFailed(problems)


simulate_command.name = "simulate"


@careloop.group(help="One published pack.")
def pack() -> None:
    pass


@pack.command("export", help="Write a pack's live version to DIR/<pack>/ as YAML files.")
@click.argument("name")
@click.option(
    "--out",
    "folder",
    default=str(SHIPPED),
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The folder that holds the pack folders.",
)
@pass_runtime
def pack_export(runtime: Runtime, name: str, folder: Path) -> None:
    """What operations staff published in the admin, back under version control: the folder
    holds exactly the live version, so a start then finds its files identical to it."""
    from engine.records.versions import latest_version
    from workflows.export import UnsafeName, write_pack

    with runtime.services().session_factory() as session:
        try:
            version = latest_version(session, name)
        except CareloopError as exc:
            raise CommandFailed([str(exc)]) from None
        files = dict(version.files)
        number = version.version
    try:
        written = write_pack(folder / name, files)
    except UnsafeName as exc:
        raise CommandFailed([f"{name} v{number}: {exc}"]) from None
    click.echo(f"{name} v{number}: wrote {', '.join(written)} to {folder / name}")


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
    from sqlalchemy import select

    from engine.store.models import PackVersion
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
                f"  by {version.published_by} from {version.origin}"
                f"  {version.source_hash[:12]}"
            )
