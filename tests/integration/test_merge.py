"""Merging a duplicate record into the one that stays (issue #21 item 2; R-1.7, R-4.1, R-3.2).

The engine on SQLite and PostgreSQL (`services`); the desk and the API through the test client.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from engine.access import tokens, users
from engine.delivery import webhooks
from engine.delivery.outbound import OutboundPolicy
from engine.errors import ConflictError, InvalidInput, TransitionRefused
from engine.records import followers, merge, tags
from engine.records.intake import NewRecord
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.models import (
    OutboxMessage,
    Record,
    RecordEvent,
    RecordMerge,
    ThreadMessage,
    Timer,
)
from tests.conftest import ROOT
from tests.integration.test_desk import make_app, row_version, signed_in
from tests.integration.test_mail_intake import mail
from wsgi import services as app_services


def feedback(services: Services, number: str | None = "C-1", description: str = "滚筒异响") -> int:
    fields = {"description": description, "product": "洗衣机"}
    if number is not None:
        fields |= {"customer_no": number, "customer_name": "王芳", "contact": "13812345678"}
    new = NewRecord(record_type="feedback", fields=fields, channel="phone", priority="P2")
    return services.create_record("after_sales", new, actor="li").id


def events(services: Services, record_id: int) -> list[RecordEvent]:
    with services.session_factory() as session:
        return list(
            session.scalars(
                select(RecordEvent)
                .where(RecordEvent.record_id == record_id)
                .order_by(RecordEvent.id)
            )
        )


def test_a_merge_moves_the_thread_and_closes_the_duplicate_pointing_at_the_survivor(
    services: Services,
) -> None:
    survivor, duplicate = feedback(services), feedback(services, description="洗衣机响")
    services.receive(duplicate, "又响了，附上视频", channel="phone")
    services.note(duplicate, "客户第二次来电", actor="li")
    services.receive(survivor, "第一次来电", channel="phone")

    done = services.merge_records(duplicate, survivor, actor="li")

    assert (done.record_id, done.into, done.messages) == (duplicate, survivor, 2)
    with services.session_factory() as session:
        thread = session.scalars(select(ThreadMessage.record_id).order_by(ThreadMessage.id))
        assert list(thread) == [survivor, survivor, survivor]  # one conversation
        closed = session.get_one(Record, duplicate)
        assert (closed.is_open, closed.stage_kind) == (False, "closed")
        assert session.get_one(RecordMerge, duplicate).merged_into == survivor
        pending = session.scalars(
            select(Timer).where(Timer.record_id == duplicate, Timer.status == "pending")
        )
        assert list(pending) == []  # its SLA timers and promised contacts are cancelled
        assert merge.merged_ids(session, survivor) == [duplicate]
        assert merge.merged_into(session, duplicate) == survivor
    last = [e for e in events(services, duplicate) if e.kind.startswith("stage.")][-1]
    assert (last.kind, last.transition, last.changes) == (
        "stage.closed",
        "merged",
        {"merged_into": survivor},
    )
    said = events(services, survivor)[-1]
    assert (said.kind, said.changes, said.actor) == (
        "record.merged",
        {"merged": duplicate, "messages": 2},
        "li",
    )


def test_the_survivor_takes_the_duplicates_tags_and_followers_each_once(
    services: Services,
) -> None:
    """Issue #21 item 2: tags (and followers) combined; the duplicate keeps its own."""
    survivor, duplicate = feedback(services), feedback(services, description="洗衣机响")
    with services.uow() as uow:
        s, d = uow.session.get_one(Record, survivor), uow.session.get_one(Record, duplicate)
        now = services.clock.now()
        users.add_user(uow.session, "wu", "agent", "pw pw pw 12", str, now, team="service_desk")
        wu = users.get_active(uow.session, "wu")
        tags.change(uow.session, s, add=["保修"], actor="li", now=now)
        tags.change(uow.session, d, add=["保修", "噪音"], actor="li", now=now)
        followers.change(uow.session, d, add=[wu], now=now)
        uow.commit()

    services.merge_records(duplicate, survivor, actor="li")

    with services.session_factory() as session:
        assert tags.tags_of(session, [survivor])[survivor] == ["保修", "噪音"]
        assert tags.tags_of(session, [duplicate])[duplicate] == ["保修", "噪音"]
        assert followers.usernames_of(session, [survivor])[survivor] == ["wu"]


def test_merging_runs_the_webhooks_and_the_case_library_as_any_closing_does(
    services: Services,
) -> None:
    """Through `enter_stage`: the subscribers hear `record.transitioned`, and a duplicate with a
    solution joins the case library as a closed record does (issue #19's lesson)."""
    with services.uow() as uow:
        token, _plain = tokens.issue(uow.session, "crm", ["write"], services.clock.now())
        webhooks.subscribe(
            uow.session,
            token.id,
            "http://127.0.0.1:9/h",
            ["record.transitioned"],
            services.clock.now(),
            policy=OutboundPolicy.allowing(["127.0.0.1"]),  # the test's own address, by name
        )
        uow.commit()
    survivor, duplicate = feedback(services), feedback(services, description="洗衣机脱水时噪音很大")
    services.transition(duplicate, "accept", {"category": "quality", "priority": "P2"}, actor="li")
    services.transition(
        duplicate, "resolve", {"solution_type": "technical", "solution": "拆除运输螺栓"}, actor="li"
    )
    services.transition(duplicate, "reopen", {}, actor="li")
    assert services.suggestions(survivor)["case"] == []

    services.merge_records(duplicate, survivor, actor="li")

    with services.session_factory() as session:
        hooks = session.scalars(
            select(OutboxMessage.payload).where(
                OutboxMessage.channel == "hook", OutboxMessage.record_id == duplicate
            )
        ).all()
    merged = [h for h in hooks if h["data"]["transition"] == "merged"]
    assert [(h["type"], h["data"]["to_stage"]) for h in merged] == [
        ("record.transitioned", "closed")
    ]
    assert duplicate in [case.ref_id for case in services.suggestions(survivor)["case"]]


def chat(services: Services, number: str | None = None) -> int:
    fields = {"question": "营业时间？"} | ({"customer_no": number} if number else {})
    new = NewRecord(record_type="chat_consult", fields=fields, channel="online_chat")
    return services.create_record("retail", new, actor="li").id


def test_the_customers_later_mail_about_the_merged_record_joins_the_survivor(
    services: Services,
) -> None:
    """R-1.7: by the merged record's reference in the subject, or in reply to its mail."""
    first = services.take_mail("after_sales", "email", mail("洗衣机漏水", "一直漏水"))
    second = services.take_mail(
        "after_sales", "email", mail("还是漏水", "地面全湿了", message_id="<m2@example.com>")
    )
    assert first.record_id is not None and second.record_id is not None
    assert first.record_id != second.record_id
    services.merge_records(second.record_id, first.record_id, actor="li")
    by_reference = mail(
        f"Re: 还是漏水 [CL-{second.record_id}]", "补充：是滚筒的", message_id="<m3@example.com>"
    )
    joined = services.take_mail("after_sales", "email", by_reference)
    assert (joined.action, joined.record_id) == ("joined", first.record_id)
    in_reply = mail(
        "Re: 还是漏水", "照片见附件", message_id="<m4@example.com>", In_Reply_To="<m2@example.com>"
    )
    joined = services.take_mail("after_sales", "email", in_reply)
    assert (joined.action, joined.record_id) == ("joined", first.record_id)


def test_the_survivor_takes_the_customer_when_it_had_none(services: Services) -> None:
    """R-1.7: the customer's one view lists the survivor, which now holds their messages."""
    from workflows.validate import checked_source

    services.publish(checked_source(ROOT / "workflows" / "retail"), by="test")
    survivor, duplicate = chat(services), chat(services, "C-7")
    services.merge_records(duplicate, survivor, actor="li")
    with services.session_factory() as session:
        kept, gone = session.get_one(Record, survivor), session.get_one(Record, duplicate)
        assert kept.customer_id is not None and kept.customer_id == gone.customer_id


def test_merges_that_make_no_sense_are_refused_and_change_nothing(
    services: Services, after_sales: PackSource
) -> None:
    from workflows.validate import checked_source

    one, two, three = feedback(services), feedback(services), feedback(services, number="C-2")
    with pytest.raises(InvalidInput, match="itself"):
        services.merge_records(one, one, actor="li")
    with pytest.raises(InvalidInput, match="different customers"):
        services.merge_records(three, one, actor="li")
    services.publish(checked_source(ROOT / "workflows" / "retail"), by="test")
    with pytest.raises(InvalidInput, match="different kinds"):
        services.merge_records(chat(services), one, actor="li")
    services.merge_records(two, one, actor="li")
    with pytest.raises(TransitionRefused, match=f"already merged into record {one}"):
        services.merge_records(one, two, actor="li")  # into a merged one
    with pytest.raises(TransitionRefused, match="already merged"):
        services.merge_records(two, three, actor="li")  # a merged one again
    assert [e.kind for e in events(services, three)] == ["stage.pending"]


def test_a_stale_page_cannot_merge(services: Services) -> None:
    survivor, duplicate = feedback(services), feedback(services)
    with services.session_factory() as session:
        seen = session.get_one(Record, survivor).row_version
    services.transition(survivor, "accept", {"category": "quality", "priority": "P2"}, actor="wu")
    with pytest.raises(ConflictError):
        services.merge_records(duplicate, survivor, actor="li", expected={survivor: seen})
    with services.session_factory() as session:
        assert session.get_one(Record, duplicate).is_open


def test_a_chain_of_merges_shows_every_merged_record_on_the_last_survivor(
    services: Services,
) -> None:
    first, second, last = feedback(services), feedback(services), feedback(services)
    services.merge_records(first, second, actor="li")
    services.merge_records(second, last, actor="li")
    with services.session_factory() as session:
        assert merge.merged_ids(session, last) == [second, first]
        with pytest.raises(InvalidInput, match="not a record number"):
            merge.find(session, "abc")
        assert merge.find(session, f"CL-{first}").id == first
        assert merge.find(session, f" #{last} ").id == last


# The desk and the API -------------------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    return make_app(tmp_path, after_sales, WTF_CSRF_ENABLED=False)


def test_an_agent_merges_a_duplicate_from_the_record_page_and_both_pages_say_so(
    app: Flask,
) -> None:
    service = app_services(app)
    survivor, duplicate = feedback(service), feedback(service, description="又一次来电")
    service.receive(duplicate, "第二次来电的留言", channel="phone")
    client = signed_in(app, "li")
    page = client.get(f"/records/{survivor}").get_data(as_text=True)
    assert 'id="merge"' in page and "合并" in page
    response = client.post(
        f"/records/{survivor}/merge",
        data={
            "other": f"CL-{duplicate}",
            "direction": "into_this",
            "row_version": row_version(app, survivor),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    kept = client.get(f"/records/{survivor}").get_data(as_text=True)
    assert "第二次来电的留言" in kept  # the thread moved
    assert f"合并了记录 #{duplicate}" in kept  # the survivor's history says what was merged
    assert f"来自 #{duplicate}" in kept  # and shows the merged record's own history, marked
    gone = client.get(f"/records/{duplicate}").get_data(as_text=True)
    assert 'id="merged-banner"' in gone and f'href="/records/{survivor}"' in gone
    assert 'id="merge"' not in gone  # a merged record offers no second merge
    assert f"合并到 #{survivor}，进入「已关闭」" in gone  # its history says where it went


def test_the_desk_refuses_a_record_of_another_team_as_not_found(app: Flask) -> None:
    service = app_services(app)
    mine, theirs = feedback(service), feedback(service)
    service.transition(mine, "accept", {"category": "quality", "priority": "P2"}, actor="zhao")
    service.transition(theirs, "accept", {"category": "service", "priority": "P2"}, actor="zhao")
    client = signed_in(app, "wang")
    # "wang" is of the R&D team: the record routed to training is not theirs to see.
    assert client.get(f"/records/{mine}").status_code == 200
    assert client.get(f"/records/{theirs}").status_code == 404
    for direction in ("into_this", "into_other"):
        response = client.post(
            f"/records/{mine}/merge", data={"other": str(theirs), "direction": direction}
        )
        assert response.status_code == 404
    assert client.post(f"/records/{theirs}/merge", data={"other": str(mine)}).status_code == 404


def test_a_refused_merge_says_why_in_the_users_language(app: Flask) -> None:
    service = app_services(app)
    one = feedback(service)
    client = signed_in(app, "li")
    page = client.post(f"/records/{one}/merge", data={"other": str(one), "direction": "into_this"})
    assert page.status_code == 422
    assert "不能合并到它自己" in page.get_data(as_text=True)
    page = client.post(f"/records/{one}/merge", data={"other": "#987654", "direction": "into_this"})
    assert page.status_code == 404
    assert "没有编号为 #987654 的记录" in page.get_data(as_text=True)
    assert 'value="#987654"' in page.get_data(as_text=True)  # what was typed stays
    client.post("/me/language", data={"locale": "en"})
    page = client.post(f"/records/{one}/merge", data={"other": "x", "direction": "into_this"})
    assert page.status_code == 422
    assert "Enter a record number" in page.get_data(as_text=True)


def test_a_merge_from_a_stale_page_is_refused_and_keeps_what_was_typed(app: Flask) -> None:
    service = app_services(app)
    survivor, duplicate = feedback(service), feedback(service)
    client = signed_in(app, "li")
    seen = row_version(app, survivor)
    service.note(survivor, "同事刚补充了情况", actor="zhao")  # the record moves on meanwhile
    service.transition(survivor, "accept", {"category": "other", "priority": "P2"}, actor="zhao")
    typed = {"other": str(duplicate), "direction": "into_other", "row_version": seen}
    page = client.post(f"/records/{survivor}/merge", data=typed)
    assert page.status_code == 409
    text = page.get_data(as_text=True)
    assert "您填写的内容已保留" in text
    assert f'value="{duplicate}"' in text and 'value="into_other" checked' in text
    with app_services(app).session_factory() as session:
        assert session.get_one(Record, duplicate).is_open


def test_the_api_merges_once_for_a_retried_key_and_documents_the_route(app: Flask) -> None:
    service = app_services(app)
    survivor, duplicate = feedback(service), feedback(service)
    with service.uow() as uow:
        _token, plain = tokens.issue(uow.session, "crm", ["write", "read"], service.clock.now())
        uow.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {plain}", "Idempotency-Key": "merge-1"}
    first = client.post(
        f"/api/v1/records/{duplicate}/merge", json={"into": survivor}, headers=headers
    )
    assert first.status_code == 200, first.get_data(as_text=True)
    body = first.get_json()
    assert (body["merged"], body["into"], body["record"]["id"]) == (duplicate, survivor, survivor)
    again = client.post(
        f"/api/v1/records/{duplicate}/merge", json={"into": survivor}, headers=headers
    )
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == body
    refused = client.post(
        f"/api/v1/records/{survivor}/merge",
        json={"into": survivor},
        headers={"Authorization": f"Bearer {plain}"},
    )
    assert refused.status_code == 422
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "post" in spec["paths"]["/api/v1/records/{record_id}/merge"]
