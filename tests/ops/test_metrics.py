"""Issue #14: `/metrics` shows the series operators need, holds no personal data, and is not
public (a local scraper, or one with the token)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from engine.access import tokens
from engine.records.versions import PackSource
from schedules.worker import SweepJob
from tests.conftest import web_app
from wsgi import services

PHONE = "13987654321"
NAME = "赵晓梅"
SERIES = {
    "careloop_http_requests",  # a counter's family name drops the _total suffix
    "careloop_http_request_duration_seconds",
    "careloop_records_created",
    "careloop_records_transitioned",
    "careloop_sla_warnings",
    "careloop_sla_breaches",
    "careloop_timers",
    "careloop_timer_lag_seconds",
    "careloop_sweep_duration_seconds",
    "careloop_timers_due",
    "careloop_timers_oldest_overdue_seconds",
    "careloop_timers_failed",
    "careloop_outbox_backlog",
    "careloop_outbox_dead_letters",
    "careloop_database_up",
    "careloop_last_sweep_age_seconds",
}


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Iterator[Flask]:
    yield web_app(tmp_path, pack=after_sales)


def bearer(app: Flask) -> dict[str, str]:
    with services(app).uow() as uow:
        _, plain = tokens.issue(uow.session, "metrics-test", ("read", "write"), datetime.now(UTC))
        uow.commit()
    return {"Authorization": f"Bearer {plain}"}


def busy_day(app: Flask, client: FlaskClient) -> None:
    """A record received ten days ago (its SLA warnings and breaches overdue), accepted, swept."""
    headers = bearer(app)
    received = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    created = client.post(
        "/api/v1/records",
        json={
            "pack": "after_sales",
            "type": "feedback",
            "channel": "phone",
            "priority": "P1",
            "received_at": received,
            "fields": {
                "customer_no": "C-1414",
                "customer_name": NAME,
                "contact": PHONE,
                "description": f"请回电 {PHONE}",
            },
        },
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    record = created.get_json()
    SweepJob(services(app))()  # as `careloop scheduler` runs it: a sweep, then a heartbeat
    accepted = client.post(
        f"/api/v1/records/{record['id']}/transitions",
        json={"transition": "accept", "fields": {"category": "quality", "priority": "P1"}},
        headers=headers,
    )
    assert accepted.status_code == 200, accepted.get_json()
    assert client.get(f"/api/v1/records/{record['id']}", headers=headers).status_code == 200


def test_metrics_show_every_series_the_issue_lists_and_no_personal_data(app: Flask) -> None:
    client = app.test_client()
    busy_day(app, client)
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert SERIES <= set(families), sorted(SERIES - set(families))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    by_pack = (("pack", "after_sales"), ("priority", "P1"))
    assert samples[("careloop_records_created_total", by_pack)] >= 1
    assert samples[("careloop_sla_warnings_total", by_pack)] >= 1
    assert samples[("careloop_sla_breaches_total", by_pack)] >= 1
    transition = (("pack", "after_sales"), ("transition", "accept"))
    assert samples[("careloop_records_transitioned_total", transition)] >= 1
    # Requests are counted under their endpoint, never their path (ids, customer numbers).
    endpoints = {dict(labels)["endpoint"] for name, labels in samples if "_http_" in name}
    assert {"api.Records", "api.RecordItem", "api.Transitions"} <= endpoints, endpoints
    # not even masked ("139****4321"); a bare "4321" could be digits of a latency figure
    for secret in (PHONE, NAME, "C-1414", f"****{PHONE[-4:]}"):
        assert secret not in text


def test_metrics_are_not_public(
    app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client = app.test_client()
    assert client.get("/metrics").status_code == 200
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=remote).status_code == 404
    proxied = {"X-Forwarded-For": "203.0.113.9"}
    assert client.get("/metrics", headers=proxied).status_code == 404
    monkeypatch.setenv("CARELOOP_METRICS_TOKEN", "s3cret-scrape-token")
    client = web_app(tmp_path / "tokened").test_client()  # settings are read at start
    assert client.get("/metrics").status_code == 404
    scraper = {"Authorization": "Bearer s3cret-scrape-token"}
    assert client.get("/metrics", headers=scraper, environ_base=remote).status_code == 200
    wrong = {"Authorization": "Bearer guess"}
    assert client.get("/metrics", headers=wrong, environ_base=remote).status_code == 404


def test_a_database_that_does_not_answer_is_a_503_to_retry(tmp_path: Path) -> None:
    from wsgi import create_app

    app = create_app(
        {
            "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/careloop?connect_timeout=2",
            "TESTING": True,
            "SECRET_KEY": "test",
        }
    )
    client = app.test_client()
    page = client.get("/status")
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert "请稍后重试" in page.get_data(as_text=True)  # a page, in the user's language (#22)
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200
    assert "careloop_database_up 0.0" in client.get("/metrics").get_data(as_text=True)
