"""`/api/v1/records/{id}/messages`: a record's thread for integrations (issue #20).

Replies and notes written here are the desk's: an email reply goes out through the outbox,
the first reply meets the respond target, a customer's message (`in`) resumes clocks paused
while waiting on them. A reply that failed or bounced is sent again with `…/resend`. The text
is personal data: only tokens with the `personal` scope read it back.
"""

from __future__ import annotations

import io
from typing import Any

from flask import send_file
from flask.views import MethodView

from api import schemas
from api.auth import current_token, may_see_personal_data, require
from api.idempotent import idempotent
from api.problems import problem
from api.views import SECURITY, blp
from engine.conversation.mail import ALLOWED_TYPES
from engine.conversation.thread import Entry
from engine.errors import InvalidInput
from web import DB_ID
from web import current_services as services


@blp.route(f"/records/<{DB_ID}:record_id>/messages")
class Messages(MethodView):
    @blp.doc(security=SECURITY)
    @require("read")
    @blp.response(200, schemas.MessagePage)
    def get(self, record_id: int) -> dict[str, Any]:
        """The record's thread, oldest first, with each outbound message's delivery state."""
        personal = may_see_personal_data()
        return {"items": [_present(e, personal) for e in services().thread(record_id)]}

    @blp.doc(security=SECURITY)
    @require("write")
    @idempotent
    @blp.arguments(schemas.MessageIn)
    @blp.response(201, schemas.MessageOut)
    def post(self, data: dict[str, Any], record_id: int) -> Any:
        """Reply to the customer, add an internal note, or add a message the customer sent.

        An `in` message whose `external_id` this record's thread already holds answers 200
        with that message: a channel pushing it twice is harmless.
        """
        actor = f"api:{current_token().name}"
        direction: str = data["direction"]
        channel: str = data.get("channel") or ""
        if direction != "note" and not channel:
            raise InvalidInput("give the channel", fields={"channel": "required"})
        if direction == "note":
            message = services().note(record_id, data["text"], actor=actor)
        elif direction == "out":
            message = services().reply(
                record_id, data["text"], channel=channel, actor=actor, subject=data.get("subject")
            )
        else:
            taken = services().receive(
                record_id,
                data["text"],
                channel=channel,
                author=actor,
                subject=data.get("subject"),
                external_id=data.get("external_id"),
            )
            if taken is None:
                return _earlier(record_id, channel, data["external_id"]), 200
            message = taken
        (entry,) = [e for e in services().thread(record_id) if e.message.id == message.id]
        return _present(entry, may_see_personal_data())


@blp.route(f"/records/<{DB_ID}:record_id>/messages/<{DB_ID}:message_id>/resend")
class Resend(MethodView):
    @blp.doc(security=SECURITY)
    @require("write")
    @idempotent
    @blp.response(202, schemas.MessageOut)
    @blp.alt_response(404, description="No such message on this record.")
    @blp.alt_response(
        409, description="Another resend of this message was queued first; read the thread."
    )
    @blp.alt_response(
        422,
        description="The message is no failed (`failed`) or bounced (`bounced`) email reply, "
        "or the customer has no email address or no consent to service messages now.",
    )
    def post(self, record_id: int, message_id: int) -> Any:
        """Send a failed or bounced email reply again, to the customer's contact as it is now.

        A new delivery of the same message (the first one's outcome stays in the history);
        the message's `state` is `queued` again. With an `Idempotency-Key`, a retried request
        queues it once.
        """
        actor = f"api:{current_token().name}"
        services().resend(record_id, message_id, actor=actor)
        (entry,) = [e for e in services().thread(record_id) if e.message.id == message_id]
        return _present(entry, may_see_personal_data())


@blp.route(
    f"/records/<{DB_ID}:record_id>/messages/<{DB_ID}:message_id>/attachments/<{DB_ID}:attachment_id>"
)
class MessageAttachment(MethodView):
    @blp.doc(security=SECURITY)
    @require("read")
    @blp.response(
        200,
        content_type="application/octet-stream",
        description="The file's bytes, with its type (never served for a browser to run) and "
        "its name in Content-Disposition.",
    )
    @blp.alt_response(403, description="The token lacks the `personal` scope.")
    @blp.alt_response(404, description="No such file on this message of this record.")
    def get(self, record_id: int, message_id: int, attachment_id: int) -> Any:
        """One file of a message, for tokens with the `personal` scope only."""
        if not may_see_personal_data():
            return problem(
                403, "Forbidden", "files are personal data: this needs the 'personal' scope"
            )
        file = services().attachment(record_id, attachment_id, message_id=message_id)
        mimetype = (
            file.content_type if file.content_type in ALLOWED_TYPES else "application/octet-stream"
        )
        response = send_file(
            io.BytesIO(file.data),
            mimetype=mimetype,
            as_attachment=True,
            download_name=file.filename,
            conditional=False,
            etag=False,
            max_age=0,
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _earlier(record_id: int, channel: str, external_id: str) -> dict[str, Any]:
    for entry in services().thread(record_id):
        if (entry.message.channel, entry.message.external_id) == (channel, external_id):
            return _present(entry, may_see_personal_data())
    raise ConflictingMessage(external_id, channel)


class ConflictingMessage(InvalidInput):
    """The channel message joined another record's thread before."""

    def __init__(self, external_id: str, channel: str) -> None:
        super().__init__(
            f"message {external_id} on {channel} belongs to another record",
            fields={"external_id": "taken by another record"},
        )


def _present(entry: Entry, personal: bool) -> dict[str, Any]:
    message = entry.message
    return {
        "id": message.id,
        "record_id": message.record_id,
        "direction": message.direction,
        "channel": message.channel,
        "author": message.author,
        "subject": message.subject,
        "text": message.body if personal else None,
        "state": entry.state,
        "error": entry.error,
        "created_at": message.created_at,
        "attachments": [
            {"id": f.id, "filename": f.filename, "content_type": f.content_type, "size": f.size}
            for f in entry.files
        ],
    }
