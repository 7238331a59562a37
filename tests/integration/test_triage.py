"""Triage on the record page and the staff knowledge base (issue #13; R-2.1, R-2.9).

The agent opens a new record and sees similar known problems, articles and
solved cases; links the record to a known problem; carries a solution into
the pack's own solve-on-the-spot form and resolves through it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from engine.knowledge import articles, synonyms
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.store.models import Article, KnownProblem, Record
from tests.integration.test_desk import make_app, prefixed, row_version, signed_in
from wsgi import services


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    app = make_app(tmp_path, after_sales, WTF_CSRF_ENABLED=False)
    service = services(app)
    now = service.clock.now()
    with service.uow() as uow:
        session = uow.session
        synonyms.add_group(session, "快递, 物流, 配送", actor="ops", now=now)
        articles.save_article(
            session,
            Article(
                title="物流延迟怎么办",
                body="物流超过 48 小时未更新：**催件**。",
                status="published",
            ),
            actor="ops",
            now=now,
        )
        articles.save_article(
            session,
            Article(title="物流草稿", body="草稿：物流内部说明", status="draft"),
            actor="ops",
            now=now,
        )
        articles.save_problem(
            session,
            KnownProblem(
                title="双十一物流积压", symptoms="快递延迟三天以上", solution="致歉并补发优惠券"
            ),
            actor="ops",
            now=now,
        )
        uow.commit()
    return app


def record(app: Flask, description: str) -> int:
    new = NewRecord(
        record_type="feedback",
        channel="phone",
        priority="P2",
        assignee="li",
        fields={"customer_no": "C-9", "contact": "13812345678", "description": description},
    )
    return services(app).create_record("after_sales", new, actor="api").id


def ids(app: Flask, kind: str) -> int:
    models: dict[str, type[Article] | type[KnownProblem]] = {
        "article": Article,
        "problem": KnownProblem,
    }
    model = models[kind]
    with services(app).session_factory() as session:
        first = session.query(model).order_by(model.id).first()
        assert isinstance(first, (Article, KnownProblem))
        return first.id


def test_a_new_record_shows_similar_known_problems_articles_and_cases(app: Flask) -> None:
    solved = record(app, "物流一直不更新")
    services(app).transition(solved, "solve_on_spot", {"solution": "联系承运商催件"}, actor="li")
    record_id = record(app, "快递一直没到，已经五天了")
    page = signed_in(app, "li").get(f"/records/{record_id}").get_data(as_text=True)
    triage = page[page.index('id="triage"') :]
    assert "双十一物流积压" in triage and "致歉并补发优惠券" in triage
    assert "物流延迟怎么办" in triage and "物流草稿" not in triage
    assert f"#{solved}" in triage and "联系承运商催件" in triage
    assert "<mark>快递</mark>" in triage or "<mark>物流</mark>" in triage


def test_linking_a_record_to_a_known_problem_from_its_page(app: Flask) -> None:
    record_id = record(app, "快递一直没到")
    client = signed_in(app, "li")
    problem_id = ids(app, "problem")
    response = client.post(f"/records/{record_id}/known-problem", data={"problem_id": problem_id})
    assert response.status_code == 302
    page = client.get(f"/records/{record_id}").get_data(as_text=True)
    assert re.search(r'id="known-problem">.*双十一物流积压', page)
    with services(app).session_factory() as session:
        assert [(p.title, n) for p, n in articles.top_problems(session)] == [("双十一物流积压", 1)]
    assert (
        client.post(f"/records/{record_id}/known-problem", data={"problem_id": "x"}).status_code
        == 400
    )
    assert (
        client.post(f"/records/{record_id}/known-problem", data={"problem_id": "999"}).status_code
        == 404
    )


def test_an_agent_resolves_on_the_spot_with_a_known_solution(app: Flask) -> None:
    record_id = record(app, "快递一直没到")
    client = signed_in(app, "li")
    page = client.get(f"/records/{record_id}?apply=problem:{ids(app, 'problem')}").get_data(
        as_text=True
    )
    form = re.search(r'<details class="action" open id="t-solve_on_spot">.*?</details>', page, re.S)
    assert form is not None and "致歉并补发优惠券</textarea>" in form.group(0)
    # Resolving goes through the pack's own transition, with the text the agent sends.
    response = client.post(
        f"/records/{record_id}/transitions/solve_on_spot",
        data={
            **prefixed("solve_on_spot", solution="致歉并补发优惠券"),
            "solve_on_spot-row_version": row_version(app, record_id),
        },
    )
    assert response.status_code == 302
    with services(app).session_factory() as session:
        stored = session.get_one(Record, record_id)
        assert (stored.stage, stored.fields["solution"]) == ("resolved", "致歉并补发优惠券")


def test_applying_a_draft_article_or_nonsense_fills_nothing(app: Flask) -> None:
    record_id = record(app, "快递一直没到")
    client = signed_in(app, "li")
    with services(app).session_factory() as session:
        draft = session.query(Article).filter_by(status="draft").one().id
    for apply in (f"article:{draft}", "case:abc", "nothing", "article:" + "9" * 40):
        page = client.get(f"/records/{record_id}?apply={apply}")
        assert page.status_code == 200
        assert "草稿" not in page.get_data(as_text=True)


def test_articles_read_as_safe_html_and_drafts_are_not_found(app: Flask) -> None:
    client = signed_in(app, "li")
    service = services(app)
    with service.uow() as uow:
        evil = articles.save_article(
            uow.session,
            Article(
                title="XSS",
                body="<script>alert(1)</script>\n\n"
                "[点我](javascript:alert(1)) <img src=x onerror=alert(1)>",
                status="published",
            ),
            actor="ops",
            now=service.clock.now(),
        ).id
        draft = uow.session.query(Article).filter_by(status="draft").one().id
        uow.commit()
    page = client.get(f"/kb/articles/{ids(app, 'article')}").get_data(as_text=True)
    assert "<strong>催件</strong>" in page
    evil_page = client.get(f"/kb/articles/{evil}").get_data(as_text=True)
    assert "<script>alert" not in evil_page and "&lt;script&gt;" in evil_page
    assert 'href="javascript:' not in evil_page
    assert "<img" not in evil_page
    assert client.get(f"/kb/articles/{draft}").status_code == 404


def test_staff_search_the_knowledge_base(app: Flask) -> None:
    page = signed_in(app, "li").get("/kb/?q=快递一直没到").get_data(as_text=True)
    assert "物流延迟怎么办" in page and "双十一物流积压" in page and "物流草稿" not in page
