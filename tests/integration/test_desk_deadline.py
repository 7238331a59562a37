"""Moving a deadline from the record page and the API (R-3.2, issue #20): with a reason the
customer is told, refused less than a day before the deadline unless a supervisor overrides,
every refusal a page or problem that says why, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from engine.records.versions import PackSource
from engine.store.models import RecordEvent, SlaClock
from engine.time.clock import VirtualClock
from tests.integration.test_api import token
from tests.integration.test_desk import create, make_app, signed_in
from wsgi import services

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Iterator[Flask]:
    app = make_app(tmp_path, after_sales, WTF_CSRF_ENABLED=False)
    services(app).clock = VirtualClock(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    yield app


def resolve_deadline(app: Flask, record_id: int) -> datetime:
    with services(app).session_factory() as session:
        deadline = session.scalars(
            select(SlaClock.deadline).where(
                SlaClock.record_id == record_id, SlaClock.target == "resolve"
            )
        ).one()
        assert deadline is not None
        return deadline


def typed(moment: datetime) -> str:
    """As a `datetime-local` input sends it, in the user's zone (Asia/Shanghai)."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def accepted(app: Flask) -> int:
    """A P1 record of li's team, not yet triaged: its resolve clock already runs (R-2.4)."""
    return create(app)


def test_an_agent_moves_the_deadline_with_a_reason_and_the_history_keeps_it(app: Flask) -> None:
    record_id = accepted(app)
    old = resolve_deadline(app, record_id)
    client = signed_in(app, "li")
    page = client.get(f"/records/{record_id}").get_data(as_text=True)
    assert "申请延期" in page and "当前截止时间" in page
    moved = client.post(
        f"/records/{record_id}/deadline",
        data={"deadline": typed(old + timedelta(days=1)), "reason": "压缩机备件需从厂家调货"},
    )
    assert moved.status_code == 302
    assert resolve_deadline(app, record_id) == old + timedelta(days=1)
    page = client.get(f"/records/{record_id}").get_data(as_text=True)
    assert "截止时间已调整" in page and "解决 延期" in page and "压缩机备件需从厂家调货" in page


def test_too_late_an_agent_is_refused_and_a_supervisor_may_override(app: Flask) -> None:
    record_id = accepted(app)
    old = resolve_deadline(app, record_id)
    clock = services(app).clock
    assert isinstance(clock, VirtualClock)
    clock.set(old - timedelta(hours=3))
    form = {"deadline": typed(old + timedelta(days=2)), "reason": "师傅排期已满", "override": "1"}
    refused = signed_in(app, "li").post(f"/records/{record_id}/deadline", data=form)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "需由主管批准延期" in page and "师傅排期已满" in page  # what was typed is kept
    assert resolve_deadline(app, record_id) == old  # an agent's "override" counts for nothing
    overridden = signed_in(app, "zhao").post(f"/records/{record_id}/deadline", data=form)
    assert overridden.status_code == 302
    assert resolve_deadline(app, record_id) == old + timedelta(days=2)
    with services(app).session_factory() as session:
        event = session.scalars(
            select(RecordEvent).where(RecordEvent.kind == "sla.resolve.extended")
        ).one()
        assert (event.actor, event.changes["override"]) == ("zhao", True)


@pytest.mark.parametrize(
    ("deadline", "reason", "says"),
    [
        ("", "排期已满", "请填写新的截止时间"),
        ("0001-01-01T00:00", "排期已满", "请填写新的截止时间"),
        ("2026-11-20T09:00", "排期已满", "must come after"),
        ("2026-12-20T09:00", "", "say why"),
        # A NUL is refused at the door for every form (web/bounds.py, issue #22).
        ("2026-12-20T09:00\x00", "排期已满", "无法保存的字符"),
    ],
)
def test_a_bad_deadline_form_is_a_400_that_says_why(
    app: Flask, deadline: str, reason: str, says: str
) -> None:
    record_id = accepted(app)
    response = signed_in(app, "li").post(
        f"/records/{record_id}/deadline", data={"deadline": deadline, "reason": reason}
    )
    assert response.status_code == 400
    assert says in response.get_data(as_text=True)


def test_another_team_s_record_is_a_404(app: Flask) -> None:
    record_id = create(app)
    services(app).transition(
        record_id, "accept", {"category": "service", "priority": "P2"}, actor="other"
    )  # routed to training, not wang's team
    response = signed_in(app, "wang").post(
        f"/records/{record_id}/deadline", data={"deadline": "2026-12-20T09:00", "reason": "x"}
    )
    assert response.status_code == 404


def test_the_api_moves_the_deadline_and_refuses_a_late_move(app: Flask) -> None:
    record_id = accepted(app)
    old = resolve_deadline(app, record_id)
    client = app.test_client()
    headers = token(app, "read", "write")
    url = f"/api/v1/records/{record_id}/deadline"
    moved = client.post(
        url,
        json={"deadline": (old + timedelta(days=1)).isoformat(), "reason": "备件调货"},
        headers=headers,
    )
    assert moved.status_code == 200, moved.get_json()
    assert datetime.fromisoformat(moved.get_json()["new_deadline"]) == old + timedelta(days=1)
    clock = services(app).clock
    assert isinstance(clock, VirtualClock)
    clock.set(old + timedelta(hours=20))
    late = client.post(
        url,
        json={"deadline": (old + timedelta(days=3)).isoformat(), "reason": "再次延期"},
        headers=headers,
    )
    assert late.status_code == 422 and "at least 1 day" in late.get_json()["detail"]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "post" in spec["paths"]["/api/v1/records/{record_id}/deadline"]
