"""What the chat box says, in the customer's language: an engine `Reply` as JSON for chat.js.

Each line the box says comes with a signature (the app's secret): the browser keeps the chat
and sends it back on a hand-over, and only lines the box really said are filed as its answers,
so nobody can put words in the box's mouth on an agent's screen.

Text is made here, with `_()`, so the same reply reads in Chinese or English; the articles carry
the search's snippet (escaped HTML, only `<mark>` as markup) and the article rendered by the one
Markdown renderer the API uses, so the box shows nothing the API would not.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from engine.selfservice.instant import Reply
from engine.selfservice.orders import OrderStatus
from engine.specs.pack import PackSpec
from engine.store.models import Article
from web import current_services as services
from web.markdown import render


def _(text: str, **values: Any) -> str:
    """gettext, typed: Flask-Babel's own returns Any."""
    return str(gettext(text, **values))


# Whether the box offers a person right under the answer (it always can, from its footer).
OFFERS_PERSON = {"order_not_found", "no_answer"}


def present(spec: PackSpec, reply: Reply) -> dict[str, Any]:
    """The reply as chat.js shows it: `text`, maybe `articles`, and whether to offer a person."""
    text = _text(spec, reply)
    return {
        "kind": reply.kind,
        "text": text,
        "sig": sign(text),
        "offer_person": reply.kind in OFFERS_PERSON,
        "articles": _articles(reply) if reply.articles else [],
    }


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="careloop-chat-box")


def sign(text: str) -> str:
    """The signature of a line the box says."""
    return str(_signer().dumps(text))


def said_by_box(text: str, sig: object) -> bool:
    """Whether the box said this line (its signature holds), not the browser alone."""
    if not isinstance(sig, str):
        return False
    try:
        return bool(_signer().loads(sig) == text)
    except BadSignature:
        return False


def _text(spec: PackSpec, reply: Reply) -> str:
    if reply.kind == "order" and reply.order is not None:
        return order_text(spec, reply.order)
    if reply.kind == "order_not_found":
        return _("没有找到与该订单号和手机号相符的订单。请核对后再试，或转人工客服为您查询。")
    if reply.kind == "order_incomplete":
        return _("查询订单需要订单号和下单时留的手机号，请把缺少的一项发给我。")
    if reply.kind == "articles":
        return _("以下内容可能解答您的问题：")
    return _("抱歉，我没有找到答案。您可以转人工客服，我们会附上这段对话。")


def order_text(spec: PackSpec, order: OrderStatus) -> str:
    """Shipped (when, in the pack's zone), placed and not shipped, or the order system's words."""
    if order.state == "shipped":
        return _(
            "订单 %(order)s 已于 %(time)s 发货。",
            order=order.order,
            time=spec.local_minute(order.shipped_at),
        )
    if order.state == "placed":
        return _(
            "订单 %(order)s 已于 %(time)s 下单，尚未发货。",
            order=order.order,
            time=spec.local_minute(order.ordered_at),
        )
    return _("订单 %(order)s 的状态：%(status)s", order=order.order, status=order.text or "")


def _articles(reply: Reply) -> list[dict[str, Any]]:
    """The hits still published, in the search's order, each with its rendered body."""
    ids = [hit.ref_id for hit in reply.articles]
    with services().uow() as uow:
        found = {
            a.id: a
            for a in uow.session.scalars(
                select(Article).where(Article.id.in_(ids), Article.status == "published")
            )
        }
        return [
            {
                "id": hit.ref_id,
                "title": found[hit.ref_id].title,
                "title_sig": sign(found[hit.ref_id].title),
                "snippet": hit.snippet,
                "body_html": str(render(found[hit.ref_id].body)),
            }
            for hit in reply.articles
            if hit.ref_id in found
        ]
