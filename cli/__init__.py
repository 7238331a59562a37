"""The `careloop` command: thin wrappers that parse, call the engine or the pack loader, and print.

Also reachable as `flask --app wsgi careloop …`. The group and what its commands share are in
cli/root.py; the commands, by area, in cli/packs.py (validate, publish, simulate, packs),
cli/calendars.py (calendar load),
cli/people.py (user, team, token), cli/data.py (db, kb, customer, new-data-key, backup,
restore, tiers, rollup), cli/mail.py (mail-in) and cli/serve.py (serve, scheduler).

What only one command needs (the pack validator and its JSON Schema, the simulator and
Alembic, Flask for password hashing, backup, the web app) is imported inside that command:
every `careloop scheduler --once` of a deployment's cron or a sweep bench would otherwise pay
for importing them before firing anything.
"""

from __future__ import annotations

from cli import calendars, data, mail, packs, people, serve
from cli.root import careloop

__all__ = ["careloop", "main"]
_COMMANDS = (
    calendars,
    data,
    mail,
    packs,
    people,
    serve,
)  # imported for their commands, which join the group


def main() -> None:
    careloop(prog_name="careloop")
