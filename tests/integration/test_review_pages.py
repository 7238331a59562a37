"""The analysis on the dashboard and the printable review, and the mailed reviews' history
(issue #25 item 4, R-4.2): the same tables as the mail, in the reader's language."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from engine.access import users
from engine.insight import reviews
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from signin.auth import hash_password
from tests.conftest import SHANGHAI, web_app
from tests.integration.test_dashboard import PASSWORD, csrf, signed_in
from tests.integration.test_reviews import with_reviews
from wsgi import services


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    app = web_app(tmp_path, pack=with_reviews(after_sales))
    service = services(app)
    with service.uow() as uow:
        for name, role in (("zhang", "supervisor"), ("liu", "agent")):
            users.add_user(uow.session, name, role, PASSWORD, hash_password, service.clock.now())
        uow.commit()
    for category in ("quality", "quality", "logistics"):
        service.create_record(
            "after_sales",
            NewRecord(
                record_type="feedback",
                channel="phone",
                category=category,
                fields={"customer_no": "C-1", "contact": "13812345678", "description": "漏水"},
            ),
            actor="t",
        )
    return app


def table(body: str, key: str) -> str:
    return body.split(f'id="table-{key}"', 1)[1].split("</table>", 1)[0]


def test_the_dashboard_shows_top_problems_by_the_chosen_dimension_and_churn_tables(
    app: Flask,
) -> None:
    client = signed_in(app, "zhang")
    body = client.get("/dashboard?period=7d").get_data(as_text=True)
    assert "高频问题（按类别）" in body
    top = table(body, "top-category")
    assert "<td>产品质量</td><td>2</td><td>67%</td>" in top
    assert "<td>物流配送</td><td>1</td><td>33%</td>" in top
    churn = table(body, "churn-resolution")
    assert "<th>区间</th><th>客户数</th><th>流失率</th><th>复购率</th>" in churn
    assert "<td>≤24h</td><td>0</td><td>—</td><td>—</td>" in churn  # nothing closed yet
    assert body.count("<svg") == 8  # the two churn charts beside the six others
    tags = client.get("/dashboard?period=7d&top_by=tag").get_data(as_text=True)
    assert "高频问题（按标签）" in tags
    assert client.get("/dashboard?top_by=colour").status_code == 400
    review = client.get("/dashboard/review?period=7d").get_data(as_text=True)
    assert table(review, "top-category") == top

    token = csrf(client, "/dashboard")
    client.post("/me/language", data={"locale": "en", "csrf_token": token})
    english = client.get("/dashboard?period=7d").get_data(as_text=True)
    section = english[english.index('id="analysis"') :].split("</section>\n", 1)[0]
    for words in ("Top problems (by category)", "Churn and repurchase (by resolution time)"):
        assert words in section
    assert (
        re.search(r"[\u4e00-\u9fff]", section.replace("产品质量", "").replace("物流配送", ""))
        is None
    )


def test_supervisors_read_the_mailed_reviews_as_their_recipients_got_them(app: Flask) -> None:
    service = services(app)
    now = service.clock.now()
    monday = now.astimezone(SHANGHAI).date() - timedelta(days=now.astimezone(SHANGHAI).weekday())
    due = reviews.Due("weekly", monday, monday + timedelta(days=6), now)
    with service.uow() as uow:
        run = reviews.queue(uow.session, service.latest_spec(uow.session, "after_sales"), due, now)
        uow.commit()
    period = f"{monday} – {monday + timedelta(days=6)}"
    client = signed_in(app, "zhang")
    listing = client.get("/dashboard/reviews").get_data(as_text=True)
    assert f'href="/dashboard/reviews/{run.id}"' in listing and period in listing
    page = client.get(f"/dashboard/reviews/{run.id}").get_data(as_text=True)
    assert (
        "<h2>高频问题（按类别）</h2>" in page and "<td>产品质量</td><td>2</td><td>67%</td>" in page
    )
    assert client.get("/dashboard/reviews/999").status_code == 404
    assert signed_in(app, "liu").get("/dashboard/reviews").status_code == 403
