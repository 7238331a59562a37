"""The customer portal (issue #23 items 1, 2, 3, 5) through the test client.

Help pages show published articles only and count votes and answers; the web form makes a
record on `web` with its photo and a hand-over, and nothing for a robot; a tracking link opens
its own record and no other, an expired or tampered one is refused with a clear page; the 21st
post from one address within a minute is a 429 with Retry-After.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select

from engine.conversation.mail import Attachment
from engine.knowledge import articles
from engine.records.versions import PackSource
from engine.store.models import Article, Record, SelfServiceOutcome, ThreadAttachment
from engine.time.clock import VirtualClock
from tests.browser.test_mail_round_trip import png
from tests.conftest import ROOT
from wsgi import create_app, services

FORM = {
    "customer_name": "王芳",
    "contact": "wang.fang@example.com",
    "product": "冰箱 BCD-520",
    "description": "冰箱不制冷，已经两天了",
}


@pytest.fixture
def app(db_engine: Engine, after_sales: PackSource) -> Iterator[Flask]:
    """The whole app on SQLite and on PostgreSQL, three articles (one a draft), virtual time."""
    url = db_engine.url.render_as_string(hide_password=False)
    app = create_app(
        {"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False}
    )
    service = services(app)
    service.publish(after_sales, by="test")
    service.clock = VirtualClock(service.clock.now())
    with service.uow() as uow:
        now = service.clock.now()
        for title, body, status, category in (
            (
                "冰箱不制冷怎么办",
                "检查**温控旋钮**与门封，断电 5 分钟后重启。",
                "published",
                "冰箱",
            ),
            ("冰箱不制冷（内部口径）", "冰箱 不制冷 内部", "draft", "冰箱"),
            ("洗衣机漏水", "检查进水管接口。", "published", "洗衣机"),
        ):
            article = Article(title=title, body=body, status=status, category=category)
            articles.save_article(uow.session, article, actor="ops", now=now)
        uow.commit()
    yield app
    service.session_factory.kw["bind"].dispose()


def outcomes(app: Flask) -> list[tuple[str, str, int | None, str | None]]:
    with services(app).uow() as uow:
        rows = uow.session.scalars(select(SelfServiceOutcome).order_by(SelfServiceOutcome.id))
        return [(r.kind, r.source, r.article_id, r.query) for r in rows]


def test_help_pages_show_published_articles_only_with_clean_urls(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/help/after_sales/?q=冰箱不制冷").get_data(as_text=True)
    assert "冰箱不制冷怎么办" in page and "内部口径" not in page
    assert client.get("/help/after_sales/?c=洗衣机").get_data(as_text=True).count("洗衣机漏水")
    moved = client.get("/help/after_sales/a/1")
    assert moved.status_code == 301
    assert unquote(moved.headers["Location"]).endswith("/help/after_sales/a/1-冰箱不制冷怎么办")
    article = client.get(moved.headers["Location"]).get_data(as_text=True)
    assert "<strong>温控旋钮</strong>" in article and "家电售后服务中心" in article
    draft = client.get("/help/after_sales/a/2")  # a draft: a 404 in the shop's own frame
    assert draft.status_code == 404 and "家电售后服务中心" in draft.get_data(as_text=True)
    assert client.get("/help/no_such_pack/").status_code == 404
    english = client.get("/help/after_sales/?lang=en")
    assert "Appliance After-Sales Help" in english.get_data(as_text=True)
    assert "Help centre" in client.get("/help/after_sales/").get_data(as_text=True)  # the cookie


def test_a_helpful_article_counts_as_answered_and_makes_no_record(app: Flask) -> None:
    client = app.test_client()
    answered = client.post("/help/after_sales/a/1/vote", data={"helpful": "yes", "q": "不制冷"})
    assert answered.status_code == 200
    client.post("/help/after_sales/a/3/vote", data={"helpful": "no"})
    assert client.post("/help/after_sales/a/2/vote", data={"helpful": "yes"}).status_code == 404
    client.post("/help/after_sales/new/answered/1", data={"q": "冰箱 13800138000 不冷"})
    assert outcomes(app) == [
        ("helpful", "portal", 1, "不制冷"),
        ("answered", "portal", 1, "不制冷"),
        ("unhelpful", "portal", 3, None),
        ("answered", "form", 1, "冰箱 # 不冷"),
    ]
    with services(app).uow() as uow:
        assert uow.session.scalar(select(func.count(Record.id))) == 0


def test_suggestions_follow_the_description(app: Flask) -> None:
    found = app.test_client().get("/help/after_sales/suggest?q=冰箱不制冷").get_json()
    assert [a["title"] for a in found] == ["冰箱不制冷怎么办"]
    assert found[0]["url"].startswith("/help/after_sales/a/1-")


def submit(client: FlaskClient, **extra: object) -> tuple[int, str]:
    data: dict[str, object] = {**FORM, **extra}
    response = client.post("/help/after_sales/new", data=data, content_type="multipart/form-data")
    return response.status_code, response.get_data(as_text=True)


def test_the_web_form_makes_a_web_record_with_its_photo(app: Flask) -> None:
    client = app.test_client()
    assert "冰箱不制冷" not in client.get("/help/after_sales/new").get_data(as_text=True)
    status, page = submit(client, photos=(io.BytesIO(png()), "fridge.png"))
    assert status == 200, page
    reference = re.search(r"CL-(\d+)", page)
    assert reference is not None
    with services(app).uow() as uow:
        record = uow.session.get_one(Record, int(reference.group(1)))
        assert (record.channel, record.fields["description"]) == ("web", FORM["description"])
        assert record.customer is not None and record.customer.contact == FORM["contact"]
        files = uow.session.scalars(select(ThreadAttachment)).all()
        assert [f.content_type for f in files] == ["image/png"]
    assert outcomes(app) == [("handed_over", "form", None, FORM["description"])]


def test_bad_input_is_a_clear_4xx_and_a_robot_makes_nothing(app: Flask) -> None:
    client = app.test_client()
    status, page = submit(client, contact="not a contact")
    assert status == 422 and "请填写邮箱或手机号码" in page
    status, page = submit(client, description="")
    assert status == 400
    status, page = submit(client, website="http://spam.example")
    assert status == 400 and "无法受理" in page
    status, page = submit(client, photos=(io.BytesIO(b"MZ\x90\x00" * 10), "x.exe"))
    assert status == 422
    with services(app).uow() as uow:
        assert uow.session.scalar(select(func.count(Record.id))) == 0


def test_the_21st_post_from_one_address_in_a_minute_is_refused(app: Flask) -> None:
    client = app.test_client()
    statuses = [submit(client, description="")[0] for _ in range(20)]
    assert set(statuses) == {400}
    status, page = submit(client)
    assert status == 429 and "操作过于频繁" in page
    response = client.post("/help/after_sales/new", data=FORM)
    assert int(response.headers["Retry-After"]) <= 60
    services(app).clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    assert submit(client)[0] == 200


def test_one_contact_makes_at_most_five_records_an_hour(app: Flask) -> None:
    client = app.test_client()
    assert [submit(client)[0] for _ in range(5)] == [200] * 5
    status, page = submit(client, contact="WANG.FANG@example.com ")  # the same contact
    assert status == 429 and "操作过于频繁" in page
    assert submit(client, contact="li.lei@example.com")[0] == 200
    with services(app).uow() as uow:
        assert uow.session.scalar(select(func.count(Record.id))) == 6


def test_behind_a_proxy_each_customer_has_their_own_limit(app: Flask) -> None:
    """With one trusted proxy, its X-Forwarded-For entry is the address; what a client wrote
    to the left of it is not believed."""
    app.config["TRUSTED_PROXIES"] = 1
    client = app.test_client()
    for n in range(21):
        headers = {"X-Forwarded-For": f"6.6.6.{n}, 203.0.113.7"}
        response = client.post("/help/after_sales/new", data={}, headers=headers)
    assert response.status_code == 429  # the forged left-hand address changed nothing
    other = client.post(
        "/help/after_sales/new", data={}, headers={"X-Forwarded-For": "198.51.100.1"}
    )
    assert other.status_code == 400


def track_link(page: str) -> str:
    found = re.search(r'href="(/help/after_sales/track/[^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_a_tracking_link_opens_its_own_record_only(app: Flask) -> None:
    client = app.test_client()
    first = track_link(submit(client)[1])
    second = track_link(submit(client, contact="li.lei@example.com", customer_name="李雷")[1])
    mine = client.get(first).get_data(as_text=True)
    assert "CL-1" in mine and "冰箱不制冷" in mine and "李雷" not in mine
    other = client.get(second).get_data(as_text=True)
    assert "CL-2" in other and "wang.fang" not in other and "王芳" not in other
    assert client.get(first[:-3] + "abc").status_code == 400  # tampered
    assert client.get(first.replace("after_sales", "retail")).status_code == 404
    assert client.post(first + "/reply", data={"text": "补充：门封有裂缝"}).status_code == 302
    assert "门封有裂缝" in client.get(first).get_data(as_text=True)
    assert "门封有裂缝" not in client.get(second).get_data(as_text=True)
    services(app).clock.advance(timedelta(days=61))  # type: ignore[attr-defined]
    expired = client.get(first)
    assert expired.status_code == 410 and "链接已过期" in expired.get_data(as_text=True)


def test_the_customer_opens_their_photo_but_never_a_notes_file(app: Flask) -> None:
    client = app.test_client()
    link = track_link(submit(client, photos=(io.BytesIO(png()), "fridge.png"))[1])
    page = client.get(link).get_data(as_text=True)
    found = re.search(r'href="(/help/after_sales/track/[^"]+/files/(\d+))"', page)
    assert found is not None
    photo = client.get(found.group(1))
    assert photo.status_code == 200 and photo.mimetype == "image/png"
    assert photo.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    note = services(app).note(
        1,
        "内部：疑似人为损坏",
        actor="xu",
        files=[Attachment("n.png", "image/png", len(png()), png())],
    )
    with services(app).uow() as uow:
        hidden = uow.session.scalars(
            select(ThreadAttachment.id).where(ThreadAttachment.message_id == note.id)
        ).one()
    assert client.get(f"{link}/files/{hidden}").status_code == 404
    assert "疑似人为损坏" not in client.get(link).get_data(as_text=True)


def test_reference_and_contact_open_the_page_and_nothing_else(app: Flask) -> None:
    client = app.test_client()
    submit(client)
    wrong = client.post("/help/after_sales/track", data={"reference": "CL-1", "contact": "x@y.cn"})
    assert wrong.status_code == 404
    found = client.post(
        "/help/after_sales/track", data={"reference": "cl-1", "contact": FORM["contact"]}
    )
    assert found.status_code == 302 and "/help/after_sales/track/" in found.headers["Location"]


def test_the_customer_confirms_a_resolved_solution_once(app: Flask) -> None:
    client = app.test_client()
    link = track_link(submit(client)[1])
    assert client.post(link + "/confirm").status_code == 302  # not resolved: a message only
    service = services(app)
    service.transition(1, "accept", {"category": "quality", "priority": "P2"}, actor="xu")
    service.transition(
        1, "resolve", {"solution_type": "service", "solution": "更换门封"}, actor="xu"
    )
    page = client.get(link).get_data(as_text=True)
    assert "确认解决方案" in page and "/survey/" in page
    client.post(link + "/confirm")
    page = client.get(link).get_data(as_text=True)
    assert 'id="confirmed"' in page
    with service.uow() as uow:
        record = uow.session.get_one(Record, 1)
        kinds = [e.kind for e in uow.session.scalars(record.events.select())]
    assert kinds.count("solution.confirmed") == 1


def test_a_body_past_three_photos_is_refused_before_it_is_read(app: Flask) -> None:
    body = b"0" * (16 * 1024 * 1024 + 1)  # raw bytes: the length alone decides
    response = app.test_client().post(
        "/help/after_sales/new", data=body, content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 413


def test_the_embeddable_button_is_served_to_other_sites(app: Flask) -> None:
    response = app.test_client().get("/help-static/embed.js")
    assert response.status_code == 200 and "javascript" in response.content_type
    assert "/help/" in response.get_data(as_text=True)
    response.close()


def test_retail_has_its_own_portal_and_form(app: Flask) -> None:
    from workflows.validate import checked_source

    services(app).publish(checked_source(ROOT / "workflows" / "retail"), by="test")
    client = app.test_client()
    page = client.get("/help/retail/new").get_data(as_text=True)
    assert "会员服务中心" in page and "#c2410c" in page and 'name="order_no"' in page
    form = {"contact": "13800138000", "source": "online", "description": "订单少发一件"}
    response = client.post("/help/retail/new", data=form)
    assert response.status_code == 200, response.get_data(as_text=True)
    with services(app).uow() as uow:
        record = uow.session.scalars(select(Record).where(Record.pack == "retail")).one()
        assert (record.channel, record.fields["source"]) == ("web", "online")


def test_hostile_chat_bodies_are_a_4xx_on_both_databases(app: Flask) -> None:
    """The chat box's JSON as an attacker writes it: an id past INTEGER (a 500 on PostgreSQL
    before the engine bounded it), NUL, a lone surrogate, nesting 10,000 deep."""
    client = app.test_client()
    page = client.get("/help/after_sales/chat")
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found is not None
    headers = {"X-CSRFToken": found.group(1), "Content-Type": "application/json"}
    vote = b'{"article_id": 1099511627776, "question": "x", "helpful": true}'
    assert client.post("/help/after_sales/chat/vote", data=vote, headers=headers).status_code == 404
    for body in (
        b'{"question": "\\ud800"}',
        b'{"question": "a\\u0000b"}',
        b"[" * 10_000 + b"]" * 10_000,
    ):
        answer = client.post("/help/after_sales/chat/ask", data=body, headers=headers)
        assert answer.status_code == 400, body[:20]
    with services(app).session_factory() as session:
        assert session.scalar(select(func.count()).select_from(SelfServiceOutcome)) == 0
