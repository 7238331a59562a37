"""The dashboard's self-service panel (issue #23 item 6): a chat vote and a hand-over show up as
figures, in the top-articles and top-questions tables, in Chinese and in English."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from engine.selfservice.handover import Handover, Turn
from engine.store.models import Article
from tests.integration.test_dashboard import app, csrf, signed_in  # noqa: F401
from tests.selfservice_seed import PHONE, seed_shop
from wsgi import services


def test_supervisors_see_answered_handed_over_and_votes_per_article_and_question(
    app: Flask,  # noqa: F811
) -> None:
    service = services(app)
    seed_shop(service)
    with service.uow() as uow:
        refund = uow.session.scalar(select(Article.id).where(Article.title == "如何申请退款"))
    assert refund is not None
    service.chat_vote("after_sales", refund, "退款多久能到账", helpful=True)
    service.chat_vote("after_sales", refund, "退款多久能到账", helpful=True)
    service.chat_vote("after_sales", refund, "退款要多久", helpful=False)
    service.chat_hand_over(
        "after_sales",
        Handover("chat-dashboard01", PHONE, "", [Turn("customer", "洗碗机门关不上")]),
    )
    client = signed_in(app, "zhang")
    body = client.get("/dashboard?period=7d").get_data(as_text=True)
    panel = body[body.index('id="selfservice"') :]
    assert "自助服务" in panel
    for figure, value in (("answered", 2), ("handed-over", 1), ("helpful", 2), ("unhelpful", 1)):
        assert f'id="ss-{figure}"' in panel
        shown = panel.split(f'id="ss-{figure}"', 1)[1].split("</strong>", 1)[0]
        assert shown.endswith(f"<strong>{value}"), (figure, shown)
    articles = panel.split('id="ss-articles"', 1)[1].split("</table>", 1)[0]
    assert "<td>如何申请退款</td><td>2</td><td>2</td><td>1</td>" in articles
    questions = panel.split('id="ss-questions"', 1)[1].split("</table>", 1)[0]
    assert "<td>退款多久能到账</td><td>4</td><td>2</td><td>0</td>" in questions
    assert "<td>洗碗机门关不上</td><td>1</td><td>0</td><td>1</td>" in questions

    token = csrf(client, "/dashboard")
    assert (
        client.post("/me/language", data={"locale": "en", "csrf_token": token}).status_code == 302
    )
    text = client.get("/dashboard?period=7d").get_data(as_text=True)
    panel = text[text.index('id="selfservice"') : text.index('id="open-warnings"')]
    panel = panel.split('id="targets"', 1)[0]
    for words in ("Self-service", "Answered without a record", "Top self-service articles"):
        assert words in panel
    assert "自助" not in panel and "转人工" not in panel
