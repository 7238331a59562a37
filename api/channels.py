"""`/api/v1/channels/{channel}/…`: where the team's SMS, WeChat and chat gateways push what
customers wrote and what became of our replies (issue #20, R-1.1).

A gateway has no API token: it signs each body with the shared `CARELOOP_GATEWAY_SECRET`
exactly as Careloop signs what it sends the gateway (`X-Careloop-Signature: t=…,v1=…`), so
one recipe serves both ways. A missing, wrong or stale signature (over 5 minutes off, a
replay) answers 401; a channel without a gateway in `CARELOOP_GATEWAYS` answers 404.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, request
from flask.views import MethodView

from api import channelschemas as schemas
from api.problems import problem
from api.views import blp
from engine.conversation.gatewayintake import GatewayMessage
from ops.settings import Settings
from schedules.senders import sign
from web import current_services as services

View = TypeVar("View", bound=Callable[..., Any])
MAX_SKEW = 300  # seconds a signature's time may be off ours
SIGNED: list[dict[str, list[str]]] = [{"gatewaySignature": []}]
EXTENSION = "careloop.gateways"


@dataclass(frozen=True)
class Gateways:
    """The channels with a gateway, and the secret both directions are signed with."""

    channels: frozenset[str]
    secret: bytes


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions[EXTENSION] = Gateways(
        frozenset(channel for channel, _url in settings.gateways),
        settings.gateway_secret.encode(),
    )


def gateway_signed(view: View) -> View:
    """Refuse a request without the gateway's signature over this body, made within the last
    5 minutes (401), or for a channel without a gateway (404)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        gateways: Gateways = current_app.extensions[EXTENSION]
        channel = kwargs["channel"]
        if not gateways.secret:
            return problem(404, "Not Found", "no gateway is set up (CARELOOP_GATEWAYS)")
        refused = _refusal(gateways.secret, request.headers.get("X-Careloop-Signature", ""))
        if refused is not None:  # checked first: a stranger learns nothing of our channels
            return problem(401, "Unauthorized", refused)
        if channel not in gateways.channels:
            return problem(404, "Not Found", f"no gateway is set up for channel '{channel}'")
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _refusal(secret: bytes, header: str) -> str | None:
    """Why the signature does not hold, or None when it does."""
    parts = dict(part.partition("=")[::2] for part in header.split(",") if "=" in part)
    if not parts.get("t", "").isdigit() or not parts.get("v1"):
        return "send X-Careloop-Signature: t=<unix time>,v1=<HMAC-SHA256 hex> (docs/channels.md)"
    timestamp = int(parts["t"])
    if abs(services().clock.now().timestamp() - timestamp) > MAX_SKEW:
        return "the signature's time is more than 5 minutes off: sign each request anew"
    expected = sign(secret, request.get_data(), timestamp)
    if not hmac.compare_digest(expected, f"t={timestamp},v1={parts['v1']}"):
        return "the signature does not match the body: check CARELOOP_GATEWAY_SECRET"
    return None


@blp.route("/channels/<string:channel>/messages")
class ChannelMessages(MethodView):
    @blp.doc(security=SIGNED)
    @blp.alt_response(401, description="No valid signature of this body from the last 5 minutes.")
    @blp.alt_response(404, description="No gateway for this channel (or no such pack).")
    @gateway_signed
    @blp.arguments(schemas.ChannelQuery, location="query", as_kwargs=True)
    @blp.arguments(schemas.ChannelMessageIn)
    @blp.response(201, schemas.ChannelMessageOut)
    @blp.alt_response(200, schema=schemas.ChannelMessageOut, description="Taken before")
    def post(self, data: dict[str, Any], channel: str, pack: str) -> Any:
        """A customer's SMS, WeChat or chat message: joins the record its text names
        (`CL-123`, from that record's customer), else the sender's open record, else opens one
        as the pack's `intake.<channel>` says."""
        message = GatewayMessage(data["id"], data["sender"], data["text"], data.get("received_at"))
        outcome = services().take_gateway_message(pack, channel, message)
        body = {
            "action": outcome.action,
            "record_id": outcome.record_id,
            "message_id": outcome.message_id,
        }
        return body, 200 if outcome.action == "duplicate" else 201


@blp.route("/channels/<string:channel>/receipts")
class ChannelReceipts(MethodView):
    @blp.doc(security=SIGNED)
    @blp.alt_response(401, description="No valid signature of this body from the last 5 minutes.")
    @blp.alt_response(404, description="No gateway for this channel (or no such pack).")
    @gateway_signed
    @blp.arguments(schemas.ReceiptIn)
    @blp.response(200, schemas.ReceiptOut)
    def post(self, data: dict[str, Any], channel: str) -> dict[str, Any]:
        """What became of a reply: delivered to the customer, or failed (with the reason,
        shown on the thread; Careloop does not try again)."""
        services().take_receipt(channel, data["id"], data["status"], data.get("reason"))
        return {"id": data["id"], "state": data["status"]}
