"""The satisfaction question (R-3.3, R-4.1): a signed link answers once; an agent's form too.

A second answer, an expired link and a tampered link each get a page that says so, with a 4xx.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.access import users
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.store.models import RecordEvent, SatisfactionAnswer
from engine.time.clock import VirtualClock
from portal.survey import make_token
from signin.auth import hash_password
from tests.conftest import web_app
from wsgi import services


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource, clock: VirtualClock) -> Flask:
    app = web_app(tmp_path, pack=after_sales)
    services(app).clock = clock
    return app


def resolved_record(app: Flask) -> int:
    service = services(app)
    record = service.create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            fields={"customer_no": "C-1", "contact": "13812345678", "description": "洗衣机漏水"},
        ),
        actor="t",
    )
    service.transition(record.id, "solve_on_spot", {"solution": "更换进水管"}, actor="t")
    return record.id


def link(app: Flask, record_id: int, valid_for: timedelta = timedelta(hours=72)) -> str:
    with app.test_request_context():
        return "/survey/" + make_token(record_id, services(app).clock.now() + valid_for)


def csrf(page: str, prefix: str = "") -> str:
    found = re.search(f'name="{prefix}csrf_token" type="hidden" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def answer(
    client: FlaskClient, url: str, score: str, comment: str = "", nps: str = "9"
) -> tuple[int, str]:
    """Post the survey: the 1–5 score, the 0–10 recommend question (R-4.1) and a comment."""
    token = csrf(client.get(url).get_data(as_text=True))
    data = {"csrf_token": token, "score": score, "nps": nps, "comment": comment}
    response = client.post(url, data=data)
    return response.status_code, response.get_data(as_text=True)


def test_the_link_takes_one_answer_and_refuses_a_second(app: Flask) -> None:
    record_id = resolved_record(app)
    url = link(app, record_id)
    client = app.test_client()
    page = client.get(url)
    assert page.status_code == 200 and "服务满意度评价" in page.get_data(as_text=True)
    assert "您向朋友推荐我们的可能性（0–10）" in page.get_data(as_text=True)  # NPS
    status, body = answer(client, url, "4", "师傅很准时", nps="10")
    assert status == 200 and 'id="thanks"' in body
    again = client.get(url)
    assert again.status_code == 409 and "只能评价一次" in again.get_data(as_text=True)
    # Posting again from a page loaded before the first answer is refused as well.
    token = csrf(page.get_data(as_text=True))
    second = client.post(url, data={"csrf_token": token, "score": "1", "nps": "0"})
    assert second.status_code == 409
    with services(app).uow() as uow:
        stored = uow.session.query(SatisfactionAnswer).all()
        assert [(a.score, a.nps, a.comment, a.via, a.actor) for a in stored] == [
            (4, 10, "师傅很准时", "link", "customer")
        ]
        kinds = [e.kind for e in uow.session.query(RecordEvent).filter_by(record_id=record_id)]
        assert kinds.count("satisfaction.answered") == 1


def test_an_expired_link_is_refused_with_410(app: Flask, clock: VirtualClock) -> None:
    record_id = resolved_record(app)
    url = link(app, record_id, timedelta(hours=72))
    clock.advance(timedelta(hours=72, seconds=1))
    response = app.test_client().get(url)
    assert response.status_code == 410 and "已过期" in response.get_data(as_text=True)


@pytest.mark.parametrize("change", ["flip", "other_record", "garbage"])
def test_a_tampered_link_is_refused_with_400(app: Flask, change: str) -> None:
    record_id = resolved_record(app)
    token = link(app, record_id).removeprefix("/survey/")
    payload, _, signature = token.partition(".")
    tampered = {
        "flip": payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:],
        "other_record": link(app, record_id + 1).removeprefix("/survey/").split(".")[0]
        + "."
        + signature,
        "garbage": "not-a-token",
    }[change]
    response = app.test_client().get("/survey/" + tampered)
    assert response.status_code == 400 and "链接无效" in response.get_data(as_text=True)


def test_a_bad_score_is_a_400_with_the_form_again(app: Flask) -> None:
    url = link(app, resolved_record(app))
    status, body = answer(app.test_client(), url, "9")
    assert status == 400 and "服务满意度评价" in body
    with services(app).uow() as uow:
        assert uow.session.query(SatisfactionAnswer).count() == 0


def test_the_survey_without_the_recommend_question_is_a_400(app: Flask) -> None:
    """The default pack asks NPS (R-4.1): a score without the 0–10 answer is not stored."""
    url = link(app, resolved_record(app))
    status, body = answer(app.test_client(), url, "5", nps="")
    assert status == 400 and "您向朋友推荐我们的可能性（0–10）" in body
    with services(app).uow() as uow:
        assert uow.session.query(SatisfactionAnswer).count() == 0


def test_a_record_not_yet_solved_cannot_be_answered(app: Flask) -> None:
    record = services(app).create_record(
        "after_sales",
        NewRecord(
            record_type="feedback",
            channel="phone",
            fields={"customer_no": "C-2", "contact": "13812345678", "description": "x"},
        ),
        actor="t",
    )
    response = app.test_client().get(link(app, record.id))
    assert response.status_code == 409


def test_an_agent_records_the_answer_of_the_callback_once(app: Flask) -> None:
    record_id = resolved_record(app)
    service = services(app)
    with service.uow() as uow:
        users.add_user(
            uow.session, "liu", "agent", "agent password 1", hash_password, service.clock.now()
        )
        uow.commit()
    client = app.test_client()
    client.post(
        "/login",
        data={
            "username": "liu",
            "password": "agent password 1",
            "csrf_token": csrf(client.get("/login").get_data(as_text=True)),
        },
    )
    page = client.get(f"/records/{record_id}").get_data(as_text=True)
    assert "满意度回访" in page and 'id="satisfaction-link"' in page
    token = csrf(page, "satisfaction-")
    url = f"/records/{record_id}/satisfaction"
    data = {
        "satisfaction-csrf_token": token,
        "satisfaction-score": "5",
        "satisfaction-nps": "10",
        "satisfaction-comment": "很满意",
    }
    assert client.post(url, data=data).status_code == 302
    shown = client.get(f"/records/{record_id}").get_data(as_text=True)
    assert 'id="satisfaction-score">5 / 5' in shown and "<dd>10 / 10</dd>" in shown
    client.post(url, data={**data, "satisfaction-score": "1"})
    with service.uow() as uow:
        assert [a.score for a in uow.session.query(SatisfactionAnswer)] == [5]
    # The customer's link, sent before the call, now says it was answered.
    assert app.test_client().get(link(app, record_id)).status_code == 409
