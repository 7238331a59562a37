"""Shared fixtures: migrated databases (SQLite always, PostgreSQL where one answers), a clock,
and a real IMAP server (Dovecot, tests/mailserver.py) for the mail tests of issue #20."""

from __future__ import annotations

import functools
import itertools
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, text

from engine.records.versions import PackSource
from engine.services import Services
from engine.store.db import make_engine, make_session_factory
from engine.store.migrate import upgrade
from engine.store.models import Model
from engine.time.clock import VirtualClock
from ops.settings import Settings, configure_engine_keys
from signin import auth as signin_auth
from tests.mailserver import ImapServer, MailServerUnavailable, running_dovecot

# Tests encrypt personal data with the public development keys (engine/crypto.py).
os.environ.setdefault("CARELOOP_INSECURE_DEV", "1")
# …handed to the engine as every composition root does (ops/settings.py): tests that build
# Services or migrate without an app or a command need them too.
# Attached files go to a folder of this run's own, never the checkout's instance/files; the
# web apps the tests build read the same variable.
_files_folder = tempfile.TemporaryDirectory(prefix="careloop-files-")
os.environ.setdefault("CARELOOP_FILES_DIR", _files_folder.name)
configure_engine_keys(Settings.for_tests(files_dir=os.environ["CARELOOP_FILES_DIR"]))
# scrypt costs 0.1–0.3 s a hash on the CI machine and the suite makes thousands of staff: one
# round of PBKDF2 instead (tests/unit/test_settings.py keeps scrypt the production method).
signin_auth.PASSWORD_METHOD = "pbkdf2:sha256:1"
ROOT = Path(__file__).resolve().parents[1]
SHANGHAI = ZoneInfo("Asia/Shanghai")
PG_URL = os.environ.get(
    "CARELOOP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


# Tests that start processes of their own (schedulers, web workers, the soak) run after the rest,
# alone (`make test`), where two test processes would compete with them for the cores.
SERIAL_FOLDERS = ("tests/pg/", "tests/ops/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(SERIAL_FOLDERS):
            item.add_marker(pytest.mark.serial)


def pg_available() -> bool:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def require_pg() -> None:
    """Skip where no server answers; in CI (CARELOOP_REQUIRE_PG=1) that is a failure instead."""
    if not pg_available():
        if os.environ.get("CARELOOP_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL does not answer at {PG_URL}, and CI requires it")
        pytest.skip("PostgreSQL does not answer")


_template_folder = tempfile.TemporaryDirectory(prefix="careloop-template-")


@functools.cache
def migrated_sqlite() -> Path:
    """One migrated SQLite file per test process; each test copies it (faster than migrating)."""
    path = Path(_template_folder.name) / "careloop.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of its own on the PostgreSQL server, migrated once, dropped at the end."""
    require_pg()
    name = f"careloop_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def truncate(engine: Engine) -> None:
    tables = ", ".join(t.name for t in Model.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def db_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database: every engine test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "careloop.db"
        shutil.copy(migrated_sqlite(), path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        engine = make_engine(request.getfixturevalue("pg_database"))
        truncate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> VirtualClock:
    """Monday 2026-11-23 09:00 in Shanghai, a plain working day."""
    return VirtualClock(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))


@pytest.fixture(scope="session")
def after_sales() -> PackSource:
    from workflows.validate import checked_source

    return checked_source(ROOT / "workflows" / "after_sales")


# The default pack's audiences (`messages.recipients`): a test puts its own in their place.
DEFAULT_RECIPIENTS = re.compile(r"^  recipients:\n(?:    .*\n)+", re.M)


@pytest.fixture
def services(db_engine: Engine, clock: VirtualClock, after_sales: PackSource) -> Services:
    """Services on a fresh database with the default pack published."""
    service = Services(make_session_factory(db_engine), clock)
    service.publish(after_sales, by="test")
    return service


def web_app(tmp_path: Path, *, pack: PackSource | None = None, **config: object) -> Flask:
    """The whole app on a fresh migrated SQLite file; sign-in works over plain http."""
    from wsgi import create_app, services

    tmp_path.mkdir(parents=True, exist_ok=True)
    shutil.copy(migrated_sqlite(), tmp_path / "web.db")
    url = f"sqlite:///{tmp_path}/web.db"
    app = create_app(
        {
            "DATABASE_URL": url,
            "TESTING": True,
            "SECRET_KEY": "test",
            "SESSION_COOKIE_SECURE": False,
            **config,
        }
    )
    if pack is not None:
        services(app).publish(pack, by="test")
    return app


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
