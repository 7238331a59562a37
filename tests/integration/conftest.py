"""Fixtures for the integration tests that need a server of their own (issue #20: mail)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.mailserver import ImapServer, MailServerUnavailable, running_dovecot

_accounts = itertools.count(1)


@contextmanager
def required_dovecot() -> Iterator[ImapServer]:
    """A Dovecot of its own (see tests/mailserver.py), stopped at the end.

    Where Dovecot is missing or does not start the mail tests are skipped, unless
    CARELOOP_REQUIRE_MAIL=1 (CI): then they fail, as CARELOOP_REQUIRE_PG does for PostgreSQL.
    """
    try:
        with running_dovecot() as server:
            yield server
    except MailServerUnavailable as error:
        if os.environ.get("CARELOOP_REQUIRE_MAIL") == "1":
            pytest.fail(f"no IMAP server, and CI requires one: {error}")
        pytest.skip(f"no IMAP server: {error}")


@pytest.fixture(scope="session")
def dovecot() -> Iterator[ImapServer]:
    """One Dovecot for the run; tests take mailboxes of their own through `imap_server`."""
    with required_dovecot() as server:
        yield server


@pytest.fixture
def imap_server(dovecot: ImapServer) -> ImapServer:
    """The shared IMAP server with two users of this test's own, whose mailboxes start empty:
    `.host`, `.port`, `.user` and `.password` (the first user, desk@test<n>.careloop.test),
    `.users` (name → password), `.deliver(raw, user=None)`, `.unseen(user=None)`,
    `.connect(user=None)`."""
    n = next(_accounts)
    return dovecot.add_users(f"test{n}.careloop.test", {"desk": f"desk-{n}", "other": f"other-{n}"})


@pytest.fixture
def own_imap_server() -> Iterator[ImapServer]:
    """A Dovecot for this test alone, for tests that fail sign-ins on purpose: Dovecot 2.3
    delays every later sign-in from the same address after a failure (its auth penalty, up
    to 15 s, not configurable), which would slow the tests sharing `dovecot`."""
    with required_dovecot() as server:
        yield server
