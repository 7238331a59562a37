"""`careloop mail-in`: one RFC 5322 message on standard input, the way an MTA pipes it (issue #20).

In /etc/aliases, for example: `service: "|/opt/careloop/.venv/bin/careloop mail-in --pack
after_sales"`. The exit code tells the MTA what to do: 0 taken (or rightly ignored), 75
(EX_TEMPFAIL) try again later, 65 (EX_DATAERR) not a mail at all.
"""

from __future__ import annotations

import sys

import click

from cli.root import CommandFailed, Runtime, careloop, pass_runtime
from engine.errors import CareloopError

MAX_MAIL_BYTES = 40 * 1024 * 1024
EX_DATAERR, EX_TEMPFAIL = 65, 75


class NotAMail(CommandFailed):
    """The MTA should bounce it: retrying cannot help (EX_DATAERR)."""

    exit_code = EX_DATAERR


class TryLater(CommandFailed):
    """The MTA should keep it and try again (EX_TEMPFAIL)."""

    exit_code = EX_TEMPFAIL


@careloop.command("mail-in", help="Take one email from standard input into its pack's records.")
@click.option("--pack", required=True, help="The pack whose records the mail belongs to.")
@click.option("--channel", default="email", show_default=True, help="The pack's channel.")
@pass_runtime
def mail_in(runtime: Runtime, pack: str, channel: str) -> None:
    from sqlalchemy.exc import OperationalError

    from engine.conversation.mail import MailUnreadable

    runtime.require_keys()
    raw = sys.stdin.buffer.read(MAX_MAIL_BYTES + 1)
    if len(raw) > MAX_MAIL_BYTES:
        raise NotAMail([f"mail larger than {MAX_MAIL_BYTES // 1024 // 1024} MiB"])
    try:
        outcome = runtime.services().take_mail(pack, channel, raw)
    except MailUnreadable as exc:
        raise NotAMail([f"not a mail: {exc}"]) from None
    except CareloopError as exc:
        raise NotAMail([str(exc)]) from None
    except (OperationalError, OSError) as exc:  # the database is away: the MTA keeps the mail
        raise TryLater([f"try again later: {exc.__class__.__name__}"]) from None
    where = f" record {outcome.record_id}" if outcome.record_id is not None else ""
    reason = f" ({outcome.reason})" if outcome.reason else ""
    click.echo(f"{outcome.action}{where}{reason}")
