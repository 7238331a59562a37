"""What the API shows of the loyalty programme in a customer's view (R-5.4)."""

from __future__ import annotations

import marshmallow as ma


class LoyaltyOut(ma.Schema):
    points = ma.fields.Integer(metadata={"description": "Unexpired points."})
    level = ma.fields.String(allow_none=True)


class LedgerEntryOut(ma.Schema):
    pack = ma.fields.String()
    points = ma.fields.Integer()
    reason = ma.fields.String(metadata={"description": "order, answer or referral."})
    source_ref = ma.fields.String()
    at = ma.fields.AwareDateTime()
    expires_at = ma.fields.AwareDateTime(allow_none=True)
