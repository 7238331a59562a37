"""The record page lets an agent correct a record, by role (issue #21, item 2): edit fields,
reassign to a person or a team, change the priority with a reason, tags, followers.

R-1.2 and R-8.3: a personal field is never written into the page and is masked in the
history; R-2.2: an agent never reaches another team's record; R-2.3: one owner; R-2.4: a new
priority re-plans the SLA.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.access import users
from engine.records.personal import all_fields
from engine.records.versions import PackSource
from engine.store.models import Record, RecordEvent, Team
from signin.auth import hash_password
from tests.integration.test_desk import PASSWORD, create, make_app, signed_in
from wsgi import services


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    """li and chen on the service desk, wang in R&D, zhao supervising (test_desk's, + chen)."""
    app = make_app(tmp_path, after_sales, WTF_CSRF_ENABLED=False)
    service = services(app)
    with service.uow() as uow:
        now = service.clock.now()
        users.add_user(
            uow.session,
            "chen",
            "agent",
            PASSWORD,
            hash_password,
            now,
            team="service_desk",
            display_name="陈静",
        )
        users.add_user(uow.session, "ops", "operations", PASSWORD, hash_password, now)
        uow.commit()
    return app


class _Form(HTMLParser):
    """The named values a browser would post from the form whose action ends with `action`."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside = action, False
        self.values: dict[str, str] = {}
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action", "").endswith(self.action)
        elif not self.inside or "name" not in a:
            if tag == "option" and self.select and "selected" in a:
                self.values[self.select] = a.get("value", "")
            return
        elif tag == "input":
            self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self.select = a["name"]
            self.values.setdefault(a["name"], "")
        elif tag == "textarea":
            self.textarea = a["name"]
            self.values[a["name"]] = ""

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.values[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def edit_form(page: str) -> dict[str, str]:
    parser = _Form("/fields")
    parser.feed(page)
    return {k: v.lstrip("\r\n") for k, v in parser.values.items()}


def page_of(client: FlaskClient, record_id: int) -> str:
    response = client.get(f"/records/{record_id}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def stored(app: Flask, record_id: int) -> Record:
    with services(app).uow() as uow:
        return uow.session.get_one(Record, record_id)


def kinds(app: Flask, record_id: int) -> list[str]:
    with services(app).uow() as uow:
        return list(
            uow.session.scalars(
                select(RecordEvent.kind)
                .where(RecordEvent.record_id == record_id)
                .order_by(RecordEvent.id)
            )
        )


def test_an_agent_edits_fields_and_the_contact_never_reaches_the_page(app: Flask) -> None:
    """R-1.2, R-8.3: the contact input starts blank with the masked value as its hint; blank
    keeps it, a new number replaces it; the history and the page show it masked."""
    record_id = create(app)
    li = signed_in(app, "li")
    page = page_of(li, record_id)
    assert "13812345678" not in page and "138****5678（留空则不变）" in page
    data = edit_form(page)
    assert data["edit-contact"] == "" and data["edit-description"] == "滚筒异响"
    response = li.post(
        f"/records/{record_id}/fields", data={**data, "edit-product": "滚筒洗衣机 X1"}
    )
    assert response.status_code == 302
    record = stored(app, record_id)
    assert (
        record.fields["product"] == "滚筒洗衣机 X1"
        and all_fields(record)["contact"] == "13812345678"
    )
    page = li.get(response.headers["Location"]).get_data(as_text=True)
    assert "已保存修改：产品/服务" in page and "修改字段：产品/服务" in page
    data = edit_form(page)
    li.post(f"/records/{record_id}/fields", data={**data, "edit-contact": "13900001111"})
    assert all_fields(stored(app, record_id))["contact"] == "13900001111"
    page = page_of(li, record_id)
    assert "13900001111" not in page and "139****1111" in page


def test_a_refused_edit_says_why_in_the_user_s_language_and_keeps_what_was_typed(
    app: Flask,
) -> None:
    record_id = create(app)
    li = signed_in(app, "li")
    data = edit_form(page_of(li, record_id))
    bad = {**data, "edit-description": "", "edit-satisfaction": "9", "edit-product": "留着"}
    response = li.post(f"/records/{record_id}/fields", data=bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "未能保存：请检查标出的字段。" in page and 'value="留着"' in page
    assert stored(app, record_id).fields.get("product") is None
    li.post("/me/language", data={"locale": "en"})
    page = li.post(f"/records/{record_id}/fields", data=bad).get_data(as_text=True)
    assert "Not saved: check the marked fields." in page
    assert "This field is required." in page and "between 1 and 5" in page


def test_a_stale_edit_comes_back_with_the_record_as_it_is_and_what_was_typed(
    app: Flask,
) -> None:
    """Two agents edit at once: the second gets 409, the first's correction stands, and
    saving again writes only what the second agent changed."""
    record_id = create(app)
    li, zhao = signed_in(app, "li"), signed_in(app, "zhao")
    mine = edit_form(page_of(li, record_id))
    theirs = edit_form(page_of(zhao, record_id))
    zhao.post(f"/records/{record_id}/fields", data={**theirs, "edit-product": "烘干机"})
    response = li.post(f"/records/{record_id}/fields", data={**mine, "edit-scenario": "夜间洗涤"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "您修改的内容已保留" in page
    kept = edit_form(page)
    assert kept["edit-scenario"] == "夜间洗涤" and kept["edit-product"] == "烘干机"
    assert li.post(f"/records/{record_id}/fields", data=kept).status_code == 302
    fields = stored(app, record_id).fields
    assert (fields["product"], fields["scenario"]) == ("烘干机", "夜间洗涤")


def test_an_agent_hands_their_record_to_a_teammate_or_the_team_queue_only(app: Flask) -> None:
    """R-2.3: li may give her record to chen, not to wang of R&D; chen's record is not li's
    to give; the supervisor hands it to R&D's queue, and li no longer sees it (R-2.2)."""
    record_id = create(app)
    li = signed_in(app, "li")
    services(app).supervise(record_id, actor="zhao", reassign_to="li")
    page = page_of(li, record_id)
    assert 'value="user:chen"' in page and 'value="user:wang"' not in page
    assert "客服中心" in page and "研发部" not in page  # her own team's queue only
    version = stored(app, record_id).row_version
    refused = li.post(f"/records/{record_id}/assignee", data={"to": "user:wang"})
    assert refused.status_code == 400 and stored(app, record_id).assignee == "li"
    given = li.post(
        f"/records/{record_id}/assignee", data={"to": "user:chen", "row_version": version}
    )
    assert given.status_code == 302 and stored(app, record_id).assignee == "chen"
    assert li.post(f"/records/{record_id}/assignee", data={"to": "user:li"}).status_code == 403
    zhao = signed_in(app, "zhao")
    with services(app).uow() as uow:
        rnd = uow.session.scalars(select(Team).where(Team.name == "rnd")).one().id
    assert 'value="user:wang"' in page_of(zhao, record_id)
    zhao.post(f"/records/{record_id}/assignee", data={"to": f"team:{rnd}"})
    record = stored(app, record_id)
    assert (record.department, record.assignee) == ("rnd", None)
    assert "转交「研发部」的队列" in page_of(zhao, record_id)
    assert li.get(f"/records/{record_id}").status_code == 404


def test_a_stale_reassignment_is_refused(app: Flask) -> None:
    record_id = create(app)
    zhao = signed_in(app, "zhao")
    version = stored(app, record_id).row_version
    services(app).supervise(record_id, actor="zhao", reassign_to="chen")
    response = zhao.post(
        f"/records/{record_id}/assignee", data={"to": "user:li", "row_version": version}
    )
    assert response.status_code == 409 and stored(app, record_id).assignee == "chen"


def test_a_new_priority_needs_a_reason_and_the_history_says_why(app: Flask) -> None:
    """R-2.4: the deadline moves with the priority; the timeline shows old → new and why."""
    record_id = create(app, priority="P2")
    li = signed_in(app, "li")
    before = stored(app, record_id).next_deadline
    missing = li.post(f"/records/{record_id}/priority", data={"priority": "P0", "reason": " "})
    assert missing.status_code == 400 and "请选择优先级并填写调整原因。" in missing.get_data(
        as_text=True
    )
    assert stored(app, record_id).priority == "P2"
    li.post(f"/records/{record_id}/priority", data={"priority": "P0", "reason": "生产线停工"})
    record = stored(app, record_id)
    assert record.priority == "P0" and record.next_deadline != before
    page = page_of(li, record_id)
    assert "调整优先级：P2 → P0" in page and "生产线停工" in page


def test_roles_decide_who_may_correct_a_record(app: Flask) -> None:
    """An agent works on records they own or nobody owns; a teammate's record they may only
    tag and follow; an agent of another team gets 404 for everything (R-2.2)."""
    record_id = create(app)
    services(app).supervise(record_id, actor="zhao", reassign_to="chen")
    li = signed_in(app, "li")
    page = page_of(li, record_id)
    assert 'id="record-edit"' not in page and 'id="tags"' in page and 'id="follow"' in page
    for path, data in (
        ("fields", {"edit-product": "x"}),
        ("assignee", {"to": "user:li"}),
        ("priority", {"priority": "P0", "reason": "r"}),
    ):
        assert li.post(f"/records/{record_id}/{path}", data=data).status_code == 403
    assert li.post(f"/records/{record_id}/tags", data={"add": "回访"}).status_code == 302
    wang = signed_in(app, "wang")
    services(app).transition(
        record_id, "accept", {"category": "other", "priority": "P1"}, actor="chen"
    )
    for path, data in (("tags", {"add": "x"}), ("followers", {"follow": "1"})):
        assert wang.post(f"/records/{record_id}/{path}", data=data).status_code == 404
    assert 'id="record-edit"' in page_of(signed_in(app, "zhao"), record_id)


def test_tags_show_on_the_record_and_as_chips_in_the_queue_and_filter_it(app: Flask) -> None:
    tagged, other = create(app), create(app, "C-2")
    li = signed_in(app, "li")
    li.post(f"/records/{tagged}/tags", data={"add": "保修, VIP"})
    page = page_of(li, tagged)
    assert re.search(r'class="chip"><a href="/queue\?[^"]*tags=vip', page) and "保修" in page
    assert "标签：+保修 +vip" in page
    queue = li.get("/queue").get_data(as_text=True)
    assert queue.count('class="chip"') == 2
    filtered = li.get("/queue?tags=vip").get_data(as_text=True)
    assert f'data-record="{tagged}"' in filtered and f'data-record="{other}"' not in filtered
    li.post("/queue/views", data={"name": "保修单", "tags": "保修"})  # a saved view keeps it
    assert '保修单 <span class="count">1</span>' in li.get("/queue").get_data(as_text=True)
    bad = li.post(f"/records/{tagged}/tags", data={"add": "x" * 40})
    assert bad.status_code == 400 and "标签为 1–32 个字符" in bad.get_data(as_text=True)
    li.post(f"/records/{tagged}/tags", data={"remove": "vip"})
    assert f'data-record="{tagged}"' not in li.get("/queue?tags=vip").get_data(as_text=True)


def test_a_follower_is_told_of_changes_in_one_click(app: Flask) -> None:
    """li follows with one click; zhao's changes reach her notices, her own do not."""
    record_id = create(app)
    li, zhao = signed_in(app, "li"), signed_in(app, "zhao")
    response = li.post(f"/records/{record_id}/followers", data={"follow": "1"})
    assert response.status_code == 302
    page = page_of(li, record_id)
    assert "取消关注" in page and "关注人：+li" in page
    services(app).transition(
        record_id, "accept", {"category": "other", "priority": "P1"}, actor="zhao"
    )
    zhao.post(f"/records/{record_id}/priority", data={"priority": "P0", "reason": "投诉升级"})
    li.post(f"/records/{record_id}/tags", data={"add": "自己加的"})
    header = li.get("/queue").get_data(as_text=True)
    assert re.search(r'id="notices">通知 <span class="badge"[^>]*>2</span>', header)
    notices = li.get("/me/notices").get_data(as_text=True)
    assert "进入「处理中」" in notices and "调整优先级：P1 → P0" in notices
    assert f'href="/records/{record_id}"' in notices
    assert 'class="badge"' not in li.get("/queue").get_data(as_text=True)  # seen
    li.post(f"/records/{record_id}/followers", data={"unfollow": "1"})
    assert "关注人：−li" in page_of(li, record_id)
    assert kinds(app, record_id).count("followers.changed") == 2


def test_a_colleague_who_may_not_see_the_record_cannot_be_added_as_follower(app: Flask) -> None:
    record_id = create(app)
    services(app).transition(
        record_id, "accept", {"category": "other", "priority": "P1"}, actor="zhao"
    )
    li = signed_in(app, "li")
    page = page_of(li, record_id)
    assert '<option value="chen">陈静</option>' in page and '<option value="wang">' not in page
    refused = li.post(f"/records/{record_id}/followers", data={"add": "wang"})
    assert refused.status_code == 400 and "该用户无权查看此记录。" in refused.get_data(as_text=True)
    li.post(f"/records/{record_id}/followers", data={"add": "chen"})
    assert "陈静" in unescape(page_of(li, record_id).split('id="followers"')[1][:2000])


def test_the_api_shows_a_record_s_tags_and_followers(app: Flask) -> None:
    """R-1.6: other systems read what the desk put on a record, one query per page for each."""
    from tests.integration.test_api import token

    tagged, plain = create(app), create(app, "C-2")
    services(app).retag(tagged, add=["保修"], actor="li")
    services(app).refollow(tagged, add=["li", "zhao"], actor="li")
    client, reader = app.test_client(), token(app, "read")
    one = client.get(f"/api/v1/records/{tagged}", headers=reader).get_json()
    assert (one["tags"], one["followers"]) == (["保修"], ["li", "zhao"])
    page = client.get("/api/v1/records", headers=reader).get_json()["items"]
    assert {r["id"]: r["tags"] for r in page} == {tagged: ["保修"], plain: []}
