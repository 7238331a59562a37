"""`GET /api/v1/answers?q=…`: self-service answers for chat widgets (S0, S2; issue #13).

Published articles only: never a draft or retired one, never a case, never a
customer's data. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from engine.access import tokens
from engine.knowledge import articles, synonyms
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.store.models import Article
from wsgi import create_app, services


@pytest.fixture
def app(db_engine: Engine, after_sales: PackSource) -> Iterator[Flask]:
    url = db_engine.url.render_as_string(hide_password=False)
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    service = services(app)
    service.publish(after_sales, by="test")
    now = service.clock.now()
    with service.uow() as uow:
        synonyms.add_group(uow.session, "快递, 物流, 配送", actor="ops", now=now)
        for title, body, status in (
            (
                "物流延迟怎么办",
                "物流超过 48 小时未更新，客服将**催件**。<script>x()</script>",
                "published",
            ),
            ("物流延迟（内部草稿）", "物流 延迟 快递 内部处理口径", "draft"),
            ("物流延迟（旧版）", "物流 延迟 快递 旧口径", "retired"),
        ):
            articles.save_article(
                uow.session, Article(title=title, body=body, status=status), actor="ops", now=now
            )
        uow.commit()
    yield app
    service.session_factory.kw["bind"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def reader(app: Flask) -> dict[str, str]:
    service = services(app)
    with service.uow() as uow:
        _, plain = tokens.issue(uow.session, "widget", ["read"], service.clock.now())
        uow.commit()
    return {"Authorization": f"Bearer {plain}"}


def test_a_question_gets_the_published_article_and_never_a_draft(
    client: FlaskClient, reader: dict[str, str]
) -> None:
    response = client.get("/api/v1/answers", query_string={"q": "快递一直没到"}, headers=reader)
    assert response.status_code == 200
    body = response.get_json()
    assert [item["title"] for item in body["items"]] == ["物流延迟怎么办"]
    (item,) = body["items"]
    assert item["version"] == 1 and "<mark>物流</mark>" in item["snippet"]
    assert "<strong>催件</strong>" in item["body_html"]
    assert "<script>" not in item["body_html"] and "<script>" not in item["snippet"]
    text = json.dumps(body, ensure_ascii=False)
    assert "草稿" not in text and "旧版" not in text and "内部处理口径" not in text


def test_answers_never_expose_cases_or_customer_data(
    app: Flask, client: FlaskClient, reader: dict[str, str]
) -> None:
    service = services(app)
    fields = {
        "customer_no": "C-77",
        "customer_name": "王芳",
        "contact": "13812345678",
        "description": "王芳的快递一直没到，电话 13812345678",
    }
    new = NewRecord(record_type="feedback", fields=fields, channel="phone")
    record = service.create_record("after_sales", new, actor="api")
    service.transition(record.id, "solve_on_spot", {"solution": "已为王芳补发快递"}, actor="li")
    response = client.get(
        "/api/v1/answers",
        query_string={"q": "王芳 13812345678 快递 补发", "limit": 10},
        headers=reader,
    )
    assert response.status_code == 200
    text = json.dumps(response.get_json()["items"], ensure_ascii=False)
    assert "王芳" not in text and "13812345678" not in text and "补发" not in text
    assert [i["title"] for i in response.get_json()["items"]] == ["物流延迟怎么办"]


def test_answers_need_a_token_and_a_sensible_question(
    client: FlaskClient, reader: dict[str, str]
) -> None:
    assert client.get("/api/v1/answers?q=快递").status_code == 401
    for query in ({}, {"q": ""}, {"q": "x" * 501}, {"q": "快递", "limit": 11}, {"q": "a", "x": 1}):
        response = client.get("/api/v1/answers", query_string=query, headers=reader)
        assert response.status_code == 422, query
        assert response.mimetype == "application/problem+json"
    nothing = client.get("/api/v1/answers", query_string={"q": "的了吗"}, headers=reader)
    assert nothing.status_code == 200 and nothing.get_json()["items"] == []
