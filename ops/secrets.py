"""Whether the secrets a process needs are there, and open what is stored: checked at start.

`careloop serve`, `careloop scheduler` and every command that reads or writes personal data
call `missing_keys()` before doing anything, and refuse with one line naming the variable and
the command that makes it (`careloop keys new`); `/readyz` answers 503 with the same line, so
a load balancer keeps traffic off a worker that would fail every write (issue #22 item 2).
`wrong_key()` tries the data key on one stored value, so a wrong or rotated-out key is one line
at start instead of a traceback on the first page that shows a customer.

The development defaults (CARELOOP_INSECURE_DEV=1: fixed, public keys) are set in one place,
the Makefile, and documented in the README's configuration table; never in production.
"""

from __future__ import annotations

import secrets

from cryptography.fernet import Fernet
from sqlalchemy import Engine, column, func, select, table
from sqlalchemy.exc import SQLAlchemyError

from engine.access import crypto
from engine.store.db import make_engine
from ops.settings import Settings, configure_engine_keys

KEYS_COMMAND = "careloop keys new"


def missing_keys(settings: Settings) -> str | None:
    """One line naming every unset key and how to make them; None when nothing is missing."""
    if settings.insecure_dev:
        return None
    unset = [
        name
        for name, value in (
            ("CARELOOP_DATA_KEY", settings.data_key),
            ("CARELOOP_LOOKUP_KEY", settings.lookup_key),
        )
        if not value.strip()
    ]
    if not unset:
        return None
    verb = "is" if len(unset) == 1 else "are"
    return (
        f"{' and '.join(unset)} {verb} not set: `{KEYS_COMMAND}` prints them "
        "(CARELOOP_INSECURE_DEV=1 uses public development keys, never in production)"
    )


def wrong_key(engine: Engine) -> str | None:
    """One line when the data key does not open a stored customer's value, or else a record's
    personal fields (issue #22 item 4); None when it does, or when nothing is stored yet (or
    the schema is not there: `careloop db upgrade` says so)."""
    customers = table("customers", column("contact"), column("name"))
    records = table("records", column("private_fields"))
    queries = (
        select(func.coalesce(customers.c.contact, customers.c.name)).where(
            (customers.c.contact.is_not(None)) | (customers.c.name.is_not(None))
        ),
        select(records.c.private_fields).where(records.c.private_fields.is_not(None)),
    )
    try:
        with engine.connect() as conn:
            token = next(
                (found for q in queries if (found := conn.scalar(q.limit(1))) is not None), None
            )
    except SQLAlchemyError:
        return None
    if token is None:
        return None
    try:
        crypto.decrypt(token)
    except crypto.MissingKey as exc:
        return str(exc)
    return None


def start_problem(settings: Settings) -> str | None:
    """The line `careloop serve` refuses to start with, for a process without the CLI's runtime:
    gunicorn.conf.py, so `gunicorn wsgi:app` forks no worker that would fail every write."""
    missing = missing_keys(settings)
    if missing:
        return missing
    configure_engine_keys(settings)
    engine = make_engine(settings.database_url)
    try:
        return wrong_key(engine)
    finally:
        engine.dispose()


def new_keys() -> dict[str, str]:
    """A fresh pair, in the format ops/settings.py checks: a Fernet key and a long random text."""
    return {
        "CARELOOP_DATA_KEY": Fernet.generate_key().decode(),
        "CARELOOP_LOOKUP_KEY": secrets.token_urlsafe(32),
    }
