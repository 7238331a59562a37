"""`careloop db upgrade`, `publish` and `packs` work on the configured database (R-8.1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import careloop
from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.db import make_engine, make_session_factory
from engine.store.models import Record

PACK = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("CARELOOP_DATABASE_URL", url)
    return url


def run(*args: str) -> Result:
    result = CliRunner().invoke(careloop, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def test_upgrade_publish_and_list(database: str) -> None:
    assert run("db", "upgrade").exit_code == 0
    first = run("publish", "--by", "ops-li", str(PACK))
    assert first.exit_code == 0 and "after_sales v1: published" in first.output
    again = run("publish", str(PACK))
    assert again.exit_code == 0 and "after_sales v1: unchanged" in again.output
    listing = run("packs", "--versions")
    packs_part = listing.output.split("\n\n")[0]
    rows = {line.split()[0]: line for line in packs_part.splitlines() if line.strip()}
    assert rows["after_sales"].split()[1] == "v1" and "家电售后" in rows["after_sales"]
    assert "not published" in rows["catering"]  # shipped, one command away
    assert "after_sales v1" in listing.output and "by ops-li" in listing.output


def test_a_publish_that_strands_records_is_refused_until_mapped(
    database: str, tmp_path: Path
) -> None:
    run("db", "upgrade")
    run("publish", str(PACK))
    engine = make_engine(database)
    services = Services(make_session_factory(engine))
    record = services.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            fields={"customer_no": "C-8", "contact": "13800000008", "description": "不出水"},
        ),
        actor="api",
    )
    engine.dispose()
    renamed = tmp_path / "after_sales"
    shutil.copytree(PACK, renamed)
    feedback = renamed / "feedback.yaml"
    feedback.write_text(
        feedback.read_text(encoding="utf-8").replace("pending", "received"), encoding="utf-8"
    )
    refused = run("publish", str(renamed))
    assert refused.exit_code == 1
    assert "feedback.pending (1 open)" in refused.output
    assert "--map" in refused.output
    moved = run("publish", "--map", "feedback.pending=received", str(renamed))
    assert moved.exit_code == 0, moved.output
    assert "after_sales v2: published, moved 1 from feedback.pending" in moved.output
    with make_session_factory(make_engine(database))() as session:
        assert session.get_one(Record, record.id).stage == "received"


def test_a_malformed_mapping_is_a_usage_error(database: str) -> None:
    result = run("publish", "--map", "nonsense", str(PACK))
    assert result.exit_code == 2
    assert "TYPE.STAGE=STAGE" in result.output


def test_the_commands_are_reachable_through_flask_too(database: str) -> None:
    from wsgi import create_app

    app = create_app({"DATABASE_URL": database})
    result = app.test_cli_runner().invoke(args=["careloop", "validate", str(PACK)])
    assert result.exit_code == 0 and "after_sales: ok" in result.output


def test_kb_reindex_backfills_cases_resolved_before_the_index(database: str) -> None:
    assert run("db", "upgrade").exit_code == 0
    assert run("publish", str(PACK)).exit_code == 0
    services = Services(make_session_factory(make_engine(database)))
    fields = {"customer_no": "C-1", "contact": "13812345678", "description": "空调漏水"}
    record = services.create_record(
        "after_sales", NewRecord(record_type="feedback", fields=fields, channel="phone"), actor="t"
    )
    services.transition(record.id, "solve_on_spot", {"solution": "清理排水管"}, actor="li")
    result = run("kb", "reindex")
    assert result.exit_code == 0, result.output
    assert "0 articles, 0 problems, 1 cases indexed" in result.output
