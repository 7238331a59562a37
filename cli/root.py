"""The `careloop` group itself and what its commands share: the settings, read once, and the
one engine and services built from them; and how a command fails.

The group's callback runs before any sub-command: a setting that does not parse stops every
command with one line per problem (ops/settings.py), never a traceback.

Nothing here imports the engine at module level: every command module imports this one, so
what it imported `careloop --help` paid for (SQLAlchemy, every model, the services: over a
second). The engine comes in when a command first asks the runtime for it (issue #24 item 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from ops.settings import Settings, SettingsError, configure_engine_keys, instance_secret, load

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from engine.customers.surveylinks import SurveyLinks
    from engine.services import Services
    from ops.observed import ObservedServices


class Runtime:
    """What every command shares: the settings, read once, and the one engine built from them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from engine.store.db import make_engine

            self._engine = make_engine(self.settings.database_url)
        return self._engine

    def services(self) -> Services:
        from engine.services import Services
        from engine.store.db import make_session_factory

        return Services(make_session_factory(self.engine), links=self.survey_links())

    def observed(self) -> ObservedServices:
        """Services counted for /metrics, as the scheduler runs them."""
        from engine.store.db import make_session_factory
        from ops.observed import ObservedServices

        return ObservedServices(make_session_factory(self.engine), links=self.survey_links())

    def survey_links(self) -> SurveyLinks:
        """Signed with the web app's secret, so the links the scheduler sends open its survey.
        Flask, to find the instance folder, only without CARELOOP_SECRET_KEY (a deployment sets
        it): it is a tenth of a second of the scheduler's start (issue #24 item 2)."""
        from engine.customers.surveylinks import SurveyLinks

        secret = self.settings.secret_key
        if not secret:
            from flask import Flask

            instance = Path(Flask("webapp").instance_path)  # where the web app keeps its secret
            secret = instance_secret(instance)
        return SurveyLinks(secret, self.settings.public_url)

    def require_keys(self) -> None:
        """Refuse to go on, with one line, when a key for personal data is unset or does not
        open what is stored (ops/secrets.py): before a long run starts, not on its first row."""
        from ops.secrets import missing_keys, wrong_key

        problem = missing_keys(self.settings) or wrong_key(self.engine)
        if problem:
            raise CommandFailed([problem])

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


pass_runtime = click.make_pass_decorator(Runtime)


class CommandFailed(click.ClickException):
    """A command's failure: its lines (file:line:column, …) on stderr as they are, exit code 1.

    A ClickException, so click prints it and exits (commands never exit themselves), without
    click's "Error: " prefix: editors and scripts read these lines as they always were.
    """

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines

    def show(self, file: IO[Any] | None = None) -> None:
        for line in self.lines:
            click.echo(line, err=True)


class CareloopGroup(click.Group):
    """The group: a key that is missing or does not open stored data, met in any command, is
    one line and exit code 1, never a traceback through the ORM (issue #22 item 2)."""

    def invoke(self, ctx: click.Context) -> Any:
        from engine.access.crypto import MissingKey

        try:
            return super().invoke(ctx)
        except MissingKey as exc:
            raise CommandFailed([str(exc)]) from None


@click.group(cls=CareloopGroup, help="Careloop: configurable customer-service workflows.")
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
