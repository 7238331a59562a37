"""Calendars: load a year's official schedule (休/班 days) into a pack as a draft (R-2.8).

The draft is the admin's: its pack page shows the diff and what publishing would do, and
publishes it like any change (docs/calendars.md).
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.root import CommandFailed, Runtime, careloop, pass_runtime


@careloop.group(help="Business calendars: load a year's official schedule into a pack.")
def calendar() -> None:
    pass


@calendar.command(help="Write a year's schedule (text, CSV or .ics) into a pack's draft.")
@click.argument("pack")
@click.argument("calendar_id", metavar="CALENDAR")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", default="cli", show_default=True, help="Who edits (kept in history).")
@click.option("--dry-run", is_flag=True, help="Print the diff; save no draft.")
@pass_runtime
def load(runtime: Runtime, pack: str, calendar_id: str, file: Path, by: str, dry_run: bool) -> None:
    from engine.errors import CareloopError
    from engine.time.officialdays import ScheduleInvalid, read_schedule
    from workflows.calendardraft import load_into_draft
    from workflows.calendars import CalendarLoadError

    try:
        schedule = read_schedule(file.name, file.read_bytes())
    except ScheduleInvalid as exc:
        raise CommandFailed([f"{file}:{e.line}: {e.message}" for e in exc.errors]) from None
    services = runtime.services()
    try:
        with services.uow() as uow:
            result = load_into_draft(
                uow.session, pack, calendar_id, schedule, by, services.clock.now(), save=not dry_run
            )
            uow.commit()
    except (CalendarLoadError, CareloopError) as exc:
        raise CommandFailed([str(exc)]) from None
    if result.problems:
        raise CommandFailed(["the schedule would break the pack; nothing saved:", *result.problems])
    click.echo(result.diff or "no change: the pack already has these days", nl=False)
    if result.diff and not dry_run:
        click.echo(
            f"\ndraft of {pack} saved: review the diff and publish it on the admin's pack page"
        )
