"""The shapes a gateway (SMS, WeChat, a chat widget) sends and gets back (issue #20)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.schemas import NAME, Strict


class ChannelQuery(Strict):
    pack = ma.fields.String(
        required=True,
        validate=NAME,
        metadata={
            "description": "The pack whose records the channel's messages join or open; put "
            "it in the URL the gateway is given.",
            "example": "after_sales",
        },
    )


class ChannelMessageIn(Strict):
    id = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=128),
        metadata={"description": "The gateway's own message id: a repeat is taken once."},
    )
    sender = ma.fields.String(
        data_key="from",
        required=True,
        validate=validate.Length(min=1, max=128),
        metadata={
            "description": "Who wrote: a phone number for SMS, the user's id (openid) for "
            "WeChat or a chat; matched to the customer's contact.",
            "example": "+86 138 0013 8000",
        },
    )
    text = ma.fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    received_at = ma.fields.AwareDateTime(
        allow_none=True,
        metadata={
            "description": "When the gateway received it (ISO 8601 with offset); a new "
            "record's SLA clocks start here when it lies within the last 7 days."
        },
    )


class ChannelMessageOut(ma.Schema):
    action = ma.fields.String(
        metadata={"description": "created (a new record), joined (an open one) or duplicate"}
    )
    record_id = ma.fields.Integer()
    message_id = ma.fields.Integer(metadata={"description": "The message on the record's thread"})


class ReceiptIn(Strict):
    id = ma.fields.String(
        required=True,
        validate=validate.Regexp(r"^careloop-outbox-[0-9]{1,18}$"),
        metadata={"description": "The `id` Careloop sent the message with."},
    )
    status = ma.fields.String(required=True, validate=validate.OneOf(["delivered", "failed"]))
    reason = ma.fields.String(
        validate=validate.Length(max=500),
        allow_none=True,
        metadata={"description": "Why it failed, as the carrier says; shown on the thread."},
    )


class ReceiptOut(ma.Schema):
    id = ma.fields.String()
    state = ma.fields.String(metadata={"description": "delivered or failed"})
