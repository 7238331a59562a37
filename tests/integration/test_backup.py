"""`careloop backup` and `careloop restore`: a fresh database restored from a backup holds the
same rows (ASVS 14.2.x; nothing lost). SQLite through the online backup API, PostgreSQL
through pg_dump / pg_restore."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text

from cli import careloop
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.backup import row_counts
from engine.store.db import make_engine, make_session_factory
from engine.store.migrate import upgrade
from engine.store.models import Customer, Record
from engine.time.clock import VirtualClock
from tests.conftest import PG_URL, require_pg

PHONE = "13912345678"


def fill(url: str, clock: VirtualClock, pack: PackSource) -> None:
    engine = make_engine(url)
    upgrade(engine)
    services = Services(make_session_factory(engine), clock)
    services.publish(pack, by="test")
    services.save_customer("C-1", {"name": "王芳", "contact": PHONE})
    for i in range(5):
        services.create_record(
            "after_sales",
            NewRecord(
                record_type="feedback",
                channel="phone",
                fields={"customer_no": "C-1", "contact": PHONE, "description": f"问题 {i}"},
            ),
            actor="api",
        )
    engine.dispose()


def sample(url: str) -> tuple[tuple[str | None, str | None, list[Any]], dict[str, int]]:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        customer = session.scalars(select(Customer)).one()
        descriptions = [r.fields["description"] for r in session.scalars(select(Record))]
        found = (customer.name, customer.contact, sorted(descriptions))
    counts = row_counts(engine)
    engine.dispose()
    return found, counts


def run(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> str:
    monkeypatch.setenv("CARELOOP_DATABASE_URL", url)
    result = CliRunner().invoke(careloop, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_sqlite_backup_restores_into_a_fresh_file(
    tmp_path: Path, clock: VirtualClock, after_sales: PackSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = f"sqlite:///{tmp_path}/live.db", f"sqlite:///{tmp_path}/restored.db"
    fill(source, clock, after_sales)
    run(monkeypatch, source, "backup", str(tmp_path / "backup.db"))
    output = run(monkeypatch, target, "restore", str(tmp_path / "backup.db"))
    assert "restored" in output
    (found, counts), (restored, restored_counts) = sample(source), sample(target)
    assert counts == restored_counts and counts["records"] == 5 and counts["customers"] == 1
    assert found == restored and found[1] == PHONE  # decrypts with the same key


def test_restore_refuses_to_overwrite_a_database(
    tmp_path: Path, clock: VirtualClock, after_sales: PackSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = f"sqlite:///{tmp_path}/live.db"
    fill(source, clock, after_sales)
    run(monkeypatch, source, "backup", str(tmp_path / "backup.db"))
    monkeypatch.setenv("CARELOOP_DATABASE_URL", source)
    refused = CliRunner().invoke(careloop, ["restore", str(tmp_path / "backup.db")])
    assert refused.exit_code == 1 and "exists: restore into a new file" in refused.output
    missing = CliRunner().invoke(careloop, ["restore", str(tmp_path / "nothing.db")])
    assert missing.exit_code == 1 and "no such backup file" in missing.output


@pytest.fixture
def two_pg_databases() -> Iterator[tuple[str, str]]:
    require_pg()
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    names = [f"careloop_backup_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_URL.rsplit("/", 1)[0]
    yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.pg
def test_postgresql_backup_restores_into_a_fresh_database(
    two_pg_databases: tuple[str, str],
    tmp_path: Path,
    clock: VirtualClock,
    after_sales: PackSource,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, target = two_pg_databases
    fill(source, clock, after_sales)
    run(monkeypatch, source, "backup", str(tmp_path / "backup.dump"))
    run(monkeypatch, target, "restore", str(tmp_path / "backup.dump"))
    (found, counts), (restored, restored_counts) = sample(source), sample(target)
    assert counts == restored_counts and counts["records"] == 5
    assert found == restored and found[1] == PHONE
