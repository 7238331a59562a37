"""What operations staff publish in the admin is the truth of a running system (issue #22
item 3, R-1.6): a server's start (`make run`: `careloop publish --keep-admin`) publishes a
pack from its files only when it was never published, or when its files changed since they
were last published and nobody published in the admin since; otherwise one line says so and
the admin's version stays. Each version records where it came from; `careloop pack export`
writes the live version back to files, and those publish as the same version."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import Engine, column, insert, select, table

from cli import careloop
from engine.access import users
from engine.records.versions import ADMIN, FILES, PackSource
from engine.services import Services
from engine.store.db import make_engine, make_session_factory
from engine.store.migrate import upgrade
from engine.store.models import AuditEntry, PackVersion
from engine.store.types import UTCDateTime
from engine.time.clock import VirtualClock
from signin.auth import hash_password
from tests.conftest import web_app
from workflows.validate import checked_source
from wsgi import services

SHIPPED = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"
P1_RESOLVE = "sla:record_types|feedback|sla|policies|P1|resolve|within"
PASSWORD = "correct horse battery staple 7"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the pack a developer edits (the folder's name is the pack's)."""
    copy = tmp_path / "packs" / "after_sales"
    shutil.copytree(SHIPPED, copy)
    return copy


def edit(folder: Path, old: str, new: str) -> PackSource:
    path = folder / "feedback.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return checked_source(folder)


def newest(services: Services) -> PackVersion:
    with services.session_factory() as session:
        return session.scalars(select(PackVersion).order_by(PackVersion.version.desc())).first()  # type: ignore[return-value]


def test_a_start_keeps_what_the_admin_published_and_publishes_files_otherwise(
    db_engine: Engine, clock: VirtualClock, folder: Path
) -> None:
    services = Services(make_session_factory(db_engine), clock=clock)
    first = services.publish(checked_source(folder), by="make-run", keep_admin=True)
    assert first.created and (first.version.origin, first.version.version) == (FILES, 1)
    # Files changed, nobody in the admin since: the start publishes them.
    changed = edit(folder, "3 working days", "4 working days")
    second = services.publish(changed, by="make-run", keep_admin=True)
    assert second.created and second.version.version == 2
    assert second.version.source_hash == changed.source_hash
    # Operations staff publish in the admin; the developer's files change again.
    admin = edit(folder, "4 working days", "2 working days")
    services.publish(admin, by="ops-li", origin=ADMIN)
    files = edit(folder, "2 working days", "5 working days")
    kept = services.publish(files, by="make-run", keep_admin=True)
    assert kept.kept and not kept.created
    assert (newest(services).version, newest(services).origin) == (3, ADMIN)
    # Unchanged files at the next start: the admin's version still stays.
    assert services.publish(files, by="make-run", keep_admin=True).kept
    # An explicit publish, without --keep-admin, puts the files over it.
    explicit = services.publish(files, by="dev", keep_admin=False)
    assert explicit.created and (explicit.version.version, explicit.version.origin) == (4, FILES)


def test_files_found_identical_to_the_admins_version_are_the_truth_again(
    db_engine: Engine, clock: VirtualClock, folder: Path
) -> None:
    services = Services(make_session_factory(db_engine), clock=clock)
    services.publish(checked_source(folder), by="make-run", keep_admin=True)
    admin = edit(folder, "3 working days", "2 working days")
    services.publish(admin, by="ops-li", origin=ADMIN)
    assert newest(services).files_at is None  # the folder never held v2 …
    same = services.publish(admin, by="make-run", keep_admin=True)  # … until now (an export)
    assert not same.created and not same.kept
    assert newest(services).files_at == clock.now()
    later = edit(folder, "2 working days", "6 working days")
    assert services.publish(later, by="make-run", keep_admin=True).created


def run(url: str, *args: str) -> Result:
    result = CliRunner().invoke(careloop, list(args), env={"CARELOOP_DATABASE_URL": url})
    assert "Traceback" not in result.output, result.output
    return result


def test_the_cli_says_it_keeps_the_admins_version_and_exports_it_round_trip(
    db_engine: Engine, folder: Path, tmp_path: Path
) -> None:
    url = db_engine.url.render_as_string(hide_password=False)
    assert "v1: published" in run(url, "publish", "--keep-admin", str(folder)).output
    services = Services(make_session_factory(db_engine))
    services.publish(edit(folder, "3 working days", "2 working days"), by="ops-li", origin=ADMIN)
    edit(folder, "2 working days", "5 working days")
    kept = run(url, "publish", "--keep-admin", "--by", "make-run", str(folder))
    assert kept.exit_code == 0
    assert kept.output.splitlines() == [
        f"after_sales v2: kept, published in the admin by ops-li at "
        f"{newest(services).published_at:%Y-%m-%d %H:%M} UTC after the files were last "
        f"published; `careloop pack export after_sales` writes it to files, "
        f"`careloop publish {folder}` publishes the files over it"
    ]
    out = tmp_path / "exported"
    (out / "after_sales").mkdir(parents=True)
    (out / "after_sales" / "stale.yaml").write_text("x: 1\n", encoding="utf-8")
    exported = run(url, "pack", "export", "after_sales", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert not (out / "after_sales" / "stale.yaml").exists()
    assert run(url, "validate", str(out / "after_sales")).exit_code == 0
    live = newest(services)
    source = checked_source(out / "after_sales")
    assert (source.source_hash, source.data) == (live.source_hash, live.data)
    again = run(url, "publish", "--keep-admin", str(out / "after_sales"))
    assert again.output.strip() == "after_sales v2: unchanged"
    assert "from admin" in run(url, "packs", "--versions").output
    missing = run(url, "pack", "export", "nope", "--out", str(out))
    assert missing.exit_code == 1 and "has not been published" in missing.output


def test_a_publish_in_the_admin_is_recorded_as_from_the_admin(
    tmp_path: Path, after_sales: PackSource
) -> None:
    app: Flask = web_app(tmp_path, pack=after_sales, WTF_CSRF_ENABLED=False)
    service = services(app)
    with service.uow() as uow:
        users.add_user(
            uow.session, "ops", "operations", PASSWORD, hash_password, service.clock.now()
        )
        uow.commit()
    client = app.test_client()
    client.post("/login", data={"username": "ops", "password": PASSWORD})
    client.post("/admin/packs/after_sales/sla", data={P1_RESOLVE: "2 working days"})
    assert client.post("/admin/packs/after_sales/publish").status_code == 302
    version = newest(service)
    assert (version.version, version.origin, version.published_by) == (2, ADMIN, "ops")
    assert version.files_at is None
    page = client.get("/admin/packs/after_sales").get_data(as_text=True)
    origins = re.findall(r'class="version-origin">([^<]+)<', page)
    assert origins == ["在后台发布", "从文件发布"]  # v2, then v1


def test_the_migration_tells_old_admin_versions_from_file_versions(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/old.db")
    upgrade(engine, "0021")
    at = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    row = {"pack": "p", "files": "{}", "data": "{}", "source_hash": "h", "published_at": at}
    # The table as 0021 left it: no provenance columns yet.
    old = table(
        "pack_versions",
        *(column(name) for name in ("pack", "version", "files", "data", "source_hash")),
        column("published_by"),
        column("published_at", UTCDateTime()),
    )
    with engine.begin() as conn:
        conn.execute(
            insert(old),
            [
                {**row, "version": 1, "published_by": "make-run"},
                {**row, "version": 2, "published_by": "ops-li"},
            ],
        )
        conn.execute(
            insert(AuditEntry.__table__),  # type: ignore[arg-type]
            [
                {
                    "at": at,
                    "actor": "ops-li",
                    "action": "pack.publish",
                    "subject": "p",
                    "detail": {"before": 1, "after": 2},
                }
            ],
        )
    upgrade(engine)
    with make_session_factory(engine)() as session:
        rows = session.execute(
            select(PackVersion.version, PackVersion.origin, PackVersion.files_at).order_by(
                PackVersion.version
            )
        ).all()
    engine.dispose()
    assert rows == [(1, FILES, at), (2, ADMIN, None)]
