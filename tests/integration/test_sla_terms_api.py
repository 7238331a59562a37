"""Conditional SLA terms through the API (issue #25 item 1, R-2.5): a chat consultation is due
a first reply in 15 minutes, one taken on the hotline in 3, and correcting the channel
chooses the term again with the time already used carried over."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.store.models import RecordEvent
from engine.time.clock import VirtualClock
from tests.conftest import ROOT, web_app
from tests.integration.test_api import token
from workflows.validate import checked_source
from wsgi import services

SHANGHAI = ZoneInfo("Asia/Shanghai")
TUESDAY_2PM = datetime(2026, 11, 24, 14, 0, tzinfo=SHANGHAI)  # store hours: 10:00–22:00


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = web_app(tmp_path, pack=checked_source(ROOT / "workflows" / "retail"))
    services(app).clock = VirtualClock(TUESDAY_2PM)
    yield app


@pytest.fixture
def writer(app: Flask) -> dict[str, str]:
    return token(app, "read", "write")


def consultation(client: FlaskClient, writer: dict[str, str], channel: str) -> dict[str, Any]:
    body = {
        "pack": "retail",
        "type": "chat_consult",
        "channel": channel,
        "fields": {"question": "周末门店营业到几点？"},
    }
    response = client.post("/api/v1/records", json=body, headers=writer)
    assert response.status_code == 201, response.get_data(as_text=True)
    created: dict[str, Any] = response.get_json()
    return created


def first_reply(record: dict[str, Any]) -> dict[str, Any]:
    (clock,) = [c for c in record["sla"] if c["target"] == "first_reply"]
    return clock  # type: ignore[no-any-return]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_chat_is_due_in_15_minutes_and_a_call_in_3(app: Flask, writer: dict[str, str]) -> None:
    client = app.test_client()
    chat = first_reply(consultation(client, writer, "online_chat"))
    call = first_reply(consultation(client, writer, "phone"))
    assert (chat["term"], at(chat["deadline"])) == ("text", TUESDAY_2PM + timedelta(minutes=15))
    assert (call["term"], at(call["deadline"])) == ("hotline", TUESDAY_2PM + timedelta(minutes=3))
    assert at(call["warning_at"]) == TUESDAY_2PM + timedelta(minutes=2, seconds=24)  # 80 %


def test_a_corrected_channel_chooses_the_term_again_with_the_time_used_carried(
    app: Flask, writer: dict[str, str]
) -> None:
    client = app.test_client()
    record = consultation(client, writer, "phone")
    clock = services(app).clock
    assert isinstance(clock, VirtualClock)
    clock.advance(timedelta(minutes=2))
    response = client.post(
        f"/api/v1/records/{record['id']}/transitions",
        json={"transition": "correct_channel", "fields": {"channel": "wechat"}},
        headers=writer,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    corrected = first_reply(response.get_json())
    # 2 of the text term's 15 minutes are used: due 13 minutes later, not 15.
    assert corrected["term"] == "text"
    assert at(corrected["deadline"]) == TUESDAY_2PM + timedelta(minutes=15)
    assert at(corrected["warning_at"]) == TUESDAY_2PM + timedelta(minutes=12)
    assert corrected["breached_at"] is None
    with services(app).session_factory() as session:
        replanned = session.scalars(
            select(RecordEvent).where(
                RecordEvent.record_id == record["id"],
                RecordEvent.kind == "sla.first_reply.replanned",
            )
        ).one()
    assert replanned.changes["term"] == ["hotline", "text"]
    assert replanned.changes["used_seconds"] == 120


def test_a_correction_to_a_shorter_term_already_used_up_breaches_at_once(
    app: Flask, writer: dict[str, str]
) -> None:
    client = app.test_client()
    record = consultation(client, writer, "online_chat")
    clock = services(app).clock
    assert isinstance(clock, VirtualClock)
    clock.advance(timedelta(minutes=5))
    response = client.post(
        f"/api/v1/records/{record['id']}/transitions",
        json={"transition": "correct_channel", "fields": {"channel": "phone"}},
        headers=writer,
    )
    assert response.status_code == 200
    corrected = first_reply(response.get_json())
    assert corrected["term"] == "hotline"
    assert at(corrected["deadline"]) == TUESDAY_2PM + timedelta(minutes=5)  # 5 of 3 used


def test_a_correction_to_the_same_term_moves_nothing(app: Flask, writer: dict[str, str]) -> None:
    client = app.test_client()
    record = consultation(client, writer, "online_chat")
    services(app).clock.advance(timedelta(minutes=4))  # type: ignore[attr-defined]
    response = client.post(
        f"/api/v1/records/{record['id']}/transitions",
        json={"transition": "correct_channel", "fields": {"channel": "wechat"}},
        headers=writer,
    )
    assert first_reply(response.get_json())["deadline"] == first_reply(record)["deadline"]
    with services(app).session_factory() as session:
        kinds = session.scalars(
            select(RecordEvent.kind).where(RecordEvent.record_id == record["id"])
        ).all()
    assert "sla.first_reply.replanned" not in kinds
