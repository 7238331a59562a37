"""`/api/v1/records/{id}/merge`: merge a duplicate into the record that stays (issue #21).

The record in the path is the duplicate: it is closed as merged (`record.transitioned` to
its subscribers, as any closing) and its thread moves to `into`. What may merge is the
engine's rule (`engine.records.merge`): two open records of one pack and record type, of one
customer; otherwise 422, and 409 for a closed or merged record or a stale `expected_version`.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import validate

from api import schemas
from api.auth import current_token, require
from api.idempotent import idempotent
from api.views import SECURITY, _record_response, blp
from web import DB_ID
from web import current_services as services

RECORD_ID = validate.Range(min=1, max=2**63 - 1)


class MergeIn(schemas.Strict):
    into = ma.fields.Integer(
        required=True,
        validate=RECORD_ID,
        metadata={"description": "The record that stays and receives the thread."},
    )
    expected_version = ma.fields.Integer(
        allow_none=True,
        validate=validate.Range(min=1),
        metadata={"description": "The duplicate's row_version you saw; a different one is 409."},
    )


class MergeOut(ma.Schema):
    merged = ma.fields.Integer(metadata={"description": "The duplicate, now closed as merged."})
    into = ma.fields.Integer(metadata={"description": "The record that stays."})
    messages = ma.fields.Integer(metadata={"description": "How many thread messages moved."})
    record = ma.fields.Nested(schemas.RecordOut, metadata={"description": "The survivor now."})


@blp.route(f"/records/<{DB_ID}:record_id>/merge")
class Merge(MethodView):
    @blp.doc(security=SECURITY)
    @require("write")
    @idempotent
    @blp.arguments(MergeIn)
    @blp.response(200, MergeOut)
    def post(self, data: dict[str, Any], record_id: int) -> dict[str, Any]:
        """Merge this record into `into`: its thread moves there, it closes as merged."""
        version = data.get("expected_version")
        done = services().merge_records(
            record_id,
            data["into"],
            actor=f"api:{current_token().name}",
            expected={record_id: version} if version is not None else None,
        )
        return {
            "merged": done.record_id,
            "into": done.into,
            "messages": done.messages,
            "record": _record_response(done.into),
        }
