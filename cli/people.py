"""People who sign in, their teams, and the API tokens of integrations.

What a command needs beyond click (the ORM, Flask for password hashing) is imported inside it,
so `careloop --help` stays light (issue #24 item 2).
"""

from __future__ import annotations

import click

from cli.root import CommandFailed, Runtime, careloop, pass_runtime
from engine.access.choices import ASSIGN_METHODS, LOCALES, ROLES, SCOPES
from engine.errors import CareloopError


@careloop.group(help="People who sign in.")
def user() -> None:
    """User commands."""


@user.command("add", help="Add a user; without --password one is generated and printed once.")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="agent", show_default=True)
@click.option("--team", default=None, help="Team (created if new); its department is its name.")
@click.option("--name", "display_name", default=None, help="Display name.")
@click.option("--locale", type=click.Choice(LOCALES), default="zh", show_default=True)
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
    from engine.access import users
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
            raise CommandFailed([str(exc)]) from None
        uow.commit()
    click.echo(f"user '{username}' ({role}) added" + ("" if password else f"; password: {secret}"))


@user.command("first", help="Create the first operations account if nobody can sign in yet.")
@pass_runtime
def user_first(runtime: Runtime) -> None:
    from sqlalchemy import select

    from engine.access import users
    from engine.store.models import User
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
    type=click.Choice(ASSIGN_METHODS),
    default=None,
    help="pull (agents take next), round_robin, least_open.",
)
@pass_runtime
def team_set(runtime: Runtime, name: str, department: str | None, method: str | None) -> None:
    from engine.access import users

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
    type=click.Choice(SCOPES),
    default=("read", "write"),
    show_default=True,
)
@pass_runtime
def token_add(runtime: Runtime, name: str, scopes: tuple[str, ...]) -> None:
    from engine.access import tokens

    services = runtime.services()
    with services.uow() as uow:
        try:
            issued, plain = tokens.issue(uow.session, name, scopes, services.clock.now())
        except CareloopError as exc:
            raise CommandFailed([str(exc)]) from None
        uow.commit()
        click.echo(
            f"token '{issued.name}' ({', '.join(issued.scopes)}); keep it, it is shown once:"
        )
        click.echo(plain)


@token.command("revoke", help="Revoke a token by name.")
@click.argument("name")
@pass_runtime
def token_revoke(runtime: Runtime, name: str) -> None:
    from engine.access import tokens

    services = runtime.services()
    with services.uow() as uow:
        try:
            tokens.revoke(uow.session, name, services.clock.now())
        except CareloopError as exc:
            raise CommandFailed([str(exc)]) from None
        uow.commit()
    click.echo(f"token '{name}' revoked")


@token.command("list", help="List tokens (never their text).")
@pass_runtime
def token_list(runtime: Runtime) -> None:
    from sqlalchemy import select

    from engine.store.models import ApiToken

    with runtime.services().session_factory() as session:
        for row in session.scalars(select(ApiToken).order_by(ApiToken.name)):
            state = "revoked" if row.revoked_at else "live"
            click.echo(f"{row.name}  {row.prefix}…  {','.join(row.scopes)}  {state}")
