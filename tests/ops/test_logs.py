"""Issue #14: JSON log lines carry the request id into engine calls and sweeps, and no line
holds personal data, even at DEBUG."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from engine.access import tokens
from engine.records.versions import PackSource
from ops.context import correlated_job, request_id
from ops.logs import JsonFormatter, configure, scrub
from schedules.worker import SweepJob
from tests.conftest import web_app
from wsgi import services

PHONE = "13700001234"
EMAIL = "zhao.xm@example.cn"


@pytest.fixture
def production_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`configure()` as a gunicorn worker runs it, at DEBUG; the root logger put back after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.getLogger("sqlalchemy").level)
    configure(level="DEBUG")
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.getLogger("sqlalchemy").setLevel(saved[2])


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource, production_logging: None) -> Flask:
    return web_app(tmp_path, pack=after_sales)


def test_lines_carry_the_request_id_and_no_personal_data(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    with services(app).uow() as uow:
        _, plain = tokens.issue(uow.session, "logs", ("read", "write"), datetime.now(UTC))
        uow.commit()
    headers = {"Authorization": f"Bearer {plain}", "X-Request-Id": "lb-7f3a"}
    record = {
        "pack": "after_sales",
        "type": "feedback",
        "channel": "phone",
        "priority": "P1",
        "received_at": (datetime.now(UTC) - timedelta(days=10)).isoformat(),
        "fields": {
            "customer_no": "C-2024",
            "customer_name": "赵晓梅",
            "contact": PHONE,
            "description": f"请回电 {PHONE} 或发邮件 {EMAIL}",
        },
    }
    created = client.post("/api/v1/records", json=record, headers=headers)
    assert created.status_code == 201
    assert created.headers["X-Request-Id"] == "lb-7f3a"
    record_id = created.get_json()["id"]
    note = {"kind": "message.in", "text": f"客户说号码是 {PHONE}"}
    noted = client.post(f"/api/v1/records/{record_id}/notes", json=note, headers=headers)
    assert noted.status_code == 201
    bad = client.post("/api/v1/records", json={**record, "priority": PHONE}, headers=headers)
    assert bad.status_code == 422
    # An id that is not one (too long, odd characters) is replaced, not logged as given.
    odd = client.get("/healthz", headers={"X-Request-Id": f"phone {PHONE}"})
    assert (
        odd.headers["X-Request-Id"] != f"phone {PHONE}" and PHONE not in odd.headers["X-Request-Id"]
    )
    correlated_job("sweep", SweepJob(services(app)))()
    assert request_id.get() is None

    lines = [JsonFormatter().format(r) for r in caplog.records]
    entries = [json.loads(line) for line in lines]
    for line in lines:
        for secret in (PHONE, EMAIL, "赵晓梅", "C-2024"):
            assert secret not in line, line
    mine = [e for e in entries if e["request_id"] == "lb-7f3a"]
    assert {"careloop.http", "ops.observed"} <= {e["logger"] for e in mine}, mine
    created_line = next(e for e in mine if e["logger"] == "ops.observed")
    assert created_line["record_id"] == record_id and created_line["pack"] == "after_sales"
    swept = [e for e in entries if e.get("kind") in ("sla_warning", "sla_breach")]
    assert swept and all(e["request_id"].startswith("sweep-") for e in swept), swept
    assert len({e["request_id"] for e in swept}) == 1  # one sweep, one id
    assert any(
        e["logger"] == "schedules.worker" and e["request_id"] == swept[0]["request_id"]
        for e in entries
    )


def test_scrub_masks_what_slips_through() -> None:
    assert scrub(f"call {PHONE} now") == "call *** now"
    assert scrub("call 137 0000 1234") == "call ***"
    assert scrub(f"mail {EMAIL}!") == "mail ***!"
    assert scrub("ID 110101199003074518") == "ID ***"
    assert scrub("record 4411 at 2026-11-23 09:00, timer 987654") == (
        "record 4411 at 2026-11-23 09:00, timer 987654"
    )
