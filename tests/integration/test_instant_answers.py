"""The chat box's engine (issue #23 item 4, S0 7×24): order status for whoever gives the order
number and the phone on file, the pack's order lookup webhook, knowledge-base answers, votes, and
the hand-over that makes a record with the chat attached. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from engine.conversation import thread
from engine.delivery.outbound import OutboundPolicy
from engine.errors import InvalidInput, NotFound
from engine.records.versions import PackSource
from engine.selfservice.handover import Handover, Turn
from engine.services import Services
from engine.store.models import Article, Record, SelfServiceOutcome, ThreadMessage
from tests.selfservice_seed import PHONE, PLACED, SHIPPED, seed_shop, with_order_lookup

STRICT = OutboundPolicy()
LOCAL = OutboundPolicy.allowing(["127.0.0.1"])  # the test's own order system, allowed by name


@pytest.fixture
def shop(services: Services) -> Services:
    seed_shop(services)
    return services


def ask(services: Services, question: str, policy: OutboundPolicy = STRICT) -> Any:
    return services.chat_answer("after_sales", question, policy=policy)


def outcomes(services: Services) -> list[tuple[Any, ...]]:
    with services.uow() as uow:
        rows = uow.session.scalars(select(SelfServiceOutcome).order_by(SelfServiceOutcome.id))
        return [(r.kind, r.source, r.pack, r.article_id, r.query, r.record_id) for r in rows]


def test_the_order_number_and_the_phone_on_file_tell_the_orders_status(shop: Services) -> None:
    shipped = ask(shop, f"我的订单 {SHIPPED} 到哪了？手机 138-1234-5678")
    assert shipped.kind == "order" and shipped.order.state == "shipped"
    assert shipped.order.order == SHIPPED and shipped.order.shipped_at is not None
    placed = ask(shop, f"{PHONE} 订单{PLACED}")
    assert placed.kind == "order" and placed.order.state == "placed"
    assert placed.order.shipped_at is None


@pytest.mark.parametrize(
    "question",
    [f"订单 {SHIPPED} 手机 13900000000", f"订单 SO20990101999 手机 {PHONE}"],
    ids=["wrong phone", "unknown order"],
)
def test_a_wrong_phone_and_an_unknown_order_get_the_same_answer(
    shop: Services, question: str
) -> None:
    """Nobody learns that an order exists by trying phones against its number."""
    reply = ask(shop, question)
    assert (reply.kind, reply.order, reply.articles) == ("order_not_found", None, ())


def test_half_an_order_query_asks_for_the_other_half_and_a_question_gets_articles(
    shop: Services,
) -> None:
    assert ask(shop, f"订单 {SHIPPED} 到哪了").kind == "order_incomplete"
    assert ask(shop, f"我的手机是 {PHONE}").kind == "order_incomplete"
    articles = ask(shop, "快递一直没到")
    assert articles.kind == "articles"
    assert articles.articles[0].title == "物流延迟怎么办" and len(articles.articles) <= 3
    assert ask(shop, "量子纠缠怎么配置").kind == "no_answer"


class OrderSystem(BaseHTTPRequestHandler):
    """The pack's order lookup: knows RT-style order 'EXT1234567' for phone 13700000000."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        OrderSystem.received.append(body)
        known = body == {"order": "EXT1234567", "phone": "13700000000"}
        answer = {"found": True, "status": "已出库，顺丰运输中"} if known else {"found": False}
        data = json.dumps(answer, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        """Quiet: the test reads the requests."""


@pytest.fixture
def order_system() -> Iterator[str]:
    OrderSystem.received = []
    server = HTTPServer(("127.0.0.1", 0), OrderSystem)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/orders/status"
    finally:
        server.shutdown()
        server.server_close()


def test_an_order_careloop_does_not_hold_is_asked_of_the_packs_lookup_webhook(
    shop: Services, after_sales: PackSource, order_system: str
) -> None:
    shop.publish(with_order_lookup(after_sales, order_system), by="ops")
    found = ask(shop, "订单 EXT1234567 手机 13700000000", LOCAL)
    assert found.kind == "order" and found.order.state == "reported"
    assert found.order.text == "已出库，顺丰运输中"
    missing = ask(shop, "订单 EXT7654321 手机 13700000000", LOCAL)
    assert missing.kind == "order_not_found"
    held = ask(shop, f"订单 {SHIPPED} 手机 {PHONE}", LOCAL)  # Careloop's own order: not asked
    assert held.kind == "order"
    assert [r["order"] for r in OrderSystem.received] == ["EXT1234567", "EXT7654321"]


def test_the_lookup_webhook_is_refused_on_loopback_unless_allowed_by_name(
    shop: Services, after_sales: PackSource, order_system: str
) -> None:
    shop.publish(with_order_lookup(after_sales, order_system), by="ops")
    reply = ask(shop, "订单 EXT1234567 手机 13700000000", STRICT)
    assert reply.kind == "order_not_found"
    assert OrderSystem.received == []


def chat(*lines: str) -> list[Turn]:
    return [Turn("customer" if i % 2 == 0 else "bot", line) for i, line in enumerate(lines)]


def test_a_hand_over_creates_a_record_whose_thread_holds_the_chat(shop: Services) -> None:
    turns = chat("洗碗机门关不上", "没有找到相关答案，可以转人工。", "门卡扣好像断了")
    record, made = shop.chat_hand_over(
        "after_sales", Handover("chat-0001abcd", PHONE, "王芳", turns)
    )
    assert made
    again, made_again = shop.chat_hand_over(
        "after_sales", Handover("chat-0001abcd", PHONE, "王芳", turns)
    )
    assert (again.id, made_again) == (record.id, False)
    with shop.uow() as uow:
        saved = uow.session.get(Record, record.id)
        assert saved is not None
        assert (saved.channel, saved.record_type, saved.stage) == (
            "online_chat",
            "feedback",
            "pending",
        )
        assert saved.fields["customer_no"] == "C-88"  # found by the phone's lookup hash
        assert "洗碗机门关不上" in saved.fields["description"]
        lines = [
            (e.message.direction, e.message.body) for e in thread.thread_of(uow.session, record.id)
        ]
    assert lines == [
        ("in", "洗碗机门关不上"),
        ("note", "自助回答：没有找到相关答案，可以转人工。"),
        ("in", "门卡扣好像断了"),
    ]
    assert outcomes(shop) == [
        ("handed_over", "chat", "after_sales", None, "门卡扣好像断了", record.id)
    ]


def test_a_hand_over_out_of_bounds_names_each_problem_and_stores_nothing(shop: Services) -> None:
    with pytest.raises(InvalidInput) as refused:
        shop.chat_hand_over("after_sales", Handover("x", " ", "", chat()))
    assert set(refused.value.fields) == {"chat_id", "contact", "turns"}
    with shop.uow() as uow:
        assert uow.session.scalars(select(ThreadMessage)).first() is None
        assert uow.session.scalars(select(Record)).first() is None


def test_votes_count_an_answer_without_a_record_and_an_unhelpful_one(shop: Services) -> None:
    with shop.uow() as uow:
        article_id = uow.session.scalar(select(Article.id).where(Article.title == "如何申请退款"))
    assert article_id is not None
    shop.chat_vote("after_sales", article_id, "退款多久能到账", helpful=True)
    shop.chat_vote("after_sales", article_id, "退款 13812345678", helpful=False)
    assert outcomes(shop) == [
        ("answered", "chat", "after_sales", article_id, "退款多久能到账", None),
        ("helpful", "chat", "after_sales", article_id, "退款多久能到账", None),
        ("unhelpful", "chat", "after_sales", article_id, "退款 #", None),
    ]
    with pytest.raises(NotFound):
        shop.chat_vote("after_sales", 2**31 - 1, "退款", helpful=True)
    with pytest.raises(InvalidInput):
        ask(shop, "x" * 501)
