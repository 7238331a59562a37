"""The knowledge base in the admin (issue #13): articles with versions, known problems, synonyms.

Operations staff and supervisors write articles; each save is a new version;
Markdown is shown rendered with raw HTML escaped; synonyms are operations'.
"""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.records.intake import NewRecord
from engine.store.models import Article, ArticleVersion, KnownProblem, SynonymGroup
from tests.integration.test_admin import app, signed_in  # noqa: F401 (the fixture)
from wsgi import services

XSS = '<script>alert("x")</script>\n\n[点我](javascript:alert(1))\n\n<img src=x onerror=alert(1)>'


def post_form(client: FlaskClient, path: str, **data: str) -> int:
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    # CSRF is off in this app (its token is Flask-WTF's, checked in test_browser_safety)
    response = client.post(path, data={"csrf_token": token.group(1) if token else "", **data})
    return response.status_code


def test_a_supervisor_writes_an_article_and_each_save_is_a_version(app: Flask) -> None:  # noqa: F811
    supervisor = signed_in(app, "sup")
    assert (
        post_form(
            supervisor,
            "/admin/article/new/",
            title="物流延迟怎么办",
            status="draft",
            category="logistics",
            tags="物流, 延迟",
            body="物流超过 48 小时未更新：**催件**。",
        )
        == 302
    )
    with services(app).session_factory() as session:
        article_id = session.scalars(select(Article.id)).one()
    assert services(app).answers("物流延迟") == []
    edit = f"/admin/article/edit/?id={article_id}"
    assert (
        post_form(supervisor, edit, title="物流延迟怎么办", status="published", body="催件") == 302
    )
    assert [h.title for h in services(app).answers("物流延迟")] == ["物流延迟怎么办"]
    with services(app).session_factory() as session:
        versions = session.execute(
            select(ArticleVersion.version, ArticleVersion.status, ArticleVersion.saved_by)
        ).all()
    assert [tuple(v) for v in versions] == [(1, "draft", "sup"), (2, "published", "sup")]
    assert supervisor.get(f"/admin/articleversion/?flt0_0={article_id}").status_code == 200


def test_an_article_s_markdown_is_shown_without_its_html(app: Flask) -> None:  # noqa: F811
    ops = signed_in(app, "ops")
    assert post_form(ops, "/admin/article/new/", title="XSS", status="published", body=XSS) == 302
    with services(app).session_factory() as session:
        article_id = session.scalars(select(Article.id)).one()
    page = ops.get(f"/admin/article/details/?id={article_id}").get_data(as_text=True)
    rendered = page[page.index('class="kb-article"') :]
    assert "&lt;script&gt;" in rendered and "<script>alert" not in rendered
    assert 'href="javascript:' not in rendered and "<img" not in rendered.split("</div>")[0]
    hit = services(app).answers("XSS 点我")
    assert hit and "<script" not in hit[0].snippet


def test_a_bad_article_is_refused_on_its_form(app: Flask) -> None:  # noqa: F811
    ops = signed_in(app, "ops")
    status = post_form(ops, "/admin/article/new/", title="x", status="secret", body="y")
    assert status == 200  # the form again, with its error
    assert post_form(ops, "/admin/article/new/", title="", status="draft", body="y") == 200
    with services(app).session_factory() as session:
        assert session.scalars(select(Article)).all() == []


def test_known_problems_list_their_record_counts(app: Flask) -> None:  # noqa: F811
    ops = signed_in(app, "ops")
    assert (
        post_form(
            ops,
            "/admin/knownproblem/new/",
            title="电池续航不足（批次）",
            status="open",
            symptoms="满电一天掉到 20%",
            solution="免费更换电池",
        )
        == 302
    )
    service = services(app)
    with service.session_factory() as session:
        problem_id = session.scalars(select(KnownProblem.id)).one()
    for number in ("C-1", "C-2"):
        record = service.create_record(
            "after_sales",
            NewRecord(
                record_type="feedback",
                channel="phone",
                fields={"customer_no": number, "contact": "13812345678", "description": "掉电"},
            ),
            actor="t",
        )
        service.link_known_problem(record.id, problem_id, actor="li")
    page = ops.get("/admin/knownproblem/").get_data(as_text=True)
    assert re.search(r"电池续航不足（批次）.*?<td[^>]*>\s*2\s*</td>", page, re.S)
    assert [h.title for h in service.knowledge_search("电池掉电")["problem"]] == [
        "电池续航不足（批次）"
    ]


def test_operations_keep_the_synonyms_and_supervisors_do_not(app: Flask) -> None:  # noqa: F811
    ops = signed_in(app, "ops")
    assert post_form(ops, "/admin/synonymgroup/new/", words="快递 物流，配送") == 302
    assert post_form(ops, "/admin/synonymgroup/new/", words="快递") == 200
    with services(app).session_factory() as session:
        assert session.scalars(select(SynonymGroup.words)).all() == ["快递, 物流, 配送"]
    assert signed_in(app, "sup").get("/admin/synonymgroup/").status_code == 403
