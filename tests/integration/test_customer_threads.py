"""The customer's 360° view shows every thread (issue #20), through the test client.

Each of the customer's records with its messages, newest record first: who wrote (the
customer masked), when, the text, the delivery state in words, notes marked internal; all
threads in one query, so the page costs the same statements for 1 record as for 5.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from engine.records.versions import PackSource
from tests.integration.test_desk import create, make_app, signed_in
from tests.integration.test_desk_thread import ADDRESS, by_email
from wsgi import services


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Iterator[Flask]:
    yield make_app(tmp_path, after_sales, WTF_CSRF_ENABLED=False)


def threads(page: str) -> dict[int, str]:
    """Each record's thread on the customer page, by record id, in page order."""
    section = re.search(r'<section class="card" id="threads">(.*?)</section>', page, re.S)
    assert section is not None, "the customer page shows no threads"
    found = re.findall(
        r'<article class="record-thread" id="thread-(\d+)">(.*?)</article>', section.group(1), re.S
    )
    return {int(record_id): html for record_id, html in found}


def test_the_customer_view_shows_each_records_thread_newest_record_first(app: Flask) -> None:
    svc = services(app)
    first, second = by_email(app), by_email(app)
    svc.receive(first, "洗衣机还是漏水", channel="email", author=ADDRESS, subject="漏水")
    svc.reply(first, "工程师明早上门。", channel="email", actor="li")
    svc.note(first, "客户上次投诉过，注意语气。", actor="li")
    svc.reply(second, "已电话告知处理进度。", channel="phone", actor="li")

    page = signed_in(app, "li").get("/customers/C-7").get_data(as_text=True)

    shown = threads(page)
    assert list(shown) == [second, first]  # newest record first
    older = shown[first]
    assert older.index("洗衣机还是漏水") < older.index("工程师明早上门。")  # oldest message first
    assert 'class="msg msg-in" data-state="received"' in older
    assert "客户 · w***@example.com" in older  # masked as the record page masks it
    assert ADDRESS not in page  # the customer's address only masked
    assert 'class="msg msg-out" data-state="queued"' in older and "已排队" in older
    assert 'class="msg msg-note" data-state="internal"' in older
    assert "内部备注 · 不会发给客户" in older and "客户上次投诉过，注意语气。" in older
    assert "已记录（电话等）" in shown[second] and "已电话告知处理进度。" in shown[second]
    assert ">li<" in shown[second]


def test_a_record_without_messages_says_so(app: Flask) -> None:
    create(app, "C-9")
    page = signed_in(app, "li").get("/customers/C-9").get_data(as_text=True)
    (thread,) = threads(page).values()
    assert "还没有消息。" in thread


def test_the_customer_view_reads_in_english(app: Flask) -> None:
    record_id = by_email(app)
    services(app).note(record_id, "careful", actor="li")
    client = signed_in(app, "li")
    client.post("/me/language", data={"locale": "en"})
    page = client.get("/customers/C-7").get_data(as_text=True)
    assert "All conversations" in page and f"Record #{record_id}" in page
    assert "全部沟通记录" not in page and "内部备注" not in page


def test_a_thread_of_a_record_the_agent_may_not_see_is_not_shown(app: Flask) -> None:
    hidden = create(app, "C-9")
    services(app).note(hidden, "仅培训组可见", actor="li")
    services(app).transition(
        hidden, "accept", {"category": "service", "priority": "P2"}, actor="other"
    )  # routed to training: not the rnd team's
    page = signed_in(app, "wang").get("/customers/C-9").get_data(as_text=True)
    assert threads(page) == {} and "仅培训组可见" not in page
    assert "仅培训组可见" in signed_in(app, "zhao").get("/customers/C-9").get_data(as_text=True)


def test_the_customer_view_costs_the_same_statements_for_1_record_as_for_5(
    app: Flask,
) -> None:
    svc = services(app)
    client = signed_in(app, "zhao")
    bind = svc.session_factory.kw["bind"]
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    counts: list[int] = []
    for batch in (1, 4):  # 1 record, then 5
        for _ in range(batch):
            record_id = by_email(app)
            svc.receive(record_id, "还是漏水", channel="email", author=ADDRESS)
            svc.reply(record_id, "马上处理。", channel="email", actor="li")
            svc.note(record_id, "内部", actor="li")
        statements.clear()
        event.listen(bind, "before_cursor_execute", count)
        page = client.get("/customers/C-7").get_data(as_text=True)
        event.remove(bind, "before_cursor_execute", count)
        assert len(threads(page)) == len(counts) * 4 + 1
        counts.append(len(statements))
    # The same count for 1 record as for 5 (no query per record); 18 with the staff's names and
    # the loyalty card (its balance and its ledger, R-5.4).
    assert counts[0] == counts[1] and counts[0] <= 18, counts
