"""The customer's chat box under `/help/<pack>/chat` (issue #23 item 4, S0 7×24).

No account: anyone may ask. The page is one template and `web/static/chat.js`; the box talks
to three JSON endpoints, each CSRF-protected like every form (the page carries the token, the
script sends it as `X-CSRFToken`): `ask` (an answer), `vote` (an article helped or not) and
`handover` (a record for a person, with the chat so far). A bad input is a 4xx with a message
in the customer's language; the box never leaves them without a way to a person.

The views live on the portal's blueprint (`portal.theme`), in the shop's frame; the pack must
offer both a portal and `instant_answers`. Each address may ask, vote and hand over as often as
a person types (`CHAT_PER_ADDRESS`), counted across processes like the portal's forms.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, current_app, jsonify, render_template, request
from flask_babel import gettext as _

from engine.access.ratelimit import Limit
from engine.delivery.outbound import OutboundPolicy
from engine.errors import InvalidInput, NotFound
from engine.selfservice.handover import Handover, Turn
from engine.specs.pack import PackSpec
from portal.chatreply import present, said_by_box, sign
from portal.theme import bp
from portal.theme import pack as portal_pack
from web import current_services as services
from web.ratelimit import limited

CHAT_PER_ADDRESS = Limit("chat.ip", 30, timedelta(minutes=1))


def _spec() -> PackSpec:
    """The portal's pack when it offers a chat box; the portal's 404 page otherwise."""
    spec = portal_pack()
    if spec.instant_answers is None:
        abort(404)
    return spec


def _refused(status: int, message: str) -> Any:
    return jsonify({"error": message}), status


def _json() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        response = jsonify({"error": _("请求格式不正确，请刷新页面后重试。")})
        response.status_code = 400
        abort(response)
    return body


@bp.get("/chat")
def chat_page() -> Any:
    """The chat box, mobile first, in the customer's language and the shop's frame."""
    _spec()
    return render_template("portal/chat.html", title=_("在线客服"))


@bp.post("/chat/ask")
@limited(CHAT_PER_ADDRESS)
def chat_ask() -> Any:
    """One question: articles, an order's status, or "no answer" with a person on offer."""
    spec = _spec()
    pack = spec.name
    question = _json().get("question")
    if not isinstance(question, str) or not question.strip():
        return _refused(422, _("请输入您的问题。"))
    policy = OutboundPolicy.allowing(current_app.config["OUTBOUND_ALLOW"])
    try:
        reply = services().chat_answer(pack, question, policy=policy)
    except InvalidInput:
        return _refused(422, _("问题太长或包含无法识别的字符，请精简后重试。"))
    return jsonify(present(spec, reply))


@bp.post("/chat/vote")
@limited(CHAT_PER_ADDRESS)
def chat_vote() -> Any:
    """The customer says an article helped (answered without a record) or did not."""
    pack = _spec().name
    body = _json()
    article, question, helpful = body.get("article_id"), body.get("question"), body.get("helpful")
    if not isinstance(article, int) or not isinstance(question, str) or type(helpful) is not bool:
        return _refused(422, _("请求格式不正确，请刷新页面后重试。"))
    try:
        services().chat_vote(pack, article, question, helpful=helpful)
    except NotFound:
        return _refused(404, _("这篇文章已不存在。"))
    except InvalidInput:
        return _refused(422, _("请求格式不正确，请刷新页面后重试。"))
    said = _("很高兴能帮到您！") if helpful else _("抱歉没能帮到您。您可以换个问法，或转人工客服。")
    return jsonify({"thanks": _("感谢您的反馈！"), "text": said, "sig": sign(said)})


@bp.post("/chat/handover")
@limited(CHAT_PER_ADDRESS)
def chat_handover() -> Any:
    """A person takes over: a record with the chat attached, the reference shown to the
    customer. The same chat handed over twice is the same record (its id is the key)."""
    pack = _spec().name
    chat = _handover(_json())
    if chat is None:
        return _refused(422, _("请求格式不正确，请刷新页面后重试。"))
    try:
        record, _made = services().chat_hand_over(pack, chat)
    except InvalidInput as exc:
        if "contact" in exc.fields:
            return _refused(422, _("请留下手机号或邮箱，方便客服联系您。"))
        return _refused(422, _("对话内容过长或格式不正确，请精简后重试。"))
    return jsonify(
        {
            "record_id": record.id,
            "text": _(
                "已为您转接人工客服，服务单号 %(id)s。客服会通过您留下的联系方式与您联系。",
                id=record.id,
            ),
        }
    )


def _handover(body: dict[str, Any]) -> Handover | None:
    """The JSON body as a Handover, or None when a part has the wrong type; the box's lines
    only where their signature holds."""
    turns = body.get("turns")
    parts = (body.get("chat_id"), body.get("contact"), body.get("name", ""))
    if not all(isinstance(p, str) for p in parts) or not isinstance(turns, list):
        return None
    made = []
    for turn in turns[:100]:  # the engine refuses more than its own bound, after this cap
        if not isinstance(turn, dict):
            return None
        who, text = turn.get("who"), turn.get("text")
        if who not in ("customer", "bot") or not isinstance(text, str):
            return None
        if who == "bot" and not said_by_box(text, turn.get("sig")):
            continue  # a line the box never said is not filed as its answer
        made.append(Turn(who, text))
    chat_id, contact, name = (str(p) for p in parts)
    return Handover(chat_id, contact, name, made)
