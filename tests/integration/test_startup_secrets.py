"""Secrets are checked at start (issue #22 item 2, R-8.3): without the keys for personal data
`careloop serve`, `careloop scheduler` and the commands that read personal data refuse with one
line naming the variable and `careloop keys new`, which prints them; `/readyz` is 503 with the
reason and no secret; a wrong key is one line, not a traceback; and the README's rehearsal
commands run as written in a fresh shell, which has no CARELOOP_INSECURE_DEV."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from engine.access import crypto
from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.db import make_engine, make_session_factory
from engine.store.migrate import upgrade
from ops.secrets import missing_keys, new_keys, wrong_key
from ops.settings import Settings, configure_engine_keys
from webapp import create_app

ROOT = Path(__file__).resolve().parents[2]
CARELOOP = str(Path(sys.executable).parent / "careloop")


def fresh_shell(database: Path, **extra: str) -> dict[str, str]:
    """The environment of a new terminal: no CARELOOP_* variable but the ones given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOOP_")}
    return {**env, "CARELOOP_DATABASE_URL": f"sqlite:///{database}", **extra}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # A timeout: before the start check, `serve` would start and wait for requests.
    return subprocess.run(
        [CARELOOP, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=90
    )


@pytest.fixture
def keys() -> Iterator[None]:
    """Tests that hand the engine other keys; the development keys are put back after."""
    yield
    configure_engine_keys(Settings.for_tests())


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    path = tmp_path / "careloop.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.mark.parametrize("command", [["serve"], ["scheduler"], ["customer", "export", "C-7"]])
def test_a_command_that_needs_the_keys_refuses_with_one_line(
    command: list[str], migrated: Path
) -> None:
    result = run(command, fresh_shell(migrated))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "CARELOOP_DATA_KEY and CARELOOP_LOOKUP_KEY are not set: `careloop keys new` prints them "
        "(CARELOOP_INSECURE_DEV=1 uses public development keys, never in production)"
    ]


def test_one_missing_key_is_named_alone(migrated: Path) -> None:
    env = fresh_shell(migrated, CARELOOP_DATA_KEY=crypto.new_key())
    result = run(["scheduler", "--once"], env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "CARELOOP_LOOKUP_KEY is not set: `careloop keys new` prints them "
        "(CARELOOP_INSECURE_DEV=1 uses public development keys, never in production)"
    ]


def test_keys_new_prints_what_the_settings_accept_and_the_commands_then_start(
    migrated: Path,
) -> None:
    printed = run(["keys", "new"], fresh_shell(migrated))
    assert printed.returncode == 0, printed.stderr
    pairs = dict(line.split("=", 1) for line in printed.stdout.splitlines())
    assert set(pairs) == {"CARELOOP_DATA_KEY", "CARELOOP_LOOKUP_KEY"}
    settings = Settings.from_environ(pairs)  # the data key is checked as a Fernet key
    assert missing_keys(settings) is None
    result = run(["scheduler", "--once"], fresh_shell(migrated, **pairs))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("fired 0")
    assert new_keys() != new_keys()


def test_a_wrong_key_is_one_line_at_start_and_in_any_command(migrated: Path, keys: None) -> None:
    engine = make_engine(f"sqlite:///{migrated}")
    Services(make_session_factory(engine)).save_customer(
        "C-7", {"name": "王芳", "contact": "13912345678"}
    )
    engine.dispose()
    wrong = {"CARELOOP_DATA_KEY": crypto.new_key(), "CARELOOP_LOOKUP_KEY": "k" * 40}
    for command in (["scheduler", "--once"], ["customer", "export", "C-7"]):
        result = run(command, fresh_shell(migrated, **wrong))
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [
            "stored personal data does not open with CARELOOP_DATA_KEY: wrong or rotated-out key"
        ], command


def test_wrong_key_tries_one_stored_value(db_engine: Engine, keys: None) -> None:
    assert wrong_key(db_engine) is None  # nothing stored yet
    Services(make_session_factory(db_engine)).save_customer("C-7", {"name": "王芳"})
    assert wrong_key(db_engine) is None  # the development keys open it
    configure_engine_keys(Settings.for_tests(data_key=crypto.new_key()))
    assert "wrong or rotated-out key" in (wrong_key(db_engine) or "")


def test_wrong_key_tries_a_records_sealed_fields_when_no_customer_holds_any(
    services: Services, db_engine: Engine, keys: None
) -> None:
    """Issue #22 item 4: a database whose personal data is only inside records is checked too."""
    fields = {"customer_no": "C-7", "contact": "13912345678", "description": "漏水"}
    new = NewRecord(record_type="feedback", channel="phone", fields=fields)
    services.create_record("after_sales", new, actor="api")
    with db_engine.begin() as conn:  # the customer made on first contact keeps nothing sealed
        conn.execute(text("UPDATE customers SET name = NULL, contact = NULL"))
    assert wrong_key(db_engine) is None
    configure_engine_keys(Settings.for_tests(data_key=crypto.new_key()))
    assert "wrong or rotated-out key" in (wrong_key(db_engine) or "")


def test_readyz_fails_while_a_key_is_missing_and_never_shows_one(keys: None) -> None:
    lookup = "a-lookup-key-that-must-not-appear-anywhere"
    app = create_app(
        {"TESTING": True},
        settings=Settings(database_url="sqlite://", insecure_cookies=True, lookup_key=lookup),
    )
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["status"].startswith("CARELOOP_DATA_KEY is not set")
    assert lookup not in answer.get_data(as_text=True)


def test_the_readme_rehearsals_run_as_written_in_a_fresh_shell(tmp_path: Path) -> None:
    env = fresh_shell(tmp_path / "unused.db")
    result = run(["simulate", "workflows/after_sales/scenarios/customer_contacts.yaml"], env)
    assert result.returncode == 0, result.stderr
    assert "MissingKey" not in result.stderr
