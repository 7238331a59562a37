"""An agent sends a failed or bounced email reply again (issue #20, part 5).

The resend is a new outbox row, not the old row set back to pending. The old row is what
happened — its attempts, its status, the server's words — and stays so for the history and
the operators' dead-letter count. The new row has a Message-ID of its own, so a late bounce
report still names the attempt it is about, and a receiver that deduplicates on Message-ID
does not drop the second try as a repeat of the first. It goes to the customer's contact as
it is now (corrected since, perhaps), with their consent checked again, and carries the
files of the thread message (the sender loads them through the message).

The thread message moves to the new row by compare-and-set on its `outbox_id`: two agents
pressing the button at once queue one row, and the second is told someone was first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from engine.conversation import thread
from engine.errors import ConflictError, InvalidInput, NotFound
from engine.events import ReplyDelivery
from engine.records.journal import add_event
from engine.store.models import OutboxMessage, Record, ThreadMessage

# The outbox states a reply is sent again from: a dead letter, or refused by the receiver.
RESENDABLE = frozenset({"dead", "bounced"})


def resend(
    session: Session, record: Record, message_id: int, *, actor: str, now: datetime
) -> ThreadMessage:
    """Queue thread message `message_id` of `record` again, by email, to the current contact.

    NotFound for a message of another record; InvalidInput for one that is not a failed or
    bounced email reply (queued, sent, a note, a phone call), or a customer who can no
    longer be mailed; ConflictError when another resend was first.
    """
    message = session.get(ThreadMessage, message_id)
    if message is None or message.record_id != record.id:
        raise NotFound(f"record {record.id} has no message {message_id}")
    old = session.get(OutboxMessage, message.outbox_id) if message.outbox_id else None
    if old is None or old.channel != "email" or old.status not in RESENDABLE:
        raise InvalidInput(
            f"message {message_id} is no failed or bounced email reply: only those are sent again",
            fields={"message": "not failed"},
        )
    # The reply's own checks and threading headers: an email address, consent to service mail.
    new = thread._email(session, record, message.body, old.subject, now)
    new.payload = {**new.payload, "resend_of": old.id}
    session.add(new)
    session.flush()
    moved = session.execute(
        update(ThreadMessage)
        .where(ThreadMessage.id == message.id, ThreadMessage.outbox_id == old.id)
        .values(outbox_id=new.id)
    )
    if cast(CursorResult[Any], moved).rowcount != 1:
        raise ConflictError(record.id)
    add_event(session, record, now, ReplyDelivery("resent", message.id, new.id), actor=actor)
    record.updated_at = now
    return message
