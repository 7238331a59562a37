"""The polish a team notices in its first hour (issue #21, item 6): friendly error pages, one
front door, names not usernames, a reason for every reveal, no stray form fields, the
admin in Chinese with local times, and the history in the reader's language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from engine.access import users
from engine.knowledge import segment
from engine.records.versions import PackSource
from engine.store.models import AuditEntry, User
from forms.present import countdown, event_label
from signin.auth import hash_password
from tests.conftest import web_app
from tests.integration.test_desk import PASSWORD, create, make_app, signed_in
from wsgi import services


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    app = make_app(tmp_path, after_sales, WTF_CSRF_ENABLED=False)
    service = services(app)
    with service.uow() as uow:
        users.add_user(
            uow.session, "qian", "operations", PASSWORD, hash_password, service.clock.now()
        )
        uow.session.scalars(select(User).where(User.username == "li")).one().display_name = "李娜"
        uow.commit()
    return app


def speak_english(app: Flask, username: str) -> None:
    with services(app).uow() as uow:
        uow.session.scalars(select(User).where(User.username == username)).one().locale = "en"
        uow.commit()


def test_an_unknown_url_is_a_styled_404_in_the_users_language(app: Flask) -> None:
    li = signed_in(app, "li")
    page = li.get("/no-such-page")
    text = page.get_data(as_text=True)
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "找不到要找的内容" in text and 'class="top"' in text and 'href="/"' in text
    assert "Not Found" not in text  # not Werkzeug's bare page
    speak_english(app, "li")
    english = signed_in(app, "li").get("/no-such-page")
    assert english.status_code == 404
    assert "Not found" in english.get_data(as_text=True)


def test_another_teams_record_is_the_same_styled_404(app: Flask) -> None:
    record_id = create(app)
    services(app).transition(
        record_id, "accept", {"category": "service", "priority": "P2"}, actor="other"
    )  # routed to training: wang works in rnd
    page = signed_in(app, "wang").get(f"/records/{record_id}")
    assert page.status_code == 404
    assert "找不到要找的内容" in page.get_data(as_text=True)


def test_a_forbidden_page_says_so_in_the_users_language(app: Flask) -> None:
    record_id = create(app)
    page = signed_in(app, "li").post(f"/records/{record_id}/reveal", data={"reason": "x"})
    assert page.status_code == 403 and "没有权限访问此页面" in page.get_data(as_text=True)
    speak_english(app, "li")
    english = signed_in(app, "li").get("/dashboard")
    assert english.status_code == 403
    assert "You may not open this page" in english.get_data(as_text=True)


def test_a_wrong_method_and_a_bug_of_ours_are_pages_too(tmp_path: Path) -> None:
    app = web_app(tmp_path)

    def boom() -> str:
        raise ValueError("a bug of ours")

    app.add_url_rule("/boom", "boom", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    wrong = client.get("/queue/take")
    assert wrong.status_code == 405 and "不支持这种访问方式" in wrong.get_data(as_text=True)
    broken = client.get("/boom")
    text = broken.get_data(as_text=True)
    assert broken.status_code == 500 and "服务器出错了" in text and "a bug of ours" not in text


def test_the_api_keeps_answering_problem_json(app: Flask) -> None:
    answer = app.test_client().get("/api/v1/no-such-thing")
    assert answer.status_code == 404 and answer.mimetype == "application/problem+json"


def test_the_front_door_sends_each_role_to_its_work(app: Flask) -> None:
    assert "/login" in app.test_client().get("/").headers["Location"]
    starts = {"li": "/queue", "zhao": "/dashboard", "qian": "/admin/"}
    for username, start in starts.items():
        answer = signed_in(app, username).get("/")
        assert answer.status_code == 302 and answer.headers["Location"] == start, username


def test_the_owner_reads_as_a_name_on_the_queue_and_the_record(app: Flask) -> None:
    create(app)
    li = signed_in(app, "li")
    taken = li.post("/queue/take")
    record_page = li.get(taken.headers["Location"]).get_data(as_text=True)
    queue_page = li.get("/queue").get_data(as_text=True)
    for page in (record_page, queue_page):
        assert "<td>李娜</td>" in page or "<dd>李娜</dd>" in page
        assert not re.search(r"<t?dd?>li</t?dd?>", page)


def test_a_reveal_without_a_reason_is_refused_and_not_logged(app: Flask) -> None:
    record_id = create(app)
    zhao = signed_in(app, "zhao")
    refused = zhao.post(f"/records/{record_id}/reveal", data={"reason": "  "})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "请填写查看原因" in text and "13812345678" not in text
    with services(app).session_factory() as session:
        assert session.scalars(select(AuditEntry)).first() is None
    shown = zhao.post(f"/records/{record_id}/reveal", data={"reason": "客户来电核对"})
    assert shown.status_code == 200 and "13812345678" in shown.get_data(as_text=True)
    with services(app).session_factory() as session:
        assert session.scalars(select(AuditEntry)).one().detail["reason"] == "客户来电核对"


def test_the_row_version_travels_hidden_never_as_a_labelled_field(app: Flask) -> None:
    record_id = create(app)
    page = signed_in(app, "li").get(f"/records/{record_id}").get_data(as_text=True)
    versions = re.findall(r"<input[^>]*name=\"[a-z_]+-row_version\"[^>]*>", page)
    assert versions and all('type="hidden"' in tag for tag in versions)
    assert "Row Version" not in page


def test_the_history_and_countdowns_read_in_english_for_an_english_reader(app: Flask) -> None:
    with services(app).session_factory() as session:
        feedback = services(app).latest_spec(session, "after_sales").record_type("feedback")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert countdown(2 * 3600 + 5 * 60) == "2 h 05 min left"
        assert countdown(-(26 * 3600 + 60)) == "1 d 2 h 01 min late"
        assert event_label("stage.in_progress", feedback) == "Entered “处理中”"
        assert event_label("sla.respond.met", feedback) == "首次响应 met"
        assert event_label("message.out", feedback) == "Reply to the customer"
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert countdown(2 * 3600 + 5 * 60) == "剩余 2小时05分"


def test_the_admin_speaks_chinese_with_local_times_and_one_packs_menu(app: Flask) -> None:
    create(app)
    zhao = signed_in(app, "zhao")
    page = zhao.get("/admin/record/").get_data(as_text=True)
    assert "列表" in page and ">List<" not in page  # Flask-Admin's own words, in Chinese
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d{6}", page)  # no UTC microseconds
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}\s*<", page)
    assert re.search(r">\s*待受理\s*<", page) and not re.search(r">\s*pending\s*<", page)
    home = signed_in(app, "qian").get("/admin/").get_data(as_text=True)  # sees every view
    menu = home[home.index("<nav") : home.index("</nav>")]
    assert len(re.findall(r">\s*流程包\s*<", menu)) == 1
    speak_english(app, "zhao")
    english = signed_in(app, "zhao").get("/admin/record/").get_data(as_text=True)
    assert "List" in english and "列表" not in english


def test_the_segmenter_warms_at_start_but_not_under_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[bool] = []
    monkeypatch.setattr(segment, "warm", lambda: started.append(True))
    (tmp_path / "quiet").mkdir()
    web_app(tmp_path / "quiet")
    assert not started  # tests stay lazy: most never search
    (tmp_path / "warm").mkdir()
    web_app(tmp_path / "warm", WARM_SEGMENTER=True)
    assert started == [True]


def test_warming_loads_the_dictionary_in_a_thread_of_its_own() -> None:
    thread = segment.warm()
    assert thread.daemon and thread.name == "careloop-segmenter-warmup"
    thread.join(timeout=60)
    assert not thread.is_alive() and segment.words("快递一直没到") == ["快递"]
