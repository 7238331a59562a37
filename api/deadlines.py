"""`/api/v1/records/{id}/deadline`: move a record's deadline with a reason (R-3.2).

The customer is told by the record type's `on: extended` contact. A move later than the pack's
notice before the current deadline is refused (422): only a supervisor overrides that, on the
desk, where the override is theirs and on the history under their name.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from api import schemas
from api.auth import current_token, require
from api.idempotent import idempotent
from api.views import SECURITY, blp
from web import DB_ID
from web import current_services as services


@blp.route(f"/records/<{DB_ID}:record_id>/deadline")
class Deadline(MethodView):
    @blp.doc(security=SECURITY)
    @require("write")
    @idempotent
    @blp.arguments(schemas.DeadlineIn)
    @blp.response(200, schemas.DeadlineOut)
    def post(self, data: dict[str, Any], record_id: int) -> Any:
        """Move the deadline of the record type's extension target, and tell the customer."""
        event = services().extend_deadline(
            record_id, data["deadline"], data["reason"], actor=f"api:{current_token().name}"
        )
        return {
            "target": event.target,
            "old_deadline": event.old_deadline,
            "new_deadline": event.new_deadline,
            "reason": event.reason,
        }
