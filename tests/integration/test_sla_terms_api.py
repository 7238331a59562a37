"""Conditional SLA terms (issue #25 item 1, R-2.5), through the API: a chat consultation is
due a first reply in 15 minutes, one taken on the hotline in 3, and correcting the channel
chooses the term again with the time already used carried over; through the services: terms
by the customer's tier and by a choice field, chosen again when the field is edited."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.records.intake import NewRecord
from engine.services import Services
from engine.store.models import RecordEvent, SlaClock
from engine.time.clock import VirtualClock
from tests.conftest import ROOT, SHANGHAI, web_app
from tests.integration.test_api import token
from workflows.validate import checked_source
from wsgi import services

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


TERMS = """      terms:
        # R-5.2 a high-value customer is answered within the hour, around the clock
        - name: high_value
          when: {tier: high_value}
          respond: {within: 1h, calendar: 24x7}
        # R-5.4 a gold member of the loyalty programme within two hours
        - name: gold_member
          when: {loyalty_level: gold}
          respond: {within: 2h, calendar: 24x7}
        # an engineer visit (a choice field of the record) gets five working days
        - name: on_site
          when: {resources: on_site}
          resolve: {within: 5 working days, calendar: cn_workdays}
        - name: by_priority
          respond: {within: 4 working hours, calendar: cn_workdays}
          resolve: {within: 3 working days, calendar: cn_workdays}
"""


@pytest.fixture
def conditional(tmp_path: Path, services: Services) -> Services:
    """The default pack with its SLA by tier and by a field instead of by priority."""
    folder = tmp_path / "after_sales"
    shutil.copytree(ROOT / "workflows" / "after_sales", folder)
    feedback = folder / "feedback.yaml"
    text = feedback.read_text(encoding="utf-8")
    start, end = text.index("      policies:\n"), text.index("      # At the warning tell")
    feedback.write_text(text[:start] + TERMS + text[end:], encoding="utf-8")
    services.publish(checked_source(folder), by="test")
    return services


def clocks_of(services: Services, record_id: int) -> dict[str, tuple[str | None, datetime | None]]:
    with services.session_factory() as session:
        rows = session.scalars(select(SlaClock).where(SlaClock.record_id == record_id))
        return {c.target: (c.term, c.deadline) for c in rows}


def feedback(services: Services, customer: str) -> int:
    fields = {"customer_no": customer, "contact": "13800000000", "description": "不制冷"}
    new = NewRecord(record_type="feedback", fields=fields, channel="phone", priority="P1")
    return services.create_record("after_sales", new, actor="agent").id


def test_a_high_value_customer_gets_the_tier_term(
    conditional: Services, clock: VirtualClock
) -> None:
    conditional.save_customer("C-VIP", {"name": "王芳", "tier": "high_value"})
    vip, other = feedback(conditional, "C-VIP"), feedback(conditional, "C-1")
    monday = clock.now()
    assert clocks_of(conditional, vip)["respond"] == ("high_value", monday + timedelta(hours=1))
    assert clocks_of(conditional, other)["respond"] == ("by_priority", monday + timedelta(hours=4))


def test_a_gold_member_gets_the_loyalty_term(conditional: Services, clock: VirtualClock) -> None:
    """Levels are usable in SLA conditions (issue #25 item 3): 12,000 points of spend is gold."""
    conditional.save_customer("C-GOLD", {"name": "李雷"})
    conditional.save_customer("C-NEW", {"name": "韩梅"})
    ordered = clock.now() - timedelta(days=30)
    conditional.record_order(
        "C-GOLD", {"external_id": "O-1", "amount": 12000, "ordered_at": ordered}
    )
    conditional.record_order("C-NEW", {"external_id": "O-2", "amount": 300, "ordered_at": ordered})
    conditional.award_points()
    gold, member = feedback(conditional, "C-GOLD"), feedback(conditional, "C-NEW")
    monday = clock.now()
    assert clocks_of(conditional, gold)["respond"] == ("gold_member", monday + timedelta(hours=2))
    assert clocks_of(conditional, member)["respond"][0] == "by_priority"


def test_editing_a_field_a_term_reads_chooses_again_with_the_time_carried(
    conditional: Services, clock: VirtualClock
) -> None:
    record_id = feedback(conditional, "C-1")  # Monday 09:00, resolve by Wednesday 18:00
    clock.advance(timedelta(hours=1))
    conditional.edit_fields(record_id, {"resources": "on_site"}, actor="agent")
    # 1 working hour used of 45: 44 left from Monday 10:00 is Friday 18:00.
    friday = datetime(2026, 11, 27, 18, 0, tzinfo=SHANGHAI)
    assert clocks_of(conditional, record_id)["resolve"] == ("on_site", friday)
    assert clocks_of(conditional, record_id)["respond"][0] == "by_priority"  # not re-planned


def test_a_clock_from_before_terms_had_names_still_follows_a_regrade(
    services: Services, clock: VirtualClock
) -> None:
    """Clocks written before migration 0033 have no term: the term their record had then is
    read from the facts before the change, so a re-grade re-plans them as it always did."""
    record_id = feedback(services, "C-1")  # P1: resolve by Wednesday 18:00
    with services.session_factory() as session:
        for old in session.scalars(select(SlaClock).where(SlaClock.record_id == record_id)):
            old.term = None
        session.commit()
    clock.advance(timedelta(hours=1))
    services.regrade(record_id, "P1", "同一优先级", actor="supervisor")  # no change at all
    assert clocks_of(services, record_id)["resolve"][0] is None
    services.regrade(record_id, "P0", "燃气泄漏风险", actor="supervisor")
    tuesday_9am = datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)  # 1 h used of 24 h
    assert clocks_of(services, record_id)["resolve"] == ("P0", tuesday_9am)
