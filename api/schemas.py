"""The API's request and response shapes; the OpenAPI description is generated from them."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.loyalty_schemas import LedgerEntryOut, LoyaltyOut
from engine.bounds import MAX_ID
from engine.delivery.webhooks import EVENT_TYPES

NAME = validate.Length(min=1, max=128)


class Strict(ma.Schema):
    """Unknown keys are errors, not silently dropped: a typo must not lose data."""

    class Meta:
        unknown = ma.RAISE


class FieldError(ma.Schema):
    path = ma.fields.String(metadata={"description": "JSON pointer into the request body"})
    message = ma.fields.String()


class Problem(ma.Schema):
    """RFC 9457 problem details, with the path of each field error."""

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(FieldError))


class RecordCreate(Strict):
    pack = ma.fields.String(required=True, validate=NAME, metadata={"example": "after_sales"})
    type = ma.fields.String(required=True, validate=NAME, metadata={"example": "feedback"})
    # Named apart from Schema.fields (marshmallow's own map of a schema's fields); "fields" outside.
    record_fields = ma.fields.Dict(
        data_key="fields",
        attribute="fields",
        keys=ma.fields.String(validate=NAME),
        load_default=dict,
        metadata={"description": "Values of the record type's fields, checked against the pack."},
    )
    channel = ma.fields.String(validate=NAME, allow_none=True)
    category = ma.fields.String(validate=NAME, allow_none=True)
    priority = ma.fields.String(validate=NAME, allow_none=True)
    assignee = ma.fields.String(validate=NAME, allow_none=True)
    received_at = ma.fields.AwareDateTime(
        allow_none=True,
        metadata={
            "description": "When the channel received it (ISO 8601 with offset; default "
            "now; never in the future). SLA clocks start here."
        },
    )
    external_id = ma.fields.String(
        validate=NAME,
        allow_none=True,
        metadata={
            "description": "The channel's own message id; a repeat returns the first record."
        },
    )


class ClockOut(ma.Schema):
    target = ma.fields.String()
    term = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "The SLA term that set the target's time (R-2.5), e.g. by channel."
        },
    )
    deadline = ma.fields.AwareDateTime(allow_none=True)
    warning_at = ma.fields.AwareDateTime(allow_none=True)
    met_at = ma.fields.AwareDateTime(allow_none=True)
    breached_at = ma.fields.AwareDateTime(allow_none=True)
    paused = ma.fields.Boolean()


class RecordOut(ma.Schema):
    id = ma.fields.Integer()
    pack = ma.fields.String()
    pack_version = ma.fields.Integer()
    record_type = ma.fields.String()
    stage = ma.fields.String()
    stage_kind = ma.fields.String()
    is_open = ma.fields.Boolean()
    priority = ma.fields.String()
    channel = ma.fields.String(allow_none=True)
    category = ma.fields.String(allow_none=True)
    department = ma.fields.String(allow_none=True)
    assignee = ma.fields.String(allow_none=True)
    customer = ma.fields.String(allow_none=True)
    external_id = ma.fields.String(allow_none=True)
    # Named apart from Schema.fields (marshmallow's own map of a schema's fields); "fields" outside.
    record_fields = ma.fields.Dict(
        data_key="fields",
        attribute="fields",
        metadata={"description": "Personal fields are masked without the `personal` scope."},
    )
    received_at = ma.fields.AwareDateTime()
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()
    closed_at = ma.fields.AwareDateTime(allow_none=True)
    row_version = ma.fields.Integer()
    sla = ma.fields.List(ma.fields.Nested(ClockOut))
    tags = ma.fields.List(ma.fields.String(), metadata={"description": "Its tags, A–Z."})
    followers = ma.fields.List(
        ma.fields.String(), metadata={"description": "Usernames of staff told of its changes."}
    )


class RecordPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RecordOut))
    next_cursor = ma.fields.String(allow_none=True)


class RecordQuery(Strict):
    pack = ma.fields.String(validate=NAME)
    type = ma.fields.String(validate=NAME)
    stage = ma.fields.String(validate=NAME)
    open = ma.fields.Boolean()
    priority = ma.fields.String(validate=NAME)
    channel = ma.fields.String(validate=NAME)
    category = ma.fields.String(validate=NAME)
    assignee = ma.fields.String(validate=NAME)
    customer = ma.fields.String(validate=NAME)
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = ma.fields.String(validate=validate.Regexp(r"^[0-9]{1,18}$"))


class TransitionIn(Strict):
    transition = ma.fields.String(required=True, validate=NAME)
    form_fields = ma.fields.Dict(
        data_key="fields",
        attribute="fields",
        keys=ma.fields.String(validate=NAME),
        load_default=dict,
    )
    expected_version = ma.fields.Integer(
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "The row_version you saw; a different one is a 409."},
    )


class NoteIn(Strict):
    kind = ma.fields.String(
        load_default="note", validate=validate.OneOf(["note", "message.in", "message.out"])
    )
    text = ma.fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class NoteOut(ma.Schema):
    record_id = ma.fields.Integer()
    kind = ma.fields.String()


class SubscriptionIn(Strict):
    url = ma.fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    events = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(EVENT_TYPES)),
        required=True,
        validate=validate.Length(min=1, max=len(EVENT_TYPES)),
    )


class SubscriptionOut(ma.Schema):
    id = ma.fields.Integer()
    url = ma.fields.String()
    events = ma.fields.List(ma.fields.String())
    created_at = ma.fields.AwareDateTime()


class SubscriptionCreated(SubscriptionOut):
    secret = ma.fields.String(
        metadata={"description": "Signing secret, returned once, when the subscription is made."}
    )


class CustomerIn(Strict):
    name = ma.fields.String(validate=validate.Length(max=200), allow_none=True)
    contact = ma.fields.String(validate=validate.Length(max=200), allow_none=True)
    tier = ma.fields.String(validate=validate.Length(max=32), allow_none=True)
    dedicated_agent = ma.fields.String(validate=validate.Length(max=128), allow_none=True)
    birthday = ma.fields.Date(
        allow_none=True, metadata={"description": "For birthday care (R-5.3)."}
    )
    timezone = ma.fields.String(
        validate=validate.Length(max=64),
        allow_none=True,
        metadata={"description": "IANA zone; campaigns fire at the customer's local time."},
    )
    since = ma.fields.Date(allow_none=True, metadata={"description": "Customer since (tenure)."})
    preferred_channel = ma.fields.String(
        validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,31}$"),
        allow_none=True,
        metadata={
            "description": "The channel they want answers on (sms, wechat, email…); over the "
            "pack's `answering.by_channel`. Null: the pack decides."
        },
    )
    consent_service = ma.fields.Boolean(metadata={"description": "Service messages allowed."})
    consent_marketing = ma.fields.Boolean(
        metadata={"description": "Marketing messages allowed (R-8.3); false by default."}
    )
    consent_source = ma.fields.String(
        validate=validate.Length(max=64),
        metadata={"description": "Where the consent change came from (shop, app, call)."},
    )
    referred_by = ma.fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={
            "description": "The number of the customer who referred them; the first given "
            "stands (referral rate R-4.4, referral points R-5.4)."
        },
    )


class CustomerOut(ma.Schema):
    number = ma.fields.String()
    name = ma.fields.String(allow_none=True)
    contact = ma.fields.String(allow_none=True)
    contact_failing_at = ma.fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "Since when mail to the contact bounces; null: reachable."},
    )
    contact_failing_reason = ma.fields.String(
        allow_none=True, metadata={"description": "The mail server's words, addresses masked."}
    )
    tier = ma.fields.String(allow_none=True)
    birthday = ma.fields.Date(allow_none=True)
    timezone = ma.fields.String(allow_none=True)
    since = ma.fields.Date(allow_none=True)
    preferred_channel = ma.fields.String(allow_none=True)
    consent_service = ma.fields.Boolean()
    consent_marketing = ma.fields.Boolean()
    consent_at = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class OrderIn(Strict):
    external_id = ma.fields.String(required=True, validate=NAME)
    amount = ma.fields.Float(
        required=True, allow_nan=False, validate=validate.Range(min=0, max=1_000_000_000)
    )
    currency = ma.fields.String(load_default="CNY", validate=validate.Regexp(r"^[A-Z]{3}$"))
    ordered_at = ma.fields.AwareDateTime(required=True)
    shipped_at = ma.fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "When it shipped; may come later by posting the order again."},
    )
    items = ma.fields.List(ma.fields.Dict(), load_default=list, validate=validate.Length(max=500))


class OrderOut(ma.Schema):
    external_id = ma.fields.String()
    amount = ma.fields.Float()
    currency = ma.fields.String()
    ordered_at = ma.fields.AwareDateTime()
    shipped_at = ma.fields.AwareDateTime(allow_none=True)
    items = ma.fields.List(ma.fields.Dict())


class TierOut(ma.Schema):
    tier = ma.fields.String()
    rule = ma.fields.String(allow_none=True)


class CustomerView(ma.Schema):
    customer = ma.fields.Nested(CustomerOut)
    loyalty = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Nested(LoyaltyOut),
        metadata={"description": "Points and level in each pack with a loyalty programme (R-5.4)."},
    )
    ledger = ma.fields.List(
        ma.fields.Nested(LedgerEntryOut),
        metadata={"description": "The newest loyalty ledger entries, every pack."},
    )
    tiers = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Nested(TierOut),
        metadata={"description": "The customer's tier in each pack and the rule that matched."},
    )
    records = ma.fields.List(ma.fields.Nested(RecordOut))
    orders = ma.fields.List(ma.fields.Nested(OrderOut))


class MessageIn(Strict):
    direction = ma.fields.String(
        load_default="out",
        validate=validate.OneOf(["in", "out", "note"]),
        metadata={
            "description": "`out`: a reply to the customer (email goes out through the outbox); "
            "`note`: internal, never sent; `in`: a message the customer sent on a channel "
            "Careloop does not read itself."
        },
    )
    text = ma.fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    channel = ma.fields.String(
        validate=NAME,
        allow_none=True,
        metadata={"description": "Required for `in` and `out`: one of the pack's channels."},
    )
    subject = ma.fields.String(validate=validate.Length(max=300), allow_none=True)
    external_id = ma.fields.String(
        validate=validate.Length(min=1, max=300),
        allow_none=True,
        metadata={"description": "For `in`: the channel's own message id; a repeat is taken once."},
    )


class AttachmentOut(ma.Schema):
    id = ma.fields.Integer()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer(metadata={"description": "bytes"})


class MessageOut(ma.Schema):
    id = ma.fields.Integer()
    record_id = ma.fields.Integer()
    direction = ma.fields.String()
    channel = ma.fields.String(allow_none=True)
    author = ma.fields.String()
    subject = ma.fields.String(allow_none=True)
    text = ma.fields.String(
        allow_none=True,
        metadata={"description": "Only for tokens with the `personal` scope; null otherwise."},
    )
    state = ma.fields.String(
        metadata={
            "description": "received, internal, recorded (a contact made outside Careloop), "
            "queued, sent, delivered (the gateway's receipt says so), failed or bounced"
        }
    )
    error = ma.fields.String(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    attachments = ma.fields.List(
        ma.fields.Nested(AttachmentOut),
        metadata={
            "description": "The files kept with the message; their bytes at "
            "`.../messages/{message_id}/attachments/{attachment_id}` (`personal` scope)."
        },
    )


class MessagePage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MessageOut))


class DeadlineIn(Strict):
    deadline = ma.fields.AwareDateTime(
        required=True,
        metadata={"description": "The new deadline (ISO 8601 with offset), after the current one."},
    )
    reason = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "Why it moves; the customer is told (R-3.2)."},
    )


class DeadlineOut(ma.Schema):
    target = ma.fields.String(metadata={"description": "The SLA target whose deadline moved."})
    old_deadline = ma.fields.AwareDateTime()
    new_deadline = ma.fields.AwareDateTime()
    reason = ma.fields.String()
